/**
 * What `facility start` does (its options are in `../commands/start.ts`): the whole platform in
 * one process — store (with its rollups), the broker with the in-process ingest as its publish
 * gate, API, live feed and alert engine, and simulators — with history backfilled on first start so
 * the panels are full at once.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { RuntimeConfig } from '../../core/config.ts';
import type { Facility } from '../../core/facility/schema.ts';
import type { TimeSeriesStore } from '../../core/store.ts';
import type { IngestCounters } from '../../live/feed.ts';
import { DeadLetterTap } from '../../live/taps.ts';
import { backfill } from '../../simulators/backfill.ts';
import { LiveSimulator } from '../../simulators/live.ts';
import { simulateManagement } from '../../simulators/management.ts';
import { nextShowcase } from '../../simulators/showcase.ts';
import { createSimulation } from '../../simulators/simulation.ts';
import { DuckDbAlertStore } from '../../storage/duckdb/alert-store.ts';
import { DuckDbCorrectionLog } from '../../storage/duckdb/corrections.ts';
import { PAGE_DIR, sessionManager, startLiveParts } from '../live.ts';
import {
  brokerUrls,
  createApiServer,
  createBroker,
  createBrokerIngest,
  PLATFORM_VERSION as version,
} from '../parts.ts';
import {
  adminTokenLines,
  createLogger,
  createManagementState,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
  loadSecrets,
  untilSignal,
} from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export async function runStart(command: Command): Promise<void> {
  const config = readSettings(command);
  const logger = createLogger(config);
  const facility = await loadFacilityOrExit(config.facility, 'start');
  await withSettings(command, () => runPlatform(config, facility, logger));
}

async function runPlatform(config: RuntimeConfig, facility: Facility, logger: Logger): Promise<void> {
  const secrets = await loadSecrets(config);
  const life = new Lifecycle(logger);
  const stopping = untilSignal();
  try {
    const storage = await createStorage(config, facility, logger);
    const { store, appState } = storage;
    // The data-quality rule counts what the ingest dead-letters.
    const deadLetters = new DeadLetterTap(storage.deadLetters);
    await life.start('store', store);
    await life.start('dead-letter', deadLetters);
    const management = await createManagementState(facility, appState);
    await life.start('management', management);

    // Whole minutes, so backfill and the live simulators meet on the readings' grid.
    const now = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    const showcase = config.simulators
      ? await showcaseEpisodes(config.data, now, config.showcase ?? true)
      : [];
    const simulation = createSimulation(facility, { seed: config.seed, showcase });
    if (config.simulators && config.backfillDays > 0) {
      await fillHistory(store, simulation, config.backfillDays, now);
      // A new episode's faults began before the start (the leak the evening before): what an
      // earlier run stored of those devices is written again with them, so the history holds them.
      if (showcase.includes(now)) {
        for (const fault of simulation.faults(now, now + 1).filter((f) => f.showcase && f.from < now)) {
          await backfill({ store, simulation, from: fault.from, to: now, devices: [fault.device] });
        }
      }
    }
    if (config.simulators) {
      // The demo's ledger entries and occupant feedback over the history (idempotent by key).
      await simulateManagement({
        facility,
        state: management,
        seed: config.seed,
        simulation,
        from: now - Math.max(config.backfillDays, 1) * DAY_MS,
        to: now,
      });
    }

    // The live feed and the alert engine start from what the store holds now (the history, and the
    // showcase faults already under way), then follow every batch the in-process ingest commits
    // (the rolling store's points and folds) and every message it dead-letters.
    let ingestStats: (() => IngestCounters) | undefined;
    const live = await startLiveParts(life, {
      facility,
      store,
      alertStore: new DuckDbAlertStore({ database: appState }),
      feed: {
        points: (listener) => store.subscribePoints(listener),
        rollups: (listener) => store.subscribe(listener),
        rejections: (listener) => deadLetters.subscribe(listener),
        deadLetters,
        ingestStats: () => ingestStats?.(),
      },
      engine: config.alertEngine ?? true,
      logger,
    });

    // The ingest runs inside the broker, as its publish gate: started first, stopped after it.
    // It writes to the rolling store, so every batch it commits has its rollups folded.
    const ingest = createBrokerIngest(config, facility, { store, deadLetters, logger });
    await life.start('ingest', ingest);
    // The counters, with why the ingest is degraded (a store that hangs or fails) and what waits
    // in its spool, which the live page shows at its foot.
    ingestStats = () => {
      const stats = ingest.stats();
      return { ...stats, problems: ingest.health().reasons, spooled: stats.spool?.points ?? 0 };
    };
    const broker = await createBroker(config, facility, secrets.serviceSecret, logger, ingest);
    await life.start('broker', broker);
    const brokerUrl = `mqtt://127.0.0.1:${broker.ports.mqtt}`;

    const api = createApiServer(config, facility, {
      store,
      deadLetters,
      // Corrections of stored readings, audited in the app-state file (opened with the dead-letter).
      corrections: new DuckDbCorrectionLog({ database: appState }),
      management,
      adminToken: secrets.adminToken,
      ingestStats: () => ingest.stats(),
      // Answers kept for closed periods are dropped by the folds that change them (api/cache.ts).
      changes: (listener) => store.subscribe(listener),
      // One exposition for the process: the ingest's counters and the broker's (logins, refusals).
      metrics: () => Registry.merge([ingest.metrics.registry, broker.registry]).metrics(),
      health: () => ingest.health(),
      alerts: live.alerts,
      live: live.feed,
      sessions: sessionManager(config, secrets.sessionSecret),
      pageDir: PAGE_DIR,
      logger,
    });
    await life.start('api', api);
    const httpPort = api.port;

    let simulated = 0;
    let planted = '';
    if (config.simulators) {
      const live = new LiveSimulator({
        simulation,
        brokerUrl,
        speed: config.speed,
        // The simulated clock is the real one: what fell due during the backfill goes out at once.
        start: now,
        realStart: now,
        logger,
      });
      await life.start('simulators', live);
      simulated = simulation.devices().filter((d) => d.secret !== undefined).length;
      planted = live
        .showcase()
        .map((f) => f.description)
        .join('; ');
    }

    const http = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${httpPort}`;
    const token = adminTokenLines({
      generated: secrets.adminTokenGenerated,
      token: secrets.adminToken,
      file: resolve(config.data, 'secrets.json'),
      terminal: process.stdout.isTTY === true,
    });
    process.stdout.write(
      [
        '',
        `智慧机关运行平台 Smart Facility Platform ${version} — ${facility.site.name.zh} / ${facility.site.name.en}`,
        `  store 存储          ${store.name} (${config.store === 'duckdb' ? resolve(config.data, 'facility.duckdb') : config.influxUrl})`,
        `  MQTT               ${brokerUrls(config.host, broker.ports)}   (ingest in-process 同进程接入${config.store === 'duckdb' ? '' : `, spool ${resolve(config.data, 'spool')}`})`,
        `  live page 实时页面   ${http}/   (sign in with a user of \`facility users add\`, or the admin token)`,
        `  API                ${http}/api/v1   (docs 文档 ${http}/docs/, OpenAPI ${http}/api/v1/openapi.json)`,
        `  try 试试            curl -H "Authorization: Bearer ${token.inCommand}" "${http}/api/v1/energy/summary?from=${today(facility, -7)}&to=${today(facility, 0)}&groupBy=building"`,
        ...(facility.rooms[0]
          ? [
              `  feedback 满意度      ${http}/feedback/${facility.rooms[0].id}   (public, no token 无需令牌; QR sheet 二维码 ${http}/api/v1/feedback/qr/sheet)`,
            ]
          : []),
        `  simulators 模拟器   ${config.simulators ? `${simulated} devices 台, speed ×${config.speed}, seed ${config.seed}` : 'off 关闭'}`,
        ...(planted ? [`  showcase 演示故障    ${planted}`] : []),
        `  admin token 管理令牌 ${token.line}`,
        '  Ctrl-C to stop 按 Ctrl-C 停止',
        '',
      ].join('\n'),
    );
    const signal = await stopping;
    process.stdout.write(`\n${signal}: stopping 正在停止…\n`);
  } finally {
    await life.stop();
  }
}

/**
 * The showcase episodes of this data folder (`DATA/showcase.json`): those of earlier starts,
 * which the history holds (a leak and a trip move a register and an odometer on for good), and a
 * new one at `now` when `plant` is on and the latest is over (`simulators/showcase.ts`).
 */
