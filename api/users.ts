/**
 * People who sign in with a user name and a password (the live page): their role and department,
 * made by an admin with `facility users add` or `POST /api/v1/users`. Kept in `{data}/users.json`
 * (mode 600, replaced atomically by write-then-rename), beside the tokens; only a scrypt hash of
 * each password is stored (`scrypt:N:r:p:salt:hash`, core/facility/secret-hash.ts), by default with
 * OWASP's scrypt parameters for passwords (N = 2^17, r = 8, p = 1: 128 MiB and about 0.3 s a
 * hash, which is why sign-ins go through the login guard's bound, core/login-guard.ts).
 *
 * The file may be changed by the command line while the api runs: the store reads it again when
 * its modification time changes (looked at most once a second).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { hashSecret, verifySecret } from '../core/facility/secret-hash.ts';
import { ROLES, type Role } from './tokens.ts';

/** A user as listed: everything but the password hash. */
export interface User {
  readonly username: string;
  readonly role: Role;
  readonly department?: string;
  /** ISO-8601. */
  readonly createdAt: string;
  /** Who made it: a user name, a token's name, or `facility users` (the command line). */
  readonly createdBy: string;
}

interface StoredUser extends User {
  readonly passwordHash: string;
}

export interface NewUser {
  readonly username: string;
  readonly password: string;
  readonly role: Role;
  readonly department?: string;
  readonly createdBy: string;
}

/** The user store port; {@link FileUserStore} keeps it in a JSON file. */
export interface UserStore {
  start(): Promise<void>;
  /** The user, reading the file again if it changed. */
  get(username: string): Promise<User | undefined>;
  list(): Promise<User[]>;
  /** The user when the password is theirs; undefined otherwise (unknown user included, at the same cost). */
  verify(username: string, password: string): Promise<User | undefined>;
  add(user: NewUser): Promise<User>;
  remove(username: string): Promise<boolean>;
}

export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
export const MIN_PASSWORD_CHARS = 10;
export const MAX_PASSWORD_CHARS = 256;
/** OWASP Password Storage Cheat Sheet, scrypt: N = 2^17, r = 8, p = 1. */
export const PASSWORD_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;

export class UserError extends Error {
  /** `INVALID` (a bad name, password, role), `EXISTS`. */
  readonly code: 'INVALID' | 'EXISTS';
  readonly parameter: string | undefined;
  constructor(code: 'INVALID' | 'EXISTS', message: string, parameter?: string) {
    super(message);
    this.name = 'UserError';
    this.code = code;
    this.parameter = parameter;
  }
}

/** Problems of a new user's fields, for a person (empty when fine). */
export function checkNewUser(
  user: Omit<NewUser, 'createdBy'>,
  departments: readonly string[],
): UserError | undefined {
  if (!new RegExp(USERNAME_PATTERN).test(user.username)) {
    return new UserError(
      'INVALID',
      'username: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 characters',
      'username',
    );
  }
  if (!ROLES.includes(user.role)) return new UserError('INVALID', `role: one of ${ROLES.join(', ')}`, 'role');
  if (user.department !== undefined) {
    if (user.role === 'admin')
      return new UserError('INVALID', 'department: an admin is site-wide; give no department', 'department');
    if (!departments.includes(user.department)) {
      return new UserError(
        'INVALID',
        `department: no department "${user.department}" in the facility`,
        'department',
      );
    }
  }
  if ([...user.password].length < MIN_PASSWORD_CHARS) {
    return new UserError('INVALID', `password: at least ${MIN_PASSWORD_CHARS} characters`, 'password');
  }
  if ([...user.password].length > MAX_PASSWORD_CHARS) {
    return new UserError('INVALID', `password: at most ${MAX_PASSWORD_CHARS} characters`, 'password');
  }
  return undefined;
}

const FILE_VERSION = 1;

export interface FileUserStoreOptions {
  /** `data/users.json`; created with the first user. */
  readonly file: string;
  /** scrypt parameters of new password hashes. Default {@link PASSWORD_SCRYPT}. */
  readonly scrypt?: { readonly N: number; readonly r: number; readonly p: number };
  readonly now?: () => number;
}

export class FileUserStore implements UserStore {
  readonly #file: string;
  readonly #scrypt: { N: number; r: number; p: number };
  readonly #now: () => number;
  #users: StoredUser[] = [];
  #mtime = -1;
  #checked = Number.NEGATIVE_INFINITY;
  #writing: Promise<unknown> = Promise.resolve();
  /** A hash of a random password, verified for unknown users so they cost what known ones do. */
  #decoy: Promise<string> | undefined;

