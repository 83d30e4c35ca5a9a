/**
 * `facility costs import FILE.csv`: the finance office's spreadsheet export into the cost ledger
 * (core/management/ledger.ts says which columns and values it takes), all rows or none, every bad
 * row reported with its line. On the data folder directly, or through a running platform's API
 * (`--api-url` and `--token`) — a running `facility start` holds the DuckDB file.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { dayOf } from '../../core/management/costs.ts';
import { formatImportProblem, parseCostCsv } from '../../core/management/ledger.ts';
import {
  createLogger,
  createManagementState,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
} from '../platform.ts';
import { addSettings, readSettings, withSettings } from '../settings.ts';

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
  addSettings(importCommand, [
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
    const options = importCommand.opts<{ apiUrl?: string; token?: string }>();
    const config = readSettings(importCommand);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      process.stderr.write(`facility costs import: cannot read ${file}: ${(error as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    if (options.apiUrl) {
      if (!options.token)
        importCommand.error('facility costs import: --api-url needs --token (or FACILITY_API_TOKEN)', {
          exitCode: 2,
        });
      const response = await fetch(new URL('/api/v1/costs/import', options.apiUrl), {
        method: 'POST',
        headers: {
          'content-type': 'text/csv',
          authorization: `Bearer ${options.token}`,
          'x-file-name': encodeURIComponent(basename(file)),
        },
        body: bytes,
      });
      const body = (await response.json()) as {
        imported?: number;
        totalCny?: number;
        error?: { message: string };
      };
      if (!response.ok) {
        process.stderr.write(
          `facility costs import: ${file}: ${body.error?.message ?? response.statusText}\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`imported ${body.imported} rows 行, ¥${body.totalCny} from ${file}\n`);
      return;
    }
    const logger = createLogger(config);
    const facility = await loadFacilityOrExit(config.facility, 'costs import');
    const result = parseCostCsv(bytes, facility, dayOf(Date.now(), facility.site.timezone));
    if (!result.ok) {
      process.stderr.write(
        `${result.problems.map((p) => `${file}:${p.line}  ${formatImportProblem(p).replace(/^line \d+, ?/, '')}`).join('\n')}\n\n` +
          `facility costs import: ${file} has ${result.problems.length} problem(s); nothing imported 未导入\n`,
      );
      process.exitCode = 1;
      return;
    }
    const life = new Lifecycle(logger);
    const { store, state } = createStorage(config, facility, logger, { catchUp: false });
    try {
      await withSettings(importCommand, () => life.start('store', store));
      await withSettings(importCommand, () => life.start('state', state));
      const ledger = createManagementState(facility, state);
      await life.start('management', ledger);
      const stored = await ledger.addCosts(
        result.entries,
        { tokenId: 'cli', name: `facility costs import ${basename(file)}` },
        { action: 'cost.import', target: `import:${basename(file)}` },
      );
      const total = stored.reduce((sum, e) => sum + Math.round(e.amountCny * 100), 0) / 100;
      process.stdout.write(
        `imported ${stored.length} rows 行 (${result.encoding}), ¥${total.toFixed(2)} from ${file}\n`,
      );
    } finally {
      await life.stop();
    }
  });
  return costs.addCommand(importCommand);
}
