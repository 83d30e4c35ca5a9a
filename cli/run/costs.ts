/**
 * What `facility costs import FILE.csv` does (its options are in `../commands/costs.ts`): parse the
 * whole file first (core/management/ledger.ts), and store its rows in one transaction only when
 * every row is good; or send the file to a running platform's `POST /api/v1/costs/import`.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { dayOf } from '../../core/management/costs.ts';
import { formatImportProblem, type ImportProblem, parseCostCsv } from '../../core/management/ledger.ts';
import {
  createLogger,
  createManagementState,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
} from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

export async function runCostsImport(command: Command, file: string): Promise<void> {
  const options = command.opts<{ apiUrl?: string; token?: string }>();
  const config = readSettings(command);
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
      command.error('facility costs import: --api-url needs --token (or FACILITY_API_TOKEN)', {
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
      alreadyImported?: number;
      totalCny?: number;
      error?: { message: string; problems?: ImportProblem[] };
    };
    if (!response.ok) {
      const problems = body.error?.problems;
      process.stderr.write(
        problems
          ? problemLines(file, problems)
          : `facility costs import: ${file}: ${body.error?.message ?? response.statusText}\n`,
      );
      process.exitCode = 1;
      return;
    }
    process.stdout.write(
      `imported ${body.imported} rows 行, ¥${body.totalCny} from ${file}${already(body.alreadyImported ?? 0)}\n`,
    );
    return;
  }
  const logger = createLogger(config);
  const facility = await loadFacilityOrExit(config.facility, 'costs import');
  const result = parseCostCsv(bytes, facility, dayOf(Date.now(), facility.site.timezone));
  if (!result.ok) {
    process.stderr.write(problemLines(file, result.problems));
    process.exitCode = 1;
    return;
  }
  const life = new Lifecycle(logger);
  const { store, deadLetters, appState } = await createStorage(config, facility, logger, { catchUp: false });
  try {
    await withSettings(command, () => life.start('store', store));
    await withSettings(command, () => life.start('dead-letter', deadLetters));
    const ledger = await createManagementState(facility, appState);
    await life.start('management', ledger);
    const stored = await ledger.addCosts(
      result.entries,
      { tokenId: 'cli', name: `facility costs import ${basename(file)}` },
      { action: 'cost.import', target: `import:${basename(file)}` },
    );
    const total = stored.reduce((sum, e) => sum + Math.round(e.amountCny * 100), 0) / 100;
    process.stdout.write(
      `imported ${stored.length} rows 行 (${result.encoding}), ¥${total.toFixed(2)} from ${file}` +
        `${already(result.entries.length - stored.length)}\n`,
    );
  } finally {
    await life.stop();
  }
}

/** Every problem of the file, one a line as `FILE:LINE  column: message`, and the verdict. */
function problemLines(file: string, problems: readonly ImportProblem[]): string {
  return (
    `${problems.map((p) => `${file}:${p.line}  ${formatImportProblem(p).replace(/^line \d+, ?/, '')}`).join('\n')}\n\n` +
    `facility costs import: ${file} has ${problems.length} problem(s); nothing imported 未导入\n`
  );
}

function already(rows: number): string {
  return rows === 0 ? '' : `; ${rows} rows already imported from this file, not again 已导入过，未重复导入`;
}
