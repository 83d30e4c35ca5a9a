/**
 * `npm run bench:auth` — does password guessing stall the platform? In one process, as
 * `facility start` runs it: the embedded DuckDB store with a week of the demo compound's history,
 * the broker (LevelDB sessions), the ingest and the HTTP API (listening, default rate limit). Every
 * device credential is an scrypt `secretHash` (Node's default cost, N = 16384).
 *
 * Three phases of `--seconds` (default 60), each measuring, side by side:
 * * the API: `GET /api/v1/energy/summary` for the week, `groupBy=building`, over HTTP, one request
 *   after another with 250 ms between them — p50 / p99 latency;
 * * a real device's login: 16 devices, one after another spread over the phase, each connecting
 *   for the first time (so each login runs scrypt; nothing is cached) — p50 / p99 time to CONNACK.
 *
 * 1. **quiet** — nothing else: the reference;
 * 2. **attack** — meanwhile 1,000 wrong logins (`--attempts`) arrive evenly over the phase, from 10
 *    loopback addresses, against 6 other devices with a secretHash, each with another password;
 * 3. **attack, unguarded** — the same on a broker whose throttles and verification bound are
 *    turned off (what the platform did before), to show what the guard prevents.
 *
 * Aim (issue "Hostile input"): in the attack, API p99 and the device's login within 2× of the
 * quiet run. `--quick` shortens each phase to 15 s (and the attack to 250 logins, the same rate);
 * the documented figure is the full load. `--docs` rewrites docs/benchmarks.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { buildApp } from '../api/app.ts';
import { FacilityBroker, type FacilityBrokerOptions } from '../broker/broker.ts';
import { createIngest, serviceCredentials } from '../cli/parts.ts';
import { readFacilityFile } from '../cli/read-facility.ts';
import { parseConfig } from '../core/config.ts';
import { type Facility, hashSecret } from '../core/facility/index.ts';
import { RollingStore } from '../core/rollup/rolling-store.ts';
import { backfill } from '../simulators/backfill.ts';
import { createSimulation } from '../simulators/simulation.ts';
import { DuckDbDeadLetterSink } from '../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { percentile, writeDocs } from './report.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    attempts: { type: 'string' },
  },
});

const SECONDS = Number(args.seconds ?? (args.quick ? 15 : 60));
/** Wrong logins per phase: 1,000 a minute, the issue's load (the same rate in `--quick`). */
const ATTEMPTS = Number(args.attempts ?? Math.round((1000 * SECONDS) / 60));
const DAY = 86_400_000;
const SEED = 20_261_128;
const HISTORY_DAYS = 7;
/** History ends at local midnight 2026-11-28 in Chengdu, so the figures do not depend on the day. */
const END = Date.UTC(2026, 10, 27, 16);
const START = END - HISTORY_DAYS * DAY;
const TOKEN = 'bench-admin-token-0123456789';
const SERVICE_SECRET = 'bench-service-secret-0123';
const DEVICES_PER_PHASE = 16;
const TARGETS = 6;
const ATTACKER_ADDRESSES = Array.from({ length: 10 }, (_, i) => `127.0.0.${10 + i}`);
const SUMMARY = `/api/v1/energy/summary?from=2026-11-21&to=2026-11-28&groupBy=building`;

const loaded = await readFacilityFile(undefined);
if (!loaded.result.ok) throw new Error('the demo facility does not load');
const demo = loaded.result.facility;

// Every device's secret becomes an scrypt hash of it (the plain secret is what it logs in with).
process.stderr.write('hashing device secrets…\n');
const secrets = new Map<string, string>();
const hashed = async <T extends { id: string; secret?: string; secretHash?: string }>(
  device: T,
): Promise<T> => {
  const secret = device.secret ?? `bench-${device.id}`;
  secrets.set(device.id, secret);
  const { secret: _plain, ...rest } = device;
  return { ...rest, secretHash: await hashSecret(secret) } as T;
};
const facility: Facility = {
  ...demo,
  meters: await Promise.all(demo.meters.map(hashed)),
  vehicles: await Promise.all(demo.vehicles.map(hashed)),
  sensors: await Promise.all(demo.sensors.map(hashed)),
};
const deviceIds = [...facility.meters, ...facility.vehicles, ...facility.sensors].map((d) => d.id);
const phaseDevices = (phase: number) =>
  deviceIds.slice(phase * DEVICES_PER_PHASE, (phase + 1) * DEVICES_PER_PHASE);
