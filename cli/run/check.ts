/**
 * What `facility check [FILE]` does (its options are in `../commands/check.ts`): validate a
 * facility file and report every problem, or summarise it. Exit status: 0 valid, 1 problems
 * found, 2 the file could not be read.
 */
import { formatProblem } from '../../core/facility/load.ts';
import { renderFacilitySummary } from '../facility-summary.ts';
import { FacilityFileError, readFacilityFile } from '../read-facility.ts';

/** Where a command writes; the process streams by default. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Exit statuses of `facility check`. */
export const CHECK_EXIT = { ok: 0, problems: 1, unreadable: 2 } as const;

/** Runs the check; returns the exit status. */
export async function runCheck(path: string | undefined, io: CommandIo = processIo): Promise<number> {
  let loaded: Awaited<ReturnType<typeof readFacilityFile>>;
  try {
    loaded = await readFacilityFile(path);
  } catch (error) {
    if (!(error instanceof FacilityFileError)) throw error;
    io.stderr(`facility check: ${error.message}\n`);
    return CHECK_EXIT.unreadable;
  }
  const { file, result } = loaded;
  if (result.ok) {
    io.stdout(renderFacilitySummary(result.facility, file));
    return CHECK_EXIT.ok;
  }
  const count = result.problems.length;
  io.stdout(
    `${result.problems.map(formatProblem).join('\n')}\n\n` +
      `✗ ${file}: ${count} problem${count === 1 ? '' : 's'} 发现 ${count} 处问题\n`,
  );
  return CHECK_EXIT.problems;
}
