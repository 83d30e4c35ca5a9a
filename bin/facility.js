#!/usr/bin/env node
// Entry point of the `facility` command. It runs the compiled JavaScript in dist/ — built by
// `npm ci` (the `prepare` script) or `npm run build` — which starts at once. When dist/ is missing
// or older than the sources it says so, and runs the TypeScript sources through tsx instead:
// slower to start, but never old code (scripts/build-state.js).
import { buildState } from '../scripts/build-state.js';

const state = buildState();
if (state.fresh) {
  await import('../dist/cli/main.js');
} else {
  process.stderr.write(
    `facility: ${state.reason}; running the TypeScript sources through tsx, which starts slower ` +
      '(`npm run build` compiles them).\n',
  );
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
