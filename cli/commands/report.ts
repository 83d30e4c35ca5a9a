/**
 * `facility report --month 2026-11 --out FILE`: the monthly cost-benefit report (成本效益分析月报),
 * `.xlsx` or `.html` (or `.json`) by the file's extension — the same as
 * `GET /api/v1/reports/monthly`. On the data folder directly, or from a running platform
 * (`--api-url`, `--token`). What it does is in `../run/report.ts`, loaded when it runs.
 */
import { extname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { addSettings, STORE_SETTINGS } from '../settings.ts';

/** The extensions `--out` takes, each a format of the report. */
export const REPORT_EXTENSIONS = ['.xlsx', '.html', '.json'] as const;
export type ReportExtension = (typeof REPORT_EXTENSIONS)[number];

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
          if (!(REPORT_EXTENSIONS as readonly string[]).includes(extname(v).toLowerCase()))
            throw new InvalidArgumentError(`"${v}" must end in .xlsx, .html or .json`);
          return v;
        }),
    )
    .addOption(new Option('--api-url <url>', 'ask a running platform, e.g. http://127.0.0.1:8080'))
    .addOption(
      new Option('--token <token>', 'API token (site-wide) for --api-url').env('FACILITY_API_TOKEN'),
    );
  addSettings(command, ['facility', 'data', ...STORE_SETTINGS, 'logLevel']);
  command.addHelpText(
    'after',
    '\nExamples:\n  facility report --month 2026-11 --out report-2026-11.xlsx\n  facility report --month 2026-11 --out report.html --api-url http://127.0.0.1:8080 --token $TOKEN\n',
  );
  return command.action(async () => {
    const { runReport } = await import('../run/report.ts');
    await runReport(command);
  });
}
