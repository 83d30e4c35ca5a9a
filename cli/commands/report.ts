/**
 * `facility report --month 2026-11 --out FILE`: the monthly cost-benefit report (成本效益分析月报),
 * `.xlsx` or `.html` (or `.json`) by the file's extension — the same as
 * `GET /api/v1/reports/monthly`. On the data folder directly, or from a running platform
 * (`--api-url`, `--token`).
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { kpiServices } from '../../api/kpi-services.ts';
import { view } from '../../api/management-view.ts';
import { XLSX_TYPE } from '../../api/routes/scorecard.ts';
import { monthlyReport } from '../../core/management/report.ts';
import { reportHtml } from '../../core/management/report-html.ts';
import { reportXlsx } from '../../core/management/report-xlsx.ts';
import {
  createLogger,
  createManagementState,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
} from '../platform.ts';
import { addSettings, readSettings, withSettings } from '../settings.ts';

const FORMATS = { '.xlsx': XLSX_TYPE, '.html': 'text/html', '.json': 'application/json' } as const;

export function reportCommand(): Command {
  const command = new Command('report')
    .summary('write the monthly cost-benefit report 生成成本效益分析月报')
    .description(
      'Write the monthly cost-benefit report of --month to --out: .xlsx (a summary sheet and one per scorecard ' +
        'perspective), .html (printable A4, Chinese, SVG charts) or .json. With --api-url and --token it asks a running ' +
        'platform (GET /api/v1/reports/monthly).\n\n生成月度成本效益分析报告（Excel 或可打印的 HTML）。',
    )
    .addOption(
      new Option('--month <YYYY-MM>', 'the month 月份').makeOptionMandatory().argParser((v) => {
        if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(v))
          throw new InvalidArgumentError(`"${v}" is not a month written YYYY-MM`);
        return v;
      }),
    )
    .addOption(
      new Option('--out <file>', 'output file: .xlsx, .html or .json 输出文件')
        .makeOptionMandatory()
        .argParser((v) => {
          if (!(extname(v).toLowerCase() in FORMATS))
            throw new InvalidArgumentError(`"${v}" must end in .xlsx, .html or .json`);
          return v;
        }),
    )
    .addOption(new Option('--api-url <url>', 'ask a running platform, e.g. http://127.0.0.1:8080'))
    .addOption(
      new Option('--token <token>', 'API token (site-wide) for --api-url').env('FACILITY_API_TOKEN'),
    );
  addSettings(command, [
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
  command.addHelpText(
    'after',
    '\nExamples:\n  facility report --month 2026-11 --out report-2026-11.xlsx\n  facility report --month 2026-11 --out report.html --api-url http://127.0.0.1:8080 --token $TOKEN\n',
  );
  return command.action(async () => {
    const options = command.opts<{ month: string; out: string; apiUrl?: string; token?: string }>();
    const ext = extname(options.out).toLowerCase() as keyof typeof FORMATS;
    const config = readSettings(command);
    if (options.apiUrl) {
      if (!options.token)
        command.error('facility report: --api-url needs --token (or FACILITY_API_TOKEN)', { exitCode: 2 });
      const response = await fetch(
        new URL(`/api/v1/reports/monthly?month=${options.month}`, options.apiUrl),
        {
          headers: { accept: FORMATS[ext], authorization: `Bearer ${options.token}` },
        },
      );
      if (!response.ok) {
        process.stderr.write(`facility report: ${response.status} ${await response.text()}\n`);
        process.exitCode = 1;
        return;
      }
      await writeFile(options.out, Buffer.from(await response.arrayBuffer()));
      process.stdout.write(`wrote ${options.out}\n`);
      return;
    }
    const logger = createLogger(config);
    const facility = await loadFacilityOrExit(config.facility, 'report');
    const life = new Lifecycle(logger);
    const { store, state } = createStorage(config, facility, logger, { catchUp: false });
    try {
      await withSettings(command, () => life.start('store', store));
      await withSettings(command, () => life.start('state', state));
      const management = createManagementState(facility, state);
      await life.start('management', management);
      const report = await monthlyReport(
        { kpi: { facility, store }, services: kpiServices, ledger: management, feedback: management },
        options.month,
      );
      const zone = facility.site.timezone;
      const bytes =
        ext === '.xlsx'
          ? await reportXlsx(report, facility)
          : ext === '.html'
            ? reportHtml(report, zone)
            : JSON.stringify(view(report, zone), null, 2);
      await writeFile(options.out, bytes);
      process.stdout.write(`wrote ${options.out} (${report.scorecard.items.length} departments 部门)\n`);
    } finally {
      await life.stop();
    }
  });
}
