/**
 * What `facility rollups rebuild` does (its options are in `../commands/rollups.ts`): fold the
 * store's rollups again from its raw points, with a progress bar.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../../core/config.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { createLogger, createStorage, Lifecycle, loadFacilityOrExit } from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Whether `value` is a date (midnight in the site's zone, resolved later) or an instant with an offset. */
function isWhen(value: string): boolean {
  return DATE.test(value) || DateTime.fromISO(value, { setZone: true }).isValid;
}

function resolveWhen(value: string | undefined, zone: string): number | undefined {
  if (value === undefined) return undefined;
  return (
    DATE.test(value) ? DateTime.fromISO(value, { zone }) : DateTime.fromISO(value, { setZone: true })
  ).toMillis();
}

export async function runRollupsRebuild(rebuild: Command): Promise<void> {
  const options = rebuild.opts<{ from?: string; to?: string }>();
  for (const [flag, value] of [
    ['--from', options.from],
    ['--to', options.to],
  ] as const) {
    if (value !== undefined && !isWhen(value)) {
      rebuild.error(
        `facility rollups rebuild: ${flag}: "${value}" is not a date (2026-11-01) or an ISO 8601 instant ` +
          'with offset (2026-11-01T08:00:00+08:00)',
        { exitCode: 2 },
      );
    }
  }
  const config = readSettings(rebuild);
  const logger = createLogger(config);
  const facility = await loadFacilityOrExit(config.facility, 'rollups rebuild');
  const zone = facility.site.timezone;
  const from = resolveWhen(options.from, zone);
  const to = resolveWhen(options.to, zone);
  if (from !== undefined && to !== undefined && to <= from) {
    rebuild.error('facility rollups rebuild: --to must be after --from', { exitCode: 2 });
  }
  await withSettings(rebuild, () => runRebuild(config, facility, logger, from, to));
}

async function runRebuild(
  config: RuntimeConfig,
  facility: Facility,
  logger: Logger,
  from: number | undefined,
  to: number | undefined,
): Promise<void> {
  const life = new Lifecycle(logger);
  const { store } = await createStorage(config, facility, logger, { catchUp: false });
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