async function showcaseEpisodes(data: string, now: number, plant: boolean): Promise<number[]> {
  const file = join(resolve(data), 'showcase.json');
  let saved: number[] = [];
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { episodes?: unknown };
    if (Array.isArray(parsed.episodes)) {
      saved = parsed.episodes.map((at) => Date.parse(String(at))).filter(Number.isFinite);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
  const episodes = nextShowcase(saved, now, plant);
  if (episodes.length !== saved.length) {
    await mkdir(resolve(data), { recursive: true });
    const iso = episodes.map((at) => new Date(at).toISOString());
    await writeFile(file, `${JSON.stringify({ episodes: iso }, null, 2)}\n`);
  }
  return episodes;
}

/** The site's local date `days` from today, `YYYY-MM-DD`, for the example request. */
function today(facility: Facility, days: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: facility.site.timezone }).format(
    Date.now() + days * DAY_MS,
  );
}

/**
 * Generate history into the store for the days it lacks, up to `days` back from `now`, with a
 * progress bar. A store that already holds recent readings is only topped up to `now`.
 */
async function fillHistory(
  store: TimeSeriesStore,
  simulation: ReturnType<typeof createSimulation>,
  days: number,
  now: number,
): Promise<void> {
  const latest = await store.latest({ measurement: 'meter', fields: ['total'] });
  const last = latest.reduce((max, p) => Math.max(max, p.time), Number.NEGATIVE_INFINITY);
  const from = Math.max(now - days * DAY_MS, Number.isFinite(last) ? last + 1 : Number.NEGATIVE_INFINITY);
  if (from >= now) return;
  const bar = new SingleBar({
    format: ' backfill 回填历史 [{bar}] {percentage}% | {points} points 点 | {eta_formatted} left',
    hideCursor: true,
    stream: process.stderr,
  });
  bar.start(100, 0, { points: 0 });
  const result = await backfill({
    store,
    simulation,
    from,
    to: now,
    onProgress: ({ fraction, points }) =>
      bar.update(Math.round(fraction * 100), { points: points.toLocaleString('en-US') }),
  });
  bar.update(100);
  bar.stop();
  process.stderr.write(
    ` backfilled ${((now - from) / DAY_MS).toFixed(1)} days 天: ${result.points.toLocaleString('en-US')} points 点\n`,
  );
}
