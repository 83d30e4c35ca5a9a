/**
 * How a runtime setting is named on the command line and in the environment. Apart from
 * `config.ts` (which re-exports it) so that describing the command's flags — `facility --help` —
 * does not load the schema library that validating them needs.
 */
import type { RuntimeConfig } from './config.ts';

/** Settings that are on by default: their flag turns them off (`--no-simulators`). */
export const NEGATED_FLAGS: ReadonlySet<keyof RuntimeConfig> = new Set(['simulators']);

/**
 * How a setting is named on the command line and in the environment, for messages and help: the
 * flag that exists, `--no-simulators` for a setting that is on by default.
 */
export function settingNames(key: keyof RuntimeConfig): { flag: string; env: string } {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return {
    flag: NEGATED_FLAGS.has(key) ? `--no-${kebab}` : `--${kebab}`,
    env: `FACILITY_${kebab.replace(/-/g, '_').toUpperCase()}`,
  };
}
