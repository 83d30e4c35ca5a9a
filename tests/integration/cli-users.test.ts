/**
 * `facility users` as an admin runs it: add (the password from standard input), list, remove, on a
 * temporary data folder; the file keeps scrypt hashes only; bad input is refused with a line that
 * says why and a non-zero status.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function users(
  args: readonly string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/facility.js', 'users', ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

describe('facility users', () => {
  it('adds, lists and removes users, keeping only password hashes', async () => {
    const data = await mkdtemp(join(tmpdir(), 'sfp-users-'));
    onTestFinished(() => rm(data, { recursive: true, force: true }));
    const file = join(data, 'users.json');

    const added = await users(
      ['add', 'wang', '--role', 'operator', '--department', 'finance', '--password-stdin', '--data', data],
      'correct horse battery\n',
    );
    expect(added, added.stderr).toMatchObject({ code: 0 });
    expect(added.stdout).toBe(`added wang (operator, department finance) to ${file}\n`);
    const screen = await users(
      ['add', 'screen', '--role', 'viewer', '--password-stdin', '--data', data],
      'wall-screen-1\n',
    );
    expect(screen.code).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('correct horse battery');
    expect(text).toContain('scrypt:');

    const list = await users(['list', '--data', data]);
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^username\s+role\s+department\s+created\s+by$/);
    // In the order they were added.
    expect(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 3))).toEqual([
      ['wang', 'operator', 'finance'],
      ['screen', 'viewer', '-'],
    ]);

    const removed = await users(['remove', 'wang', '--data', data]);
    expect(removed).toMatchObject({ code: 0, stdout: 'removed wang\n' });
    const again = await users(['remove', 'wang', '--data', data]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('facility users remove: no user "wang"');
  }, 60_000);

  it('refuses a short password, an unknown department, a taken name and a bad role, saying why', async () => {
    const data = await mkdtemp(join(tmpdir(), 'sfp-users-'));
    onTestFinished(() => rm(data, { recursive: true, force: true }));
    const add = (args: string[], password = 'long-enough-1\n') =>
      users(['add', ...args, '--password-stdin', '--data', data], password);

    const short = await add(['li', '--role', 'viewer'], 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/facility users add: .*password.*10/);
    const department = await add(['li', '--role', 'viewer', '--department', 'nowhere']);
    expect(department.code).toBe(2);
    expect(department.stderr).toContain('nowhere');
    const role = await add(['li', '--role', 'root']);
    expect(role.code).not.toBe(0);
    expect(role.stderr).toMatch(/root/);
    expect((await add(['li', '--role', 'viewer'])).code).toBe(0);
    const taken = await add(['li', '--role', 'admin']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('facility users add: username: "li" exists already; remove it first');
    // Without --password-stdin and not on a terminal: it says how to give the password.
    const noTerminal = await users(['add', 'zhao', '--role', 'viewer', '--data', data]);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('--password-stdin');
  }, 60_000);
});
