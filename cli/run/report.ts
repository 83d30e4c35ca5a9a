/**
 * What `facility report` does (its options are in `../commands/report.ts`): the monthly
 * cost-benefit report computed over the data folder, or asked of a running platform, written in
 * the format of the output file's extension.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { kpiServices } from '../../api/kpi-services.ts';
import { view } from '../../api/management-view.ts';
import { monthlyReport } from '../../core/management/report.ts';
import { reportHtml } from '../../core/management/report-html.ts';
import { reportXlsx, XLSX_TYPE } from '../../core/management/report-xlsx.ts';
import type { ReportExtension } from '../commands/report.ts';
import {
  createLogger,
  createManagementState,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
} from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

const ACCEPT: Readonly<Record<ReportExtension, string>> = {
  '.xlsx': XLSX_TYPE,
  '.html': 'text/html',
  '.json': 'application/json',
};

export async function runReport(command: Command): Promise<void> {
  const options = command.opts<{ month: string; out: string; apiUrl?: string; token?: string }>();
  const ext = extname(options.out).toLowerCase() as ReportExtension;
  const config = readSettings(command);
  if (options.apiUrl) {
    if (!options.token)
      command.error('facility report: --api-url needs --token (or FACILITY_API_TOKEN)', { exitCode: 2 });
    const response = await fetch(new URL(`/api/v1/reports/monthly?month=${options.month}`, options.apiUrl), {
      headers: { accept: ACCEPT[ext], authorization: `Bearer ${options.token}` },
    });
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
  const { store, deadLetters, appState } = await createStorage(config, facility, logger, { catchUp: false });
  try {
    await withSettings(command, () => life.start('store', store));
    await withSettings(command, () => life.start('dead-letter', deadLetters));
    const management = await createManagementState(facility, appState);
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
}
