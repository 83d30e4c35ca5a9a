import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/setup/influxd.ts', 'tests/setup/build.ts', 'tests/setup/live-page-build.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A skipped or focused test is a defect here (see .ci/run); fail the run on `.only`.
    allowOnly: false,
  },
});
