/**
 * What `facility users add|list|remove` do (their options are in `../commands/users.ts`): the
 * users of the live page in `DATA/users.json` (api/users.ts).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Role } from '../../api/tokens.ts';
import { checkNewUser, FileUserStore, UserError } from '../../api/users.ts';
import { loadFacilityOrExit } from '../platform.ts';
import { readSettings } from '../read-settings.ts';

export async function runUsersAdd(
  add: Command,
  username: string,
  options: { role: Role; department?: string; passwordStdin?: boolean },
): Promise<void> {
  const config = readSettings(add);
  const facility = await loadFacilityOrExit(config.facility, 'users add');
  let password = '';
  if (options.passwordStdin) password = await readLine();
  else if (process.stdin.isTTY) {
    password = await askHidden('password 密码: ');
    if ((await askHidden('again 再次输入: ')) !== password)
      add.error('facility users add: the two passwords differ', { exitCode: 1 });
  } else {
    add.error(
      'facility users add: standard input is not a terminal; give the password with --password-stdin',
      {
        exitCode: 2,
      },
    );
  }
  const wanted = {
    username,
    password,
    role: options.role,
    ...(options.department === undefined ? {} : { department: options.department }),
  };
  const problem = checkNewUser(
    wanted,
    facility.departments.map((d) => d.id),
  );
  if (problem) add.error(`facility users add: ${problem.message}`, { exitCode: 2 });
  const store = new FileUserStore({ file: resolve(config.data, 'users.json') });
  try {
    const user = await store.add({ ...wanted, createdBy: 'facility users' });
    process.stdout.write(
      `added ${user.username} (${user.role}${user.department ? `, department ${user.department}` : ''}) to ${resolve(config.data, 'users.json')}\n`,
    );
  } catch (error) {
    if (error instanceof UserError) add.error(`facility users add: ${error.message}`, { exitCode: 1 });
    throw error;
  }
}

export async function runUsersList(list: Command): Promise<void> {
  const config = readSettings(list);
  const all = await new FileUserStore({ file: resolve(config.data, 'users.json') }).list();
  if (all.length === 0) {
    process.stdout.write('no users yet; add one with facility users add NAME --role admin\n');
    return;
  }
  const rows = [
    ['username', 'role', 'department', 'created', 'by'],
    ...all.map((u) => [u.username, u.role, u.department ?? '-', u.createdAt, u.createdBy]),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  for (const row of rows)
    process.stdout.write(
      `${row
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
}

export async function runUsersRemove(remove: Command, username: string): Promise<void> {
  const config = readSettings(remove);
  const removed = await new FileUserStore({ file: resolve(config.data, 'users.json') }).remove(username);
  if (!removed) remove.error(`facility users remove: no user "${username}"`, { exitCode: 1 });
  process.stdout.write(`removed ${username}\n`);
}

/** The first line of standard input. */
async function readLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

/** Asks on the terminal without echoing what is typed. */
function askHidden(question: string): Promise<string> {
  return new Promise((resolvePassword, reject) => {
    const input = process.stdin;
    process.stdout.write(question);
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    let typed = '';
    const done = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stdout.write('\n');
      if (error) reject(error);
      else resolvePassword(typed);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(new Error('cancelled'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}
