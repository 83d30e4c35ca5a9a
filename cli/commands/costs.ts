/**
 * `facility costs import FILE.csv`: the finance office's spreadsheet export into the cost ledger
 * (core/management/ledger.ts says which columns and values it takes), all rows or none, every bad
 * row reported with its line. On the data folder directly, or through a running platform's API
 * (`--api-url` and `--token`) — a running `facility start` holds the DuckDB file. What it does is
 * in `../run/costs.ts`, loaded when it runs.
 */
import { Command, Option } from 'commander';
import { addSettings, STORE_SETTINGS } from '../settings.ts';

export function costsCommand(): Command {
  const costs = new Command('costs')
    .summary('the cost ledger 费用台账')
    .description('The cost ledger: costs the telemetry cannot see. 费用台账。');
  const importCommand = new Command('import')
    .summary('import a finance CSV export into the ledger 导入财务费用表')
    .description(
      'Import FILE.csv (UTF-8 or GBK; headers in Chinese or English: 日期/date, 费用项目/item, 对象类型/subjectKind, ' +
        '对象/subject, 金额/amount, 备注/note) into the cost ledger. Every bad row is reported with its line; a file ' +
        'with any bad row imports nothing. With --api-url and --token it goes through a running platform.\n\n' +
        '导入财务导出的费用 CSV（UTF-8 或 GBK，中英文表头均可）；任一行有误则全部不导入。',
    )
    .argument('<file>', 'the CSV file 费用表文件');
  addSettings(importCommand, ['facility', 'data', ...STORE_SETTINGS, 'logLevel']);
  importCommand
    .addOption(
      new Option(
        '--api-url <url>',
        'import through a running platform, e.g. http://127.0.0.1:8080 经由运行中的平台导入',
      ),
    )
    .addOption(
      new Option('--token <token>', 'API token (operator or admin) for --api-url').env('FACILITY_API_TOKEN'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  facility costs import finance-2026-11.csv\n  facility costs import finance-2026-11.csv --api-url http://127.0.0.1:8080 --token $TOKEN\n',
    );
  importCommand.action(async (file: string) => {
    const { runCostsImport } = await import('../run/costs.ts');
    await runCostsImport(importCommand, file);
  });
  return costs.addCommand(importCommand);
}
