/**
 * The one command, as a user runs it: `facility start` as a child process on a temporary data
 * folder — it backfills, prints its URLs and admin token, streams simulated devices through the
 * real broker and its in-process ingest into DuckDB, and stops cleanly on Ctrl-C (SIGINT). A
 * restart on the same folder keeps the history and only tops it up, and keeps the showcase episode
 * it planted. Bad settings stop it with a message naming them.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FacilityBroker } from '../../broker/broker.ts';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { loadFacility } from '../../core/facility/load.ts';
import { simulatedLedger } from '../../simulators/management.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function facility(args: readonly string[], env: Record<string, string> = {}): Run {
  return spawnRun(process.execPath, ['bin/facility.js', ...args], env);
}

function spawnRun(file: string, args: readonly string[], env: Record<string, string> = {}): Run {
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: once(child, 'exit').then(([code]) => code as number | null),
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    run.stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    run.stderr += chunk;
  });
  return run;
}

/** What a shell prints for `command`. */
function shell(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', command], { cwd: ROOT }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let data: string;
const running = new Set<ChildProcess>();

beforeAll(async () => {
  data = await mkdtemp(join(tmpdir(), 'sfp-start-'));
});

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await rm(data, { recursive: true, force: true });
});

const START = ['start', '--mqtt-port', '0', '--http-port', '0', '--log-level', 'warn', '--speed', '1'];

