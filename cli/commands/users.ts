/**
 * `facility users add|list|remove`: the people who sign in to the live page with a password, kept
 * in `DATA/users.json` (api/users.ts). Works while the platform runs: the api reads the file again
 * when it changes.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ROLES, type Role } from '../../api/tokens.ts';
import { checkNewUser, FileUserStore, MIN_PASSWORD_CHARS, UserError } from '../../api/users.ts';
import { loadFacilityOrExit } from '../platform.ts';
import { addSettings, readSettings } from '../settings.ts';

export function usersCommand(): Command {
  const users = new Command('users')
    .summary('add, list and remove users of the live page 用户管理')
    .description(
      'Users sign in to the live page with a user name and password. Roles: admin (everything), operator ' +
        '(reads, acknowledges and comments alerts), viewer (reads). --department limits an operator or a ' +
        `viewer to one department. Passwords are at least ${MIN_PASSWORD_CHARS} characters and kept as scrypt ` +
        'hashes in DATA/users.json.',
    );

  const add = new Command('add')
    .summary('add a user 添加用户')
    .argument('<username>', 'lower-case letters, digits, ".", "_" or "-"')
    .addOption(new Option('--role <role>', 'admin | operator | viewer').choices(ROLES).makeOptionMandatory())
    .option('--department <id>', 'limit an operator or viewer to this department')
    .option('--password-stdin', 'read the password from the first line of standard input (for scripts)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  facility users add wang --role operator --department finance   # asks for the password\n' +
        '  printf "%s\\n" "$PASSWORD" | facility users add screen --role viewer --password-stdin\n',
    );
  addSettings(add, ['facility', 'data']);
  add.action(
    async (username: string, options: { role: Role; department?: string; passwordStdin?: boolean }) => {
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
    },
  );

  const list = new Command('list').summary('list users 列出用户');
  addSettings(list, ['data']);
  list.action(async () => {
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
  });

  const remove = new Command('remove')
    .summary('remove a user; their sessions end 删除用户')
    .argument('<username>');
  addSettings(remove, ['data']);
  remove.action(async (username: string) => {
    const config = readSettings(remove);
    const removed = await new FileUserStore({ file: resolve(config.data, 'users.json') }).remove(username);
    if (!removed) remove.error(`facility users remove: no user "${username}"`, { exitCode: 1 });
    process.stdout.write(`removed ${username}\n`);
  });

  return users.addCommand(add).addCommand(list).addCommand(remove);
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
