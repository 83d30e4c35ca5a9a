/**
 * What stands between a password guesser and the platform: failed logins (MQTT, and the API's
 * password sign-in) are throttled per user name and per client address, and secret-hash
 * verifications (scrypt) are bounded.
 *
 * **Why.** scrypt runs on libuv's thread pool, which DuckDB's calls, file I/O and DNS share: 400
 * wrong passwords at once starved the store and the API for seconds. So a guesser must not be able
 * to make the broker run scrypt at will.
 *
 * **Throttle** (one {@link LoginThrottle} per user name, one per address). The first `free`
 * failures of a key cost nothing; after that every failure blocks the key for an exponential
 * back-off, `baseDelayMs` × 2^(failures − free − 1), capped at `lockMs` — the short lock. While a
 * key is blocked its logins are refused at once (CONNACK 3, server unavailable: try later),
 * without looking at the password, and those refusals do not extend the block. A key is forgotten
 * `forgetMs` after its last failure; a successful login clears its user name.
 *
 * A guesser spread over many addresses would lock a device out through its user name, and one
 * misconfigured device would lock out every device behind its NAT address through the address;
 * so a login of a user name from an address it logged in from before (a known pair) is held by
 * neither, only by a throttle of that pair (the `user` budget) — a guesser at the device's own
 * address cannot be told from the device. Addresses get a larger budget (`free.address`), since
 * several devices may share one.
 *
 * **Bound.** At most `maxConcurrent` verifications run at once (default: one core's worth, one
 * on a 2-core machine, two from 3 cores: scrypt is CPU-bound and shares libuv's 4 threads); up to
 * `maxQueued` wait; beyond that a login is refused as busy (CONNACK 3) rather than queued behind a
 * flood. The queue has two priorities: a login whose user name and address have no failures, or
 * that comes from an address the user logged in from before, goes ahead of the others, so a real
 * device waits at most for the verifications already running. And a user name (from an address it
 * is not known at) or an address has at most `maxInFlight` verifications waiting or running; a
 * further attempt is refused at once like a throttled one — failures are counted only once scrypt
 * answers, so without this a burst of guesses would all be verified before the first one counted.
 *
 * Times come from an injected clock; everything is counted in the broker's Prometheus registry.
 */
import { isIPv6 } from 'node:net';
import { availableParallelism } from 'node:os';
import PQueue from 'p-queue';

/** Which throttle refused a login. */
export type ThrottledBy = 'user' | 'address';

/** Options of {@link LoginGuard}. */
export interface LoginGuardOptions {
  /** Failures a key may have before it is held back. Default 5 per user name, 20 per address. */
  readonly free?: { readonly user?: number; readonly address?: number };
  /** First back-off, ms. Default 1 s. */
  readonly baseDelayMs?: number;
  /** Longest back-off: the lock, ms. Default 60 s. */
  readonly lockMs?: number;
  /** A key without failures for this long is forgotten, ms. Default 15 min. */
  readonly forgetMs?: number;
  /** Most keys remembered per throttle; the oldest go first. Default 100,000. */
  readonly maxKeys?: number;
  /** Secret-hash verifications at once. Default: available cores − 1, between 1 and 2. */
  readonly maxConcurrent?: number;
  /** Verifications waiting or running per user name and per address. Default 1 and 4. */
  readonly maxInFlight?: { readonly user?: number; readonly address?: number };
  /** Verifications waiting; more are refused as busy. Default 64. */
  readonly maxQueued?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

export const LOGIN_GUARD_DEFAULTS = {
  free: { user: 5, address: 20 },
  baseDelayMs: 1_000,
  lockMs: 60_000,
  forgetMs: 15 * 60_000,
  maxKeys: 100_000,
  maxConcurrent: Math.max(1, Math.min(2, availableParallelism() - 1)),
  maxInFlight: { user: 1, address: 4 },
  maxQueued: 64,
} as const;

/** A blocked key: until when, and whether it reached the lock. */
export interface Blocked {
  readonly untilMs: number;
  readonly locked: boolean;
}

interface KeyState {
  failures: number;
  lastFailure: number;
  blockedUntil: number;
}

/** Failures and back-off of one kind of key (user names, or addresses). Pure but for its map. */
export class LoginThrottle {
  readonly #keys = new Map<string, KeyState>();
  readonly #free: number;
  readonly #baseDelayMs: number;
  readonly #lockMs: number;
  readonly #forgetMs: number;
  readonly #maxKeys: number;

