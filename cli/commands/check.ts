/**
 * `facility check [FILE]`: validate a facility file and report every problem, or summarise it.
 * Exit status: 0 valid, 1 problems found, 2 the file could not be read. The check itself is in
 * `../run/check.ts`, loaded when it runs.
 */
import { Command } from 'commander';

/** The `check` sub-command. */
export function checkCommand(): Command {
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
      const { runCheck } = await import('../run/check.ts');
      process.exitCode = await runCheck(file);
    });
}