const targets = deviceIds.slice(3 * DEVICES_PER_PHASE, 3 * DEVICES_PER_PHASE + TARGETS);

const folder = await mkdtemp(join(tmpdir(), 'sfp-bench-auth-'));
const config = parseConfig({ data: folder, mqttPort: 0, httpPort: 0, simulators: false }, {});
const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
const store = new RollingStore({ store: inner, facility });
await store.start();
const deadLetters = new DuckDbDeadLetterSink({ database: inner });
await deadLetters.start();
process.stderr.write(`generating ${HISTORY_DAYS} days of history…\n`);
const history = await backfill({
  store,
  simulation: createSimulation(demo, { seed: SEED }),
  from: START,
  to: END,
});

const logger = pino({ level: 'silent' });
const app = buildApp({
  version: 'bench',
  facility,
  store,
  deadLetters,
  data: folder,
  adminToken: TOKEN,
  logger,
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const api = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

interface PhaseResult {
  readonly name: string;
  readonly apiMs: number[];
  readonly loginMs: number[];
  readonly loginCodes: number[];
  readonly attackCodes: Map<number, number>;
  readonly verifications: number;
  readonly attackSent: number;
}

/** Broker options as `createBroker` (cli/parts.ts) makes them for `facility start`. */
function brokerOptions(dir: string): FacilityBrokerOptions {
  return {
    facility,
    services: serviceCredentials(SERVICE_SECRET),
    host: '127.0.0.1',
    mqttPort: 0,
    maxPayloadBytes: config.maxPayloadBytes,
    maxConnections: config.maxConnections,
    rateLimit: { perSecond: config.devicePublishRate, burst: 2 * config.devicePublishRate },
    dataDir: dir,
    logger,
  };
}

/** One login from `from`; resolves with the CONNACK code and the time to it, ms. */
function login(
  port: number,
  from: string,
  id: string,
  password: string,
): Promise<{ code: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const client = new MqttClient(() => createConnection({ host: '127.0.0.1', port, localAddress: from }), {
      clientId: id,
      username: id,
      password,
      reconnectPeriod: 0,
      connectTimeout: 120_000,
    });
    const finish = (code: number) => {
      const ms = performance.now() - started;
      client.end(true, () => resolve({ code, ms }));
    };
    client.once('connect', () => finish(0));
    client.once('error', (error: Error & { code?: number | string }) =>
      finish(typeof error.code === 'number' ? error.code : -1),
    );
  });
}