  constructor(options: {
    free: number;
    baseDelayMs: number;
    lockMs: number;
    forgetMs: number;
    maxKeys: number;
  }) {
    this.#free = options.free;
    this.#baseDelayMs = options.baseDelayMs;
    this.#lockMs = options.lockMs;
    this.#forgetMs = options.forgetMs;
    this.#maxKeys = options.maxKeys;
  }

  /** Whether `key` is held back at `now`, and until when. */
  blocked(key: string, now: number): Blocked | undefined {
    const state = this.#fresh(key, now);
    if (!state || state.blockedUntil <= now) return undefined;
    return { untilMs: state.blockedUntil, locked: state.blockedUntil - state.lastFailure >= this.#lockMs };
  }

  /**
   * Counts a failure of `key` at `now`; answers the block it now carries (none while the key is
   * within its free failures). `lockedNow` says the block is the lock and the key just reached it.
   */
  fail(key: string, now: number): { blocked: Blocked | undefined; lockedNow: boolean } {
    let state = this.#fresh(key, now);
    if (!state) {
      state = { failures: 0, lastFailure: now, blockedUntil: 0 };
      this.#keys.set(key, state);
      this.#evict();
    } else {
      // Re-inserted, so the map's order is the order of last failure (oldest evicted first).
      this.#keys.delete(key);
      this.#keys.set(key, state);
    }
    const wasLocked = state.failures > this.#free && this.delayAfter(state.failures) >= this.#lockMs;
    state.failures += 1;
    state.lastFailure = now;
    const delay = this.delayAfter(state.failures);
    if (delay === 0) return { blocked: undefined, lockedNow: false };
    state.blockedUntil = now + delay;
    const locked = delay >= this.#lockMs;
    return { blocked: { untilMs: state.blockedUntil, locked }, lockedNow: locked && !wasLocked };
  }

  /** Whether `key` has failures remembered at `now` (blocked or not). */
  has(key: string, now: number): boolean {
    return this.#fresh(key, now) !== undefined;
  }

  /** Forgets `key` (a successful login). */
  clear(key: string): void {
    this.#keys.delete(key);
  }

  /** The back-off after `failures` failures, ms: 0 within the free ones, then doubling to the lock. */
  delayAfter(failures: number): number {
    const over = failures - this.#free;
    if (over <= 0) return 0;
    // 2^(over − 1), without overflowing for a key that failed a million times.
    return Math.min(this.#lockMs, this.#baseDelayMs * 2 ** Math.min(over - 1, 40));
  }

  /** Keys held back at `now`. */
  countBlocked(now: number): number {
    let n = 0;
    for (const state of this.#keys.values()) if (state.blockedUntil > now) n++;
    return n;
  }

  /** Keys remembered (blocked or counting). */
  get size(): number {
    return this.#keys.size;
  }

  #fresh(key: string, now: number): KeyState | undefined {
    const state = this.#keys.get(key);
    if (state && now - state.lastFailure >= this.#forgetMs && state.blockedUntil <= now) {
      this.#keys.delete(key);
      return undefined;
    }
    return state;
  }

  #evict(): void {
    while (this.#keys.size > this.#maxKeys) {
      const oldest = this.#keys.keys().next();
      if (oldest.done) return;
      this.#keys.delete(oldest.value);
    }
  }
}

/** The verification queue is full: the login is refused as busy, not queued. */
export class VerificationBusyError extends Error {
  constructor(queued: number) {
    super(`${queued} secret verifications are already waiting`);
    this.name = 'VerificationBusyError';
  }
}

/** Outcome of {@link LoginGuard.admit}. */
export type Admission =
  | {
      readonly ok: true;
      /**
       * Runs this login's secret verification within the bound (see {@link LoginGuard.verify}),
       * with this login's priority and in-flight slots; call it at most once.
       */
      readonly schedule: <T>(task: () => Promise<T>) => Promise<T>;
    }
  | {
      readonly ok: false;
      readonly by: ThrottledBy;
      readonly key: string;
      /** The back-off the key is in; absent when the key only has a verification in flight. */
      readonly blocked: Blocked | undefined;
    };

/** Counters of a {@link LoginGuard}, for Prometheus. */
export interface LoginGuardCounters {
  /** Logins refused at once, by the throttle that held them. */
  readonly throttled: Record<ThrottledBy, number>;
  /** Times a key reached the lock. */
  readonly locks: Record<ThrottledBy, number>;
  /** Failed logins counted (unknown user, wrong or missing password). */
  readonly failures: number;
  /** Verifications run (scrypt), and refused because the queue was full. */
  readonly verifications: number;
  readonly busy: number;
}

/** Throttles per user name and address, known addresses per user, and the verification bound. */
export class LoginGuard {
  readonly #users: LoginThrottle;
  readonly #addresses: LoginThrottle;
  /** Failures per known (user name, address) pair, keyed `user\0address`. */
  readonly #pairs: LoginThrottle;
  /** Addresses each user name logged in from, newest last; at most {@link KNOWN_PER_USER}. */
  readonly #known = new Map<string, string[]>();
  readonly #maxKeys: number;
  readonly #queue: PQueue;
  readonly #maxQueued: number;
  readonly #maxInFlight: Record<ThrottledBy, number>;
  /** Verifications waiting or running, per user name and per address. */
  readonly #inFlight: Record<ThrottledBy, Map<string, number>> = { user: new Map(), address: new Map() };
  readonly #now: () => number;
  readonly #counters = {
    throttled: { user: 0, address: 0 },
    locks: { user: 0, address: 0 },
    failures: 0,
    verifications: 0,
    busy: 0,
  };