  constructor(options: FileUserStoreOptions) {
    this.#file = resolve(options.file);
    this.#scrypt = { ...(options.scrypt ?? PASSWORD_SCRYPT) };
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.#fresh(true);
  }

  async get(username: string): Promise<User | undefined> {
    await this.#fresh(false);
    const found = this.#users.find((u) => u.username === username);
    return found ? info(found) : undefined;
  }

  async list(): Promise<User[]> {
    await this.#fresh(false);
    return this.#users.map(info);
  }

  async verify(username: string, password: string): Promise<User | undefined> {
    await this.#fresh(false);
    const found = this.#users.find((u) => u.username === username);
    if (!found) {
      this.#decoy ??= hashSecret(randomBytes(16).toString('hex'), this.#scrypt);
      await verifySecret(password, await this.#decoy);
      return undefined;
    }
    return (await verifySecret(password, found.passwordHash)) ? info(found) : undefined;
  }

  async add(user: NewUser): Promise<User> {
    const passwordHash = await hashSecret(user.password, this.#scrypt);
    let made: User | undefined;
    await this.#update((users) => {
      if (users.some((u) => u.username === user.username)) {
        throw new UserError(
          'EXISTS',
          `username: "${user.username}" exists already; remove it first`,
          'username',
        );
      }
      const stored: StoredUser = {
        username: user.username,
        role: user.role,
        ...(user.department === undefined ? {} : { department: user.department }),
        createdAt: new Date(this.#now()).toISOString(),
        createdBy: user.createdBy,
        passwordHash,
      };
      made = info(stored);
      return [...users, stored];
    });
    return made as unknown as User;
  }

  async remove(username: string): Promise<boolean> {
    let found = false;
    await this.#update((users) => {
      const kept = users.filter((u) => u.username !== username);
      found = kept.length < users.length;
      return found ? kept : undefined;
    });
    return found;
  }

  /** Reads the file again when it changed (looked at most once a second unless `force`). */
  async #fresh(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.#checked < 1000) return;
    this.#checked = now;
    let mtime: number;
    try {
      mtime = (await stat(this.#file)).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.#users = [];
      this.#mtime = -1;
      return;
    }
    if (mtime === this.#mtime && !force) return;
    const text = await readFile(this.#file, 'utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`${this.#file} is not JSON: ${(error as Error).message}`);
    }
    const users = (parsed as { users?: unknown }).users;
    if (
      (parsed as { version?: unknown }).version !== FILE_VERSION ||
      !Array.isArray(users) ||
      !users.every(isStoredUser)
    ) {
      throw new Error(
        `${this.#file} is not a users file of version ${FILE_VERSION} ({ "version": 1, "users": [{ username, role, passwordHash, createdAt, createdBy }] })`,
      );
    }
    this.#users = users;
    this.#mtime = mtime;
  }

  #update(change: (users: readonly StoredUser[]) => StoredUser[] | undefined): Promise<void> {
    const write = this.#writing.then(async () => {
      await this.#fresh(true);
      const users = change(this.#users);
      if (users === undefined) return;
      await mkdir(dirname(this.#file), { recursive: true });
      const temporary = `${this.#file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, `${JSON.stringify({ version: FILE_VERSION, users }, null, 2)}\n`, {
          mode: 0o600,
          flush: true,
        });
        await rename(temporary, this.#file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw new Error(`cannot write ${this.#file}: ${(error as Error).message}`, { cause: error });
      }
      this.#users = users;
      this.#mtime = (await stat(this.#file)).mtimeMs;
    });
    this.#writing = write.catch(() => undefined);
    return write;
  }
}

function info(user: StoredUser): User {
  const { passwordHash: _hash, ...rest } = user;
  return rest;
}

function isStoredUser(value: unknown): value is StoredUser {
  if (value === null || typeof value !== 'object') return false;
  const u = value as Record<string, unknown>;
  return (
    typeof u.username === 'string' &&
    ROLES.includes(u.role as Role) &&
    (u.department === undefined || typeof u.department === 'string') &&
    typeof u.createdAt === 'string' &&
    typeof u.createdBy === 'string' &&
    typeof u.passwordHash === 'string' &&
    u.passwordHash.startsWith('scrypt:')
  );
}
