/**
 * What `facility start` does (its options are in `../commands/start.ts`): the whole platform in
 * one process — store, the broker with the in-process ingest as its publish gate, API and
 * simulators — with history backfilled on first start so the panels are full at once.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { buildApp } from '../../api/app.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import type { Facility } from '../../core/facility/schema.ts';
import type { TimeSeriesStore } from '../../core/store.ts';
import { backfill } from '../../simulators/backfill.ts';
import { LiveSimulator } from '../../simulators/live.ts';
import { createSimulation } from '../../simulators/simulation.ts';
import { brokerUrls, createBroker, createBrokerIngest } from '../parts.ts';
import {
  createLogger,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
  loadSecrets,
  untilSignal,
} from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

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
    const { store, deadLetters } = await createStorage(config);
    await life.start('store', store);
    await life.start('dead-letter', deadLetters);

    const simulation = createSimulation(facility, { seed: config.seed });
    // Whole minutes, so backfill and the live simulators meet on the readings' grid.
    const now = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    if (config.simulators && config.backfillDays > 0) {
      await fillHistory(store, simulation, config.backfillDays, now);
    }

    // The ingest runs inside the broker, as its publish gate: started first, stopped after it.
    const ingest = createBrokerIngest(config, facility, { store, deadLetters, logger });
    await life.start('ingest', ingest);
    const broker = await createBroker(config, facility, secrets.serviceSecret, logger, ingest);
    await life.start('broker', broker);
    const brokerUrl = `mqtt://127.0.0.1:${broker.ports.mqtt}`;

    const app = buildApp({
      version,
      facility,
      store,
      deadLetters,
      data: resolve(config.data),
      adminToken: secrets.adminToken,
      ingestStats: () => ingest.stats(),
      metrics: () => ingest.metrics.prometheus(),
      health: () => ingest.health(),
      logger: logger.child({ module: 'api' }),
    });
    await life.start('api', {
      start: async () => {
        await app.listen({ host: config.host, port: config.httpPort });
      },
      stop: () => app.close(),
    });
    const address = app.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;

    let simulated = 0;
    if (config.simulators) {
      const live = new LiveSimulator({ simulation, brokerUrl, speed: config.speed, start: now, logger });
      await life.start('simulators', live);
      simulated = simulation.devices().filter((d) => d.secret !== undefined).length;
    }

    const http = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${httpPort}`;
    process.stdout.write(
      [
        '',
        `智慧机关运行平台 Smart Facility Platform ${version} — ${facility.site.name.zh} / ${facility.site.name.en}`,
        `  store 存储          ${store.name} (${config.store === 'duckdb' ? resolve(config.data, 'facility.duckdb') : config.influxUrl})`,
        `  MQTT               ${brokerUrls(config.host, broker.ports)}   (ingest in-process 同进程接入${config.store === 'duckdb' ? '' : `, spool ${resolve(config.data, 'spool')}`})`,
        `  API                ${http}/api/v1   (docs 文档 ${http}/docs/, OpenAPI ${http}/api/v1/openapi.json)`,
        `  try 试试            curl -H "Authorization: Bearer ${secrets.adminTokenGenerated ? secrets.adminToken : '$FACILITY_ADMIN_TOKEN'}" "${http}/api/v1/energy/summary?from=${today(facility, -7)}&to=${today(facility, 0)}&groupBy=building"`,
        `  simulators 模拟器   ${config.simulators ? `${simulated} devices 台, speed ×${config.speed}, seed ${config.seed}` : 'off 关闭'}`,
        `  admin token 管理令牌 ${secrets.adminTokenGenerated ? `${secrets.adminToken}   (saved in ${resolve(config.data, 'secrets.json')})` : '(from FACILITY_ADMIN_TOKEN)'}`,
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
