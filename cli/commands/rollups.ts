/**
 * `facility rollups rebuild [--from] [--to]`: fold the store's rollups again from its raw points
 * (core/rollup/rolling-store.ts), with a progress bar — after restoring raw points from a backup,
 * after editing points by hand, or to check that rebuilt rows answer as the kept ones did. Rows
 * folded under other rules (a meter's changed resolution, say) are rebuilt by every start anyway.
 * What it does is in `../run/rollups.ts`, loaded when it runs.
 */
import { Command, Option } from 'commander';
import { addSettings, STORE_SETTINGS } from '../settings.ts';

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
  addSettings(rebuild, ['facility', 'data', ...STORE_SETTINGS, 'logLevel']);
  rebuild
    .addOption(
      new Option(
        '--from <when>',
        'first instant rebuilt: a date in the site time zone, or an ISO instant 起点',
      ),
    )
    .addOption(new Option('--to <when>', 'rebuild up to this instant (exclusive) 终点'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  facility rollups rebuild                                  # everything\n' +
        '  facility rollups rebuild --from 2026-11-01 --to 2026-12-01\n',
    );
  rebuild.action(async () => {
    const { runRollupsRebuild } = await import('../run/rollups.ts');
    await runRollupsRebuild(rebuild);
  });
  return rollups.addCommand(rebuild);
}