describe('facility start', () => {
  it('backfills, prints its URLs and token, streams the simulators into the store, and stops on Ctrl-C', async () => {
    const run = facility([...START, '--data', data, '--backfill-days', '1']);
    running.add(run.child);
    const api = await until(
      'the start-up lines',
      () => /API\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\b/.exec(run.stdout)?.[1],
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    });
    expect(run.stderr).toMatch(/backfilled 1\.0 days 天: [\d,]+ points 点/);
    expect(run.stdout).toMatch(/MQTT\s+mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(run.stdout).toMatch(/simulators 模拟器\s+77 devices 台/);
    // The showcase is on by default: a leak, an empty room conditioned, a car out of the area.
    const planted = /showcase 演示故障\s+(.*)/.exec(run.stdout)?.[1] ?? '';
    for (const what of [/water leak/, /outside the service area/, /HVAC of room/])
      expect(planted).toMatch(what);
    const showcase = JSON.parse(await readFile(join(data, 'showcase.json'), 'utf8')) as {
      episodes: string[];
    };
    expect(showcase.episodes).toHaveLength(1);
    // The output is a pipe, not a terminal: the generated token is not printed; the lines name the
    // file that holds it, readable by its owner only.
    const secretsFile = join(data, 'secrets.json');
    const token = (JSON.parse(await readFile(secretsFile, 'utf8')) as { adminToken: string }).adminToken;
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(run.stdout).not.toContain(token);
    expect(run.stdout).toContain(
      `admin token 管理令牌 in ${secretsFile} (mode 600, "adminToken"); not printed`,
    );
    expect((await stat(secretsFile)).mode & 0o777).toBe(0o600);

    const health = await fetch(`${api}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', reasons: [] });
    // Live readings from the simulated devices go through broker and ingest into the store.
    const stored = await until(
      'live readings in the store',
      async () => {
        const response = await fetch(`${api}/api/v1/ingest/stats`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const stats = (await response.json()) as { mode?: string; messages?: { stored?: number } };
        const n = stats.messages?.stored ?? 0;
        return n >= 20 ? { n, mode: stats.mode } : undefined;
      },
      30_000,
    );
    expect(stored.n).toBeGreaterThanOrEqual(20);
    // The ingest runs inside the broker, not as an MQTT client of it.
    expect(stored.mode).toBe('in-process');
    // /metrics holds the broker's counters beside the ingest's.
    const metrics = await (
      await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    expect(metrics).toMatch(/^ingest_messages_received_total \d+$/m);
    expect(metrics).toMatch(/^broker_clients_connected [1-9]\d*$/m);
    expect(metrics).toMatch(/^broker_login_throttled_total\{by="address"\} 0$/m);
    expect(metrics).toMatch(/^broker_secret_verifications\{state="running"\} 0$/m);

    // The figures are served from the backfilled history: the example request it prints works,
    // run by a shell as printed (it reads the token from the file).
    const example = /try 试试\s+(curl .*)$/m.exec(run.stdout)?.[1];
    expect(example).toContain(`$(node -p "require('${secretsFile}').adminToken")`);
    const url = /"(http:[^"]+)"$/.exec(example as string)?.[1];
    const printedToken = await shell(`node -p "require('${secretsFile}').adminToken"`);
    expect(printedToken.trim()).toBe(token);
    const summary = await fetch(url as string, { headers: { authorization: `Bearer ${token}` } });
    expect(summary.status).toBe(200);
    const body = (await summary.json()) as { items: { id: string; electricityKwh: number }[] };
    expect(body.items.map((item) => item.id)).toEqual(['b1', 'b2', 'b3', 'b4']);
    for (const item of body.items) expect(item.electricityKwh).toBeGreaterThan(0);

    // The management layer over the demo, with no hand input: the ledger entries of the year so
    // far, stored at start (simulators/management.ts, the default seed), and the public feedback
    // page the lines name, which needs no token.
    const loaded = loadFacility(await readFile(DEMO_FACILITY_PATH, 'utf8'), 'demo');
    if (!loaded.ok) throw new Error('the demo facility does not load');
    const day = (at: number) =>
      new Intl.DateTimeFormat('en-CA', { timeZone: loaded.facility.site.timezone }).format(at);
    const ledger = await fetch(
      `${api}/api/v1/costs?from=${day(Date.now()).slice(0, 4)}-01-01&to=${day(Date.now() + 86_400_000)}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(ledger.status).toBe(200);
    const entries = ((await ledger.json()) as { items: { source: string }[] }).items;
    expect(entries.length).toBe(simulatedLedger(loaded.facility, 20261128, Date.now()).length);
    expect(new Set(entries.map((e) => e.source))).toEqual(new Set(entries.length > 0 ? ['simulator'] : []));
    const page = /feedback 满意度\s+(http:\S+)/.exec(run.stdout)?.[1];
    expect(page).toBe(`${api}/feedback/${loaded.facility.rooms[0]?.id}`);
    const form = await fetch(page as string);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('<form id="feedback" data-kind="room"');
    // The live feed follows the in-process ingest's commits: a socket.io client with the token gets
    // the site's power and the cars as they report; the alert engine raises the showcase's empty
    // conditioned room and its car outside the service area within the first minute (the leak needs
    // 3 earlier nights to compare with: not with one day of history).
    const room = /HVAC of room (\S+)/.exec(planted)?.[1];
    const car = /vehicle (\S+) goes outside the service area/.exec(planted)?.[1];
    const socket = io(api, { auth: { token }, transports: ['websocket'], reconnection: false });
    const events = new Map<string, unknown[]>();
    socket.onAny((event: string, payload: unknown) =>
      events.set(event, [...(events.get(event) ?? []), payload]),
    );
    try {
      const ack = (await socket
        .timeout(10_000)
        .emitWithAck('subscribe', { rooms: ['site', 'vehicles', 'alerts'] })) as { rooms: string[] };
      expect(ack.rooms).toEqual(['site', 'vehicles', 'alerts']);
      await until(
        'site and vehicle events',
        () => (events.has('site') && events.has('vehicle') ? true : undefined),
        20_000,
      );
      const alerts = await until(
        'the showcase alerts',
        async () => {
          const response = await fetch(`${api}/api/v1/alerts?state=firing`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const list = ((await response.json()) as { alerts: { rule: string; subject: { id: string } }[] })
            .alerts;
          const found = list.filter(
            (a) =>
              (a.rule === 'room-empty-conditioned' && a.subject.id === room) ||
              (a.rule === 'vehicle-geofence' && a.subject.id === car),
          );
          return found.length === 2 ? found : undefined;
        },
        60_000,
      );
      expect(alerts.map((a) => a.rule).sort()).toEqual(['room-empty-conditioned', 'vehicle-geofence']);
      // No device is taken for offline: the simulators' clock is the real one.
      const offline = await fetch(`${api}/api/v1/alerts?limit=500`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const all = ((await offline.json()) as { alerts: { rule: string }[] }).alerts;
      expect(all.filter((a) => a.rule === 'device-offline')).toEqual([]);
    } finally {
      socket.close();
    }

    // An ingest alone on the folder the running platform holds: one line saying so, status 2.
    const ingest = facility([
      'ingest',
      '--data',
      data,
      '--broker-url',
      'mqtt://127.0.0.1:1',
      '--log-level',
      'warn',
    ]);
    expect(await ingest.exited).toBe(2);
    const lines = ingest.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `facility ingest: the data folder ${data} is in use: another process (PID ${run.child.pid}), ` +
        'most likely a running `facility start`, holds facility.duckdb. DuckDB lets one process open a ' +
        'file: stop that process, or give --data another folder (`facility start` runs an ingest of its own).',
    );
    expect(ingest.stderr).not.toMatch(/\bat .*:\d+:\d+|StoreError/);

    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    running.delete(run.child);
    expect(run.stdout).toContain('SIGINT: stopping 正在停止');
    expect(run.stdout).not.toMatch(/"level":(50|60)/);

    // The history is there: a full day of the main meter of building 1, at one reading a minute.
    const store = new DuckDbStore({ path: join(data, 'facility.duckdb') });
    await store.start();
    try {
      const now = Date.now();
      const [series] = await store.query({
        measurement: 'meter',
        fields: ['total'],
        where: { meter: 'b1-e-main' },
        from: now - 86_400_000,
        to: now,
        aggregate: 'count',
      });
      expect(series?.rows[0]?.values.total).toBeGreaterThanOrEqual(1400);
    } finally {
      await store.stop();
    }
  }, 120_000);

  it('on a second start keeps the history and only tops it up', async () => {
    const run = facility([...START, '--data', data, '--backfill-days', '1']);
    running.add(run.child);
    await until('the start-up lines', () => (run.stdout.includes('Ctrl-C') ? true : undefined), 60_000);
    expect(run.stdout).toContain(`admin token 管理令牌 in ${join(data, 'secrets.json')} (mode 600`);
    // Only the minutes since the first run stopped are generated, not another day.
    const days = Number(/backfilled ([\d.]+) days/.exec(run.stderr)?.[1] ?? '0');
    expect(days).toBeLessThan(0.1);
    // The first start's episode is still under way: it goes on, no second one is planted.
    expect(run.stdout).toContain('showcase 演示故障');
    const showcase = JSON.parse(await readFile(join(data, 'showcase.json'), 'utf8')) as {
      episodes: string[];
    };
    expect(showcase.episodes).toHaveLength(1);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    running.delete(run.child);
  }, 90_000);

  it('refuses bad settings, naming the flag and the environment variable, with status 2', async () => {
    const badPort = facility(['start', '--data', data, '--http-port', 'eighty']);
    expect(await badPort.exited).toBe(2);
    expect(badPort.stderr).toMatch(/--http-port \/ FACILITY_HTTP_PORT/);

    const badStore = facility(['start', '--data', data, '--store', 'mongodb']);
    expect(await badStore.exited).toBe(2);
    expect(badStore.stderr).toContain(
      '--store / FACILITY_STORE: must be one of duckdb, influx, got "mongodb"',
    );

    // A boolean is only ever bad in the environment; the message names the flag that exists.
    const badBoolean = facility(['start', '--data', data], { FACILITY_SIMULATORS: 'maybe' });
    expect(await badBoolean.exited).toBe(2);
    expect(badBoolean.stderr).toContain(
      '--no-simulators / FACILITY_SIMULATORS: must be true or false (or 1 or 0), got "maybe"',
    );

    const halfTls = facility([
      'start',
      '--data',
      data,
      '--no-simulators',
      '--tls-cert',
      join(data, 'none.pem'),
    ]);
    expect(await halfTls.exited).toBe(2);
    expect(halfTls.stderr).toMatch(/--tls-key \/ FACILITY_TLS_KEY: MQTT over TLS needs both/);

    const missingTls = facility([
      'start',
      '--data',
      data,
      '--no-simulators',
      '--tls-cert',
      join(data, 'none.pem'),
      '--tls-key',
      join(data, 'none.key'),
    ]);
    expect(await missingTls.exited).toBe(2);
    expect(missingTls.stderr).toMatch(/--tls-cert \/ FACILITY_TLS_CERT: cannot read .*none\.pem/);
  }, 60_000);
});

describe('facility start on a terminal', () => {
  it('prints the generated admin token, and only there', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'sfp-start-tty-'));
    // `script` (util-linux) runs the command on a pseudo-terminal: stdout is a TTY.
    const command = [process.execPath, 'bin/facility.js', ...START, '--data', folder, '--no-simulators']
      .map((arg) => `'${arg}'`)
      .join(' ');
    const run = spawnRun('script', ['-qec', command, '/dev/null']);
    running.add(run.child);
    try {
      await until('the start-up lines', () => (run.stdout.includes('Ctrl-C') ? true : undefined), 60_000);
      const secretsFile = join(folder, 'secrets.json');
      const token = (JSON.parse(await readFile(secretsFile, 'utf8')) as { adminToken: string }).adminToken;
      expect(run.stdout).toContain(`admin token 管理令牌 ${token}   (saved in ${secretsFile})`);
      expect(run.stdout).toContain(`curl -H "Authorization: Bearer ${token}"`);
    } finally {
      // Closing the terminal hangs the platform up.
      run.child.kill('SIGTERM');
      await run.exited;
      running.delete(run.child);
      await rm(folder, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('facility simulate', () => {
  it('publishes as the facility devices to a broker and says what it published when it stops', async () => {
    const loaded = loadFacility(await readFile(DEMO_FACILITY_PATH, 'utf8'), 'demo');
    if (!loaded.ok) throw new Error('demo facility does not load');
    const broker = new FacilityBroker({
      facility: loaded.facility,
      services: [{ service: 'ingest', username: 'svc-watch', password: 'watch-secret-1234' }],
      mqttPort: 0,
      persistence: { kind: 'memory' },
    });
    await broker.start();
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    // A plain subscriber sees which devices published readings.
    const watcher = await mqtt.connectAsync(url, { username: 'svc-watch', password: 'watch-secret-1234' });
    await watcher.subscribeAsync('fac/#', { qos: 1 });
    const published = new Map<string, number>();
    watcher.on('message', (topic) => {
      const [, , kind, id, channel] = topic.split('/');
      if (channel === 'status') return;
      const key = `${kind}/${id}`;
      published.set(key, (published.get(key) ?? 0) + 1);
    });
    try {
      const run = facility([
        'simulate',
        '--broker-url',
        url,
        '--devices',
        'b1-e-main,v01,s-b1-m0301',
        '--from',
        new Date(Date.now() - 3_600_000).toISOString(),
        '--speed',
        '600',
        '--duration',
        '0.05',
        '--log-level',
        'warn',
      ]);
      expect(await run.exited).toBe(0);
      expect(run.stdout).toMatch(/simulate: 3 devices 台 → mqtt:\/\/127\.0\.0\.1:\d+, speed ×600/);
      const summary =
        /published ([\d,]+) messages \(([\d,]+) readings\), acknowledged ([\d,]+), errors 0/.exec(run.stdout);
      expect(summary).not.toBeNull();
      const readings = Number(summary?.[2]?.replace(/,/g, ''));
      // 3 s at ×600 is 30 simulated minutes: about 30 one-minute readings of the meter alone.
      expect(readings).toBeGreaterThanOrEqual(30);
      expect([...published.keys()].sort()).toEqual(['meter/b1-e-main', 'sensor/s-b1-m0301', 'vehicle/v01']);
    } finally {
      await watcher.endAsync();
      await broker.stop();
    }

    const unknown = facility(['simulate', '--devices', 'nope', '--duration', '0.01']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.stderr).toContain('--devices: no device "nope"');
  }, 60_000);
});
