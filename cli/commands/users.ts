/**
 * `facility users add|list|remove`: the people who sign in to the live page with a password, kept
 * in `DATA/users.json` (api/users.ts). Works while the platform runs: the api reads the file again
 * when it changes. What each sub-command does is in `../run/users.ts`, loaded when it runs.
 */
import { Command, Option } from 'commander';
import { addSettings } from '../settings.ts';

/** Roles of a user (api/tokens.ts ROLES; here so that `--help` loads nothing more). */
const ROLES = ['admin', 'operator', 'viewer'] as const;
/** api/users.ts MIN_PASSWORD_CHARS. */
const MIN_PASSWORD_CHARS = 10;

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
    async (
      username: string,
      options: { role: (typeof ROLES)[number]; department?: string; passwordStdin?: boolean },
    ) => {
      const { runUsersAdd } = await import('../run/users.ts');
      await runUsersAdd(add, username, options);
    },
  );

  const list = new Command('list').summary('list users 列出用户');
  addSettings(list, ['data']);
  list.action(async () => {
    const { runUsersList } = await import('../run/users.ts');
    await runUsersList(list);
  });

  const remove = new Command('remove')
    .summary('remove a user; their sessions end 删除用户')
    .argument('<username>');
  addSettings(remove, ['data']);
  remove.action(async (username: string) => {
    const { runUsersRemove } = await import('../run/users.ts');
    await runUsersRemove(remove, username);
  });

  return users.addCommand(add).addCommand(list).addCommand(remove);
}