  constructor(options: LoginGuardOptions = {}) {
    const d = LOGIN_GUARD_DEFAULTS;
    const common = {
      baseDelayMs: options.baseDelayMs ?? d.baseDelayMs,
      lockMs: options.lockMs ?? d.lockMs,
      forgetMs: options.forgetMs ?? d.forgetMs,
      maxKeys: options.maxKeys ?? d.maxKeys,
    };
    this.#users = new LoginThrottle({ ...common, free: options.free?.user ?? d.free.user });
    this.#addresses = new LoginThrottle({ ...common, free: options.free?.address ?? d.free.address });
    this.#pairs = new LoginThrottle({ ...common, free: options.free?.user ?? d.free.user });
    this.#maxKeys = common.maxKeys;
    this.#queue = new PQueue({ concurrency: options.maxConcurrent ?? d.maxConcurrent });
    this.#maxQueued = options.maxQueued ?? d.maxQueued;
    this.#maxInFlight = {
      user: options.maxInFlight?.user ?? d.maxInFlight.user,
      address: options.maxInFlight?.address ?? d.maxInFlight.address,
    };
    this.#now = options.now ?? Date.now;
  }

  /**
   * Whether a login of `user` from `address` may be tried now. The address is checked first; the
   * user name only when this user never logged in from this address.
   */
  admit(user: string | undefined, address: string): Admission {
    const now = this.#now();
    if (user !== undefined && this.#isKnown(user, address)) {
      const byPair = this.#pairs.blocked(pairKey(user, address), now);
      if (byPair) return this.#throttled('user', user, byPair);
      return { ok: true, schedule: (task) => this.#schedule(task, 1, undefined, undefined) };
    }
    const byAddress = this.#addresses.blocked(address, now);
    if (byAddress) return this.#throttled('address', address, byAddress);
    if ((this.#inFlight.address.get(address) ?? 0) >= this.#maxInFlight.address) {
      return this.#throttled('address', address, undefined);
    }
    const heldUser = user !== undefined && user !== '' ? user : undefined;
    if (heldUser !== undefined) {
      const byUser = this.#users.blocked(heldUser, now);
      if (byUser) return this.#throttled('user', heldUser, byUser);
      if ((this.#inFlight.user.get(heldUser) ?? 0) >= this.#maxInFlight.user) {
        return this.#throttled('user', heldUser, undefined);
      }
    }
    const clean =
      !this.#addresses.has(address, now) && (heldUser === undefined || !this.#users.has(heldUser, now));
    return {
      ok: true,
      schedule: (task) => this.#schedule(task, clean ? 1 : 0, heldUser, address),
    };
  }

  /** A login of `user` from `address` failed: unknown user, wrong or missing password. */
  failed(user: string | undefined, address: string): void {
    const now = this.#now();
    this.#counters.failures++;
    if (this.#addresses.fail(address, now).lockedNow) this.#counters.locks.address++;
    if (user === undefined || user === '') return;
    // A known pair counts against itself; any other login against the user name.
    const counted = this.#isKnown(user, address)
      ? this.#pairs.fail(pairKey(user, address), now)
      : this.#users.fail(user, now);
    if (counted.lockedNow) this.#counters.locks.user++;
  }

  /** `user` logged in from `address`: its failures are forgotten and the address is known. */
  succeeded(user: string, address: string): void {
    this.#users.clear(user);
    this.#pairs.clear(pairKey(user, address));
    const addresses = this.#known.get(user) ?? [];
    this.#known.delete(user);
    this.#known.set(user, [...addresses.filter((a) => a !== address), address].slice(-KNOWN_PER_USER));
    while (this.#known.size > this.#maxKeys) {
      const oldest = this.#known.keys().next();
      if (oldest.done) break;
      this.#known.delete(oldest.value);
    }
  }

  /**
   * Runs a secret verification within the bound, at the lower priority and holding no in-flight
   * slot: at most `maxConcurrent` at once, `maxQueued` waiting; rejects with
   * {@link VerificationBusyError} when the queue is full. Logins go through
   * {@link Admission}'s `schedule` instead.
   */
  verify<T>(task: () => Promise<T>): Promise<T> {
    return this.#schedule(task, 0, undefined, undefined);
  }

  /** Verifications running now, and waiting. */
  get verifying(): { readonly active: number; readonly queued: number } {
    return { active: this.#queue.pending, queued: this.#queue.size };
  }

  async #schedule<T>(
    task: () => Promise<T>,
    priority: number,
    user: string | undefined,
    address: string | undefined,
  ): Promise<T> {
    if (this.#queue.size >= this.#maxQueued) {
      this.#counters.busy++;
      throw new VerificationBusyError(this.#queue.size);
    }
    this.#counters.verifications++;
    const slots: Array<[Map<string, number>, string]> = [];
    if (user !== undefined) slots.push([this.#inFlight.user, user]);
    if (address !== undefined) slots.push([this.#inFlight.address, address]);
    for (const [map, key] of slots) map.set(key, (map.get(key) ?? 0) + 1);
    try {
      return (await this.#queue.add(task, { priority })) as T;
    } finally {
      for (const [map, key] of slots) {
        const left = (map.get(key) ?? 1) - 1;
        if (left > 0) map.set(key, left);
        else map.delete(key);
      }
    }
  }

  /** Keys held back now, per throttle. */
  blockedKeys(): Record<ThrottledBy, number> {
    const now = this.#now();
    return { user: this.#users.countBlocked(now), address: this.#addresses.countBlocked(now) };
  }

  get counters(): LoginGuardCounters {
    const c = this.#counters;
    return { ...c, throttled: { ...c.throttled }, locks: { ...c.locks } };
  }

  #isKnown(user: string, address: string): boolean {
    return this.#known.get(user)?.includes(address) === true;
  }

  #throttled(by: ThrottledBy, key: string, blocked: Blocked | undefined): Admission {
    this.#counters.throttled[by]++;
    return { ok: false, by, key, blocked };
  }
}

function pairKey(user: string, address: string): string {
  return `${user}\0${address}`;
}

/** Addresses remembered per user name (a device moving between a few networks). */
const KNOWN_PER_USER = 4;

/**
 * The throttling key of a client address: IPv4 as it is (also when written IPv4-mapped,
 * `::ffff:192.0.2.1`), IPv6 by its /64 network, since one host commonly holds a whole /64.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
