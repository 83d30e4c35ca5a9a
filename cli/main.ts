/**
 * Entry of the `facility` command (bin/facility.js loads it through tsx).
 */
import { run } from './program.ts';

await run(process.argv);
