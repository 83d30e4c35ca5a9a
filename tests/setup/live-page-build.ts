/**
 * vitest globalSetup: builds the operator page (dashboards/live/dist/) when it is missing or older
 * than its sources, so the browser tests always drive the page the sources make. The build is
 * `npm run build:live --if-stale` (scripts/build-live.js), a few seconds; nothing when current.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default async function setup(): Promise<void> {
  const child = spawn(process.execPath, ['scripts/build-live.js', '--if-stale'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`building the operator page failed (exit ${code}):\n${output}`);
}
