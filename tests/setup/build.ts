/**
 * vitest globalSetup: the tests that run `bin/facility.js` as a child process run the compiled
 * JavaScript in dist/, as a user does; so dist/ is compiled first when it is not the build of the
 * current sources (scripts/build-state.js), as `npm ci` would have.
 */

import { build } from '../../scripts/build.js';
import { buildState } from '../../scripts/build-state.js';

export default async function setup(): Promise<void> {
  if (!buildState().fresh) await build();
}
