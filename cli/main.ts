/**
 * Entry of the `facility` command: bin/facility.js runs its build in dist/ (scripts/build.js), or
 * this source through tsx when dist/ is missing or stale.
 */
import { run } from './program.ts';

await run(process.argv);
