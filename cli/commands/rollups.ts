/**
 * `facility rollups rebuild [--from] [--to]`: fold the store's rollups again from its raw points
 * (core/rollup/rolling-store.ts), with a progress bar — after restoring raw points from a backup,
 * after editing points by hand, or to check that rebuilt rows answer as the kept ones did. Rows
 * folded under other rules (a meter's changed resolution, say) are rebuilt by every start anyway.
 */
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../../core/config.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { createLogger, createStorage, Lifecycle, loadFacilityOrExit } from '../platform.ts';
import { addSettings, readSettings, withSettings } from '../settings.ts';

/** An instant with an offset, or a date (midnight in the site's zone, resolved later). */
function parseWhen(value: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) || DateTime.fromISO(value, { setZone: true }).isValid) return value;
  throw new InvalidArgumentError(
    `"${value}" is not a date (2026-11-01) or an ISO 8601 instant with offset (2026-11-01T08:00:00+08:00)`,
  );
}

function resolveWhen(value: string | undefined, zone: string): number | undefined {
  if (value === undefined) return undefined;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value);
  return (date ? DateTime.fromISO(value, { zone }) : DateTime.fromISO(value, { setZone: true })).toMillis();
}

export function rollupsCommand(): Command {
  const rollups = new Command('rollups')
    .summary('the store’s rollups 汇总数据')
    .description(
      'The rollups are the 15-minute sums every figure is computed from, kept as points are written. ' +
        '汇总数据：每 15 分钟的汇总，写入数据时自动维护。',
    );
  const rebuild = new Command('rebuild')
    .summary('fold the rollups again from the raw points 从原始数据重建汇总')
    .description(
      "Fold every device's rollups again from the store's raw points, from --from (default: each " +
        "device's first point) to --to (default: its newest). Run it with the platform stopped when " +
        'the store is the embedded DuckDB file (one process may hold it).\n\n' +
        '从原始数据重新计算各设备的 15 分钟汇总。',
    );
  addSettings(rebuild, [
    'facility',
    'data',
    'store',
    'influxUrl',
    'influxDatabase',
    'influxOrg',
    'influxToken',
    'influxUsername',
    'influxPassword',
    'logLevel',
  ]);
  rebuild
    .addOption(
      new Option(
        '--from <when>',
        'first instant rebuilt: a date in the site time zone, or an ISO instant 起点',
      ).argParser(parseWhen),
    )
    .addOption(new Option('--to <when>', 'rebuild up to this instant (exclusive) 终点').argParser(parseWhen))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  facility rollups rebuild                                  # everything\n' +
        '  facility rollups rebuild --from 2026-11-01 --to 2026-12-01\n',
    );
  rebuild.action(async () => {
    const config = readSettings(rebuild);
    const options = rebuild.opts<{ from?: string; to?: string }>();
    const logger = createLogger(config);
    const facility = await loadFacilityOrExit(config.facility, 'rollups rebuild');
    const zone = facility.site.timezone;
    const from = resolveWhen(options.from, zone);
    const to = resolveWhen(options.to, zone);
    if (from !== undefined && to !== undefined && to <= from) {
      rebuild.error('facility rollups rebuild: --to must be after --from', { exitCode: 2 });
    }
    await withSettings(rebuild, () => runRebuild(config, facility, logger, from, to));
  });
  return rollups.addCommand(rebuild);
}

async function runRebuild(
  config: RuntimeConfig,
  facility: Facility,
  logger: Logger,
  from: number | undefined,
  to: number | undefined,
): Promise<void> {
  const life = new Lifecycle(logger);
  const { store } = createStorage(config, facility, logger, { catchUp: false });
  try {
    await life.start('store', store);
    const bar = new SingleBar({
      format: ' rebuild 重建汇总 [{bar}] {value}/{total} devices 台 | {device} | {eta_formatted} left',
      hideCursor: true,
      stream: process.stderr,
    });
    const started = Date.now();
    let total = 0;
    await store.rebuild({
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      onProgress: ({ done, total: all, device }) => {
        if (total === 0) bar.start(all, 0, { device });
        total = all;
        bar.update(done, { device });
      },
    });
    if (total > 0) bar.stop();
    process.stdout.write(
      `rebuilt the rollups of ${total} devices 台 in ${((Date.now() - started) / 1000).toFixed(1)} s (${store.name})\n`,
    );
  } finally {
    await life.stop();
  }
}
