/**
 * The `facility` command line: one program, one module per sub-command under `commands/`.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { apiCommand } from './commands/api.ts';
import { brokerCommand } from './commands/broker.ts';
import { checkCommand } from './commands/check.ts';
import { costsCommand } from './commands/costs.ts';
import { exportCommand } from './commands/export.ts';
import { grafanaCommand } from './commands/grafana.ts';
import { ingestCommand } from './commands/ingest.ts';
import { reportCommand } from './commands/report.ts';
import { rollupsCommand } from './commands/rollups.ts';
import { simulateCommand } from './commands/simulate.ts';
import { startCommand } from './commands/start.ts';
import { usersCommand } from './commands/users.ts';

/** Exit status of a usage error (unknown option, missing argument…). */
export const USAGE_EXIT = 2;

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Builds the program with every sub-command registered. */
export function buildProgram(): Command {
  const program = new Command('facility')
    .description(
      '智慧机关运行平台 Smart Facility Platform\n' +
        'IoT monitoring of energy, official vehicles and space for government office compounds.',
    )
    .version(version, '-V, --version', 'print the version 显示版本')
    .helpOption('-h, --help', 'show help 显示帮助')
    .helpCommand('help [command]', 'show help for a command 显示命令帮助')
    .showHelpAfterError('(add --help for usage 使用 --help 查看用法)')
    // Throw instead of exiting, so that `run` decides the exit status.
    .exitOverride();
  for (const command of [
    startCommand(),
    checkCommand(),
    brokerCommand(),
    ingestCommand(),
    apiCommand(),
    simulateCommand(),
    rollupsCommand(),
    exportCommand(),
    costsCommand(),
    reportCommand(),
    grafanaCommand(),
    usersCommand(),
  ]) {
    program.addCommand(inherit(command, program));
  }
  return program;
}

/** Gives a command, and the commands under it, the program's settings (exit override, help…). */
function inherit(command: Command, parent: Command): Command {
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) inherit(sub, command);
  return command;
}

/** Runs the program on `argv` (as `process.argv`); sets `process.exitCode`. */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Commander has printed its message; help and version end with 0, usage errors with 2.
    process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT;
  }
}
