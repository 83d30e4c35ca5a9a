/**
 * The compiled `facility` command (scripts/build.js, scripts/build-state.js, bin/facility.js) on a
 * copy of the sources in a temporary folder: what it compiles, that the result runs, and that a
 * changed or missing source is noticed and said — the command then runs the sources through tsx,
 * never old code.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { build } from '../../scripts/build.js';
import { buildState } from '../../scripts/build-state.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COPIED = [
  'alerts',
  'api',
  'bin',
  'broker',
  'cli',
  'core',
  'dashboards',
  'ingest',
  'live',
  'scripts',
  'simulators',
  'storage',
  'package.json',
];

/** A copy of what the build reads, with the project's node_modules linked in. */
async function copyOfSources(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sfp-build-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  for (const name of COPIED) await cp(join(ROOT, name), join(dir, name), { recursive: true });
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function run(
  script: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('the compiled command', () => {
  it('compiles cli/main.ts and all it imports into dist/, runnable, and knows when it is stale', {
    timeout: 90_000,
  }, async () => {
    const dir = await copyOfSources();
    expect(buildState(dir)).toEqual({ fresh: false, reason: 'there is no compiled JavaScript in dist/ yet' });

    const modules = await build(dir);
    expect(modules).toBeGreaterThan(50);
    expect(buildState(dir)).toEqual({ fresh: true });
    const stamp = JSON.parse(await readFile(join(dir, 'dist/build.json'), 'utf8')) as { sources: string[] };
    // Imported only dynamically, when its command runs: compiled all the same.
    expect(stamp.sources).toEqual(
      expect.arrayContaining(['cli/main.ts', 'cli/run/start.ts', 'ingest/spool.ts']),
    );
    expect(stamp.sources.some((file) => file.startsWith('tests/') || file.startsWith('bench/'))).toBe(false);
    const compiled = await readFile(join(dir, 'dist/cli/run/start.js'), 'utf8');
    expect(compiled).toContain('from "../parts.js"');
    expect(compiled).not.toMatch(/from ["'][^"']+\.ts["']/);
    expect(JSON.parse(await readFile(join(dir, 'dist/package.json'), 'utf8'))).toMatchObject({
      version,
      type: 'module',
    });

    // It runs, from dist/, with nothing said on stderr.
    const help = await run(join(dir, 'bin/facility.js'), ['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: facility');
    // The demo facility is read from the sources, not from a copy in dist/.
    const check = await run(join(dir, 'bin/facility.js'), ['check']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('77 devices');
    expect(check.stdout).not.toContain('dist/');

    // Touched but not changed: still fresh (contents count, not times).
    const start = join(dir, 'cli/run/start.ts');
    await utimes(start, new Date(), new Date());
    expect(buildState(dir)).toEqual({ fresh: true });
    // Changed: stale, naming the file; the command says so and runs the sources.
    const original = await readFile(start, 'utf8');
    await writeFile(start, `${original}\n// changed\n`);
    expect(buildState(dir)).toEqual({
      fresh: false,
      reason: 'dist/ is older than the sources (cli/run/start.ts changed)',
    });
    const stale = await run(join(dir, 'bin/facility.js'), ['--version']);
    expect(stale.code).toBe(0);
    expect(stale.stdout.trim()).toBe(version);
    expect(stale.stderr).toContain(
      'facility: dist/ is older than the sources (cli/run/start.ts changed); running the TypeScript sources through tsx',
    );
    // Changed back: fresh again. Gone: stale.
    await writeFile(start, original);
    expect(buildState(dir)).toEqual({ fresh: true });
    await rm(join(dir, 'ingest/spool.ts'));
    expect(buildState(dir)).toMatchObject({
      fresh: false,
      reason: expect.stringMatching(/ingest\/spool\.ts is gone/),
    });
  });

  it('the repository’s own bin/facility.js runs dist/ (built by the test setup when stale)', async () => {
    expect(buildState()).toEqual({ fresh: true });
    const result = await run(join(ROOT, 'bin/facility.js'), ['--version']);
    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});
