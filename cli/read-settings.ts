/**
 * The runtime settings of a command (core/config.ts) read from its flags and the environment,
 * validated once for both: what each command does first when it runs.
 */
import type { Command } from 'commander';
import { ConfigError, parseConfig, type RuntimeConfig } from '../core/config.ts';

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
 * key) into the same usage error as a bad flag: the message and exit status 2.
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
  if (!(error instanceof ConfigError)) throw error;
  command.error(`facility ${command.name()}: ${error.message}`, { exitCode: 2, code: 'facility.config' });
}