async function phase(name: string, index: number, attack: boolean, guard: boolean): Promise<PhaseResult> {
  const dir = join(folder, `broker-${index}`);
  const broker = new FacilityBroker({
    ...brokerOptions(dir),
    ...(guard
      ? {}
      : {
          loginGuard: {
            free: { user: Number.MAX_SAFE_INTEGER, address: Number.MAX_SAFE_INTEGER },
            maxInFlight: { user: Number.MAX_SAFE_INTEGER, address: Number.MAX_SAFE_INTEGER },
            maxConcurrent: Number.MAX_SAFE_INTEGER,
            maxQueued: Number.MAX_SAFE_INTEGER,
          },
        }),
  });
  await broker.start();
  const port = broker.ports.mqtt as number;
  const ingest = createIngest(config, facility, {
    store,
    deadLetters,
    serviceSecret: SERVICE_SECRET,
    brokerUrl: `mqtt://127.0.0.1:${port}`,
    logger,
  });
  await ingest.start();
  await sleep(1000);

  const windowMs = SECONDS * 1000;
  const started = performance.now();
  const until = started + windowMs;
  const apiMs: number[] = [];
  const loginMs: number[] = [];
  const loginCodes: number[] = [];
  const attackCodes = new Map<number, number>();
  let attackSent = 0;

  const apiLoop = (async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const response = await fetch(`${api}${SUMMARY}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`summary answered ${response.status}`);
      apiMs.push(performance.now() - t0);
      await sleep(250);
    }
  })();
  const devices = phaseDevices(index);
  const deviceLoop = (async () => {
    for (const [i, id] of devices.entries()) {
      const at = started + ((i + 0.5) * windowMs) / devices.length;
      await sleep(Math.max(0, at - performance.now()));
      const result = await login(port, '127.0.0.1', id, secrets.get(id) as string);
      loginMs.push(result.ms);
      loginCodes.push(result.code);
    }
  })();
  const attackLoop = (async () => {
    if (!attack) return;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const at = started + (i * windowMs) / ATTEMPTS;
      await sleep(Math.max(0, at - performance.now()));
      attackSent++;
      const from = ATTACKER_ADDRESSES[i % ATTACKER_ADDRESSES.length] as string;
      const id = targets[i % targets.length] as string;
      pending.push(
        login(port, from, id, `wrong-${i}`).then(({ code }) => {
          attackCodes.set(code, (attackCodes.get(code) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(pending);
  })();
  await Promise.all([apiLoop, deviceLoop, attackLoop]);
  const metrics = await broker.registry.metrics();
  const verifications = Number(/^broker_secret_verifications_total (\d+)$/m.exec(metrics)?.[1] ?? Number.NaN);
  await ingest.stop();
  await broker.stop();
  process.stderr.write(
    `${name}: API p99 ${percentile(apiMs, 99).toFixed(0)} ms, login p99 ${percentile(loginMs, 99).toFixed(0)} ms\n`,
  );
  return { name, apiMs, loginMs, loginCodes, attackCodes, verifications, attackSent };
}

const quiet = await phase('quiet', 0, false, true);
const attacked = await phase('attack', 1, true, true);
const unguarded = await phase('attack, unguarded', 2, true, false);
await app.close();
await deadLetters.stop();
await store.stop();
await rm(folder, { recursive: true, force: true });

const ms = (v: number) => `${v.toFixed(0)} ms`;
const ratio = (v: number, reference: number) => `${(v / reference).toFixed(2)}×`;
const codes = (r: PhaseResult) =>
  r.attackSent === 0
    ? '—'
    : [...r.attackCodes]
        .sort(([a], [b]) => a - b)
        .map(([code, n]) => `${n.toLocaleString('en-US')} × ${code}`)
        .join(', ');
const row = (r: PhaseResult) => {
  const api99 = percentile(r.apiMs, 99);
  const login99 = percentile(r.loginMs, 99);
  const refused = r.loginCodes.filter((c) => c !== 0).length;
  return `| ${r.name} | ${r.attackSent.toLocaleString('en-US')} | ${codes(r)} | ${r.verifications} | ${ms(percentile(r.apiMs, 50))} | ${ms(api99)} | ${ratio(api99, percentile(quiet.apiMs, 99))} | ${ms(percentile(r.loginMs, 50))} | ${ms(login99)} | ${ratio(login99, percentile(quiet.loginMs, 99))} | ${refused} of ${r.loginCodes.length} |`;
};
const command = `npm run bench:auth${args.quick ? ' -- --quick' : ''}${args.docs ? `${args.quick ? '' : ' --'} --docs` : ''}`;
const report = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, by \`${command}\`.`,
  '',
  `One process as \`facility start\` runs it (DuckDB with ${HISTORY_DAYS} days of the demo compound, ${history.points.toLocaleString('en-US')} points; broker with LevelDB sessions; ingest; HTTP API with its rate limit), every device credential an scrypt \`secretHash\` (N = 16384). Each phase lasts ${SECONDS} s: the API answers \`${SUMMARY}\` one request after another (250 ms apart, ${quiet.apiMs.length}–${Math.max(attacked.apiMs.length, unguarded.apiMs.length)} requests a phase); ${DEVICES_PER_PHASE} devices log in one after another with their right secret, each for the first time (scrypt every time). In the attack phases ${ATTEMPTS.toLocaleString('en-US')} wrong logins arrive evenly over the phase from ${ATTACKER_ADDRESSES.length} addresses against ${TARGETS} other devices. Ratios are against the quiet phase's p99. Aim: the attack's ratios ≤ 2×.`,
  '',
  '| phase | wrong logins | their CONNACK codes | scrypt runs | API p50 | API p99 | API p99 vs quiet | device login p50 | device login p99 | login p99 vs quiet | devices refused |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  row(quiet),
  row(attacked),
  row(unguarded),
  '',
  'CONNACK 4: wrong password (checked); 3: refused at once, the user name or address backing off (or the verification queue full). "Unguarded" turns the throttles and the verification bound off: what the platform did before.',
].join('\n');
process.stdout.write(`${report}\n`);
if (args.docs) await writeDocs('auth', report);
process.exit(0);
