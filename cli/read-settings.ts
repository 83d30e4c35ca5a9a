/**
 * The runtime settings of a command (core/config.ts) read from its flags and the environment,
 * validated once for both: what each command does first when it runs.
 */
import { basename, dirname } from 'node:path';
import { type Command, CommanderError } from 'commander';
import { ConfigError, parseConfig, type RuntimeConfig } from '../core/config.ts';
import { StoreError } from '../core/store.ts';

/** Validated settings from the command's flags and the environment; prints and exits on error. */
export function readSettings(
  command: Command,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RuntimeConfig {
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    // Commander sets `simulators: true` by default for `--no-simulators`; only an explicit flag counts.
    if (command.getOptionValueSource(key) === 'cli') flags[key] = value;
  }
  return withSettings(command, () => parseConfig(flags, env));
}

/**
 * Runs `make`, turning a {@link ConfigError} (a bad setting found late, e.g. an unreadable TLS
 * key) into the same usage error as a bad flag: the message and exit status 2. A data folder whose
 * DuckDB file another process holds (a running `facility start`) ends the same way, in one line.
 */
export function withSettings<T>(command: Command, make: () => T): T {
  try {
    const result = make();
    if (result instanceof Promise) {
      return result.catch((error: unknown) => failOnConfig(command, error)) as T;
    }
    return result;
  } catch (error) {
    return failOnConfig(command, error);
  }
}

function failOnConfig(command: Command, error: unknown): never {
  if (error instanceof StoreError && error.code === 'STORE_LOCKED') {
    process.stderr.write(`facility ${command.name()}: ${lockedStoreMessage(error)}\n`);
    // `run` sets the exit status from it; Commander prints nothing more.
    throw new CommanderError(2, 'facility.store-locked', '');
  }
  if (!(error instanceof ConfigError)) throw error;
  command.error(`facility ${command.name()}: ${error.message}`, { exitCode: 2, code: 'facility.config' });
}

/**
 * The one line for a DuckDB file held by another process, e.g. `the data folder /srv/data is in
 * use: another process (PID 4242), most likely a running \`facility start\`, holds
 * /srv/data/facility.duckdb. …`. The file and the PID come from the store's and DuckDB's message.
 */
export function lockedStoreMessage(error: StoreError): string {
  const file = /"([^"]+\.duckdb)"/.exec(error.message)?.[1];
  const pid = /\bPID (\d+)/.exec(error.message)?.[1];
  const folder = file === undefined ? 'the data folder' : `the data folder ${dirname(file)}`;
  return (
    `${folder} is in use: another process${pid === undefined ? '' : ` (PID ${pid})`}, most likely a running ` +
    `\`facility start\`, holds ${file === undefined ? 'its DuckDB file' : basename(file)}. DuckDB lets one process ` +
    'open a file: stop that process, or give --data another folder (`facility start` runs an ingest of its own).'
  );
}
