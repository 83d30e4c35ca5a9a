/**
 * scripts/setup-test.sh, run for real with `--dry-run` (it installs nothing then): on this
 * machine, where CI has run it, everything is found; with a PATH that hides programs, it names
 * the Debian packages it would install.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';

const run = promisify(execFile);
const SCRIPT = 'scripts/setup-test.sh';

describe('scripts/setup-test.sh', () => {
  it('finds every package the tests need and does nothing, quickly', async () => {
    const started = performance.now();
    const { stdout } = await run('bash', [SCRIPT, '--dry-run']);
    expect(stdout).toMatch(/influxd, mosquitto, redis-server, chromium and fonts-noto-cjk are installed/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('names the packages whose programs are missing', async () => {
    // A PATH with only what the script itself runs: influxd, redis-server and chromium (in
    // /usr/bin) are then missing; mosquitto is still found in /usr/sbin, the fonts through dpkg.
    const bin = await mkdtemp(join(tmpdir(), 'sfp-setup-'));
    onTestFinished(() => rm(bin, { recursive: true, force: true }));
    for (const program of ['bash', 'dpkg-query', 'grep', 'id']) {
      const { stdout } = await run('bash', ['-c', `command -v ${program}`]);
      await symlink(stdout.trim(), join(bin, program));
    }
    const { stdout } = await run(join(bin, 'bash'), [SCRIPT, '--dry-run'], { env: { PATH: bin } });
    expect(stdout.trim()).toBe('setup:test: would install: influxdb redis-server chromium');
  });

  it('refuses an unknown argument with status 2', async () => {
    await expect(run('bash', [SCRIPT, '--yes'])).rejects.toMatchObject({ code: 2 });
  });
});
