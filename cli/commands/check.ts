/**
 * `facility check [FILE]`: validate a facility file and report every problem, or summarise it.
 * Exit status: 0 valid, 1 problems found, 2 the file could not be read.
 */
import { Command } from 'commander';
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

/** The `check` sub-command. */
export function checkCommand(io: CommandIo = processIo): Command {
  return new Command('check')
    .summary('validate a facility file 校验设施文件')
    .description(
      'Validate a facility file (YAML, format version 1) and report every problem at once, ' +
        'one per line as "file:line:col  path: message". If there is none, print a summary of ' +
        'the site: buildings, departments, meters, vehicles, rooms, sensors, calendar, tariffs, ' +
        'factors and quotas.\n\n' +
        '校验设施文件（YAML，格式版本 1），一次列出全部问题；无问题时打印园区概况。',
    )
    .argument('[FILE]', 'facility file to check; default: the built-in demo facility 内置示例')
    .addHelpText(
      'after',
      '\nExit status 退出码:\n' +
        '  0  the file is valid 文件有效\n' +
        '  1  problems found 发现问题\n' +
        '  2  the file cannot be read, or bad usage 无法读取文件或用法错误\n\n' +
        'Examples:\n' +
        '  facility check                      # the built-in demo facility\n' +
        '  facility check /etc/facility.yaml\n',
    )
    .action(async (file: string | undefined) => {
      process.exitCode = await runCheck(file, io);
    });
}
