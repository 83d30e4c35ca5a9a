/**
 * How a runtime setting is named on the command line and in the environment. Apart from
 * `config.ts` (which re-exports it) so that describing the command's flags — `facility --help` —
 * does not load the schema library that validating them needs.
 */
import type { RuntimeConfig } from './config.ts';

/** How a setting is named on the command line and in the environment, for messages and help. */
export function settingNames(key: keyof RuntimeConfig): { flag: string; env: string } {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return { flag: `--${kebab}`, env: `FACILITY_${kebab.replace(/-/g, '_').toUpperCase()}` };
}
