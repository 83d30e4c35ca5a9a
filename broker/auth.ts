/**
 * Who may connect to the broker, and what each client may publish and subscribe to.
 *
 * Pure functions over plain data (the facility, the service credentials, a topic); `broker.ts`
 * plugs them into aedes' `authenticate`, `authorizePublish` and `authorizeSubscribe` handlers.
 * Only {@link authenticate} is async, because verifying a `secretHash` runs scrypt; the ACL
 * functions do no I/O and run on every PUBLISH, so they answer synchronously.
 *
 * Two kinds of principal:
 * * a **device** (meter, vehicle, sensor of the facility file) logs in with its id as user name
 *   and its secret as password, and must use its id as MQTT client id;
 * * a **service** (ingest, api, …) logs in with a credential from the runtime config.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Facility } from '../core/facility/schema.ts';
import { verifySecret } from '../core/facility/secret-hash.ts';
import { type DeviceKind, deviceTopicPrefix, parseTopic, TOPIC_ROOT } from '../core/telemetry.ts';
import { VerificationBusyError } from './login-guard.ts';

export type { DeviceKind } from '../core/telemetry.ts';

/** A device of the facility file, as authenticated. */
export interface DevicePrincipal {
  readonly kind: DeviceKind;
  readonly id: string;
  readonly site: string;
}

/** A platform service (ingest, api, simulators' supervisor…), as authenticated. */
export interface ServicePrincipal {
  /** The service's name, e.g. `ingest` or `api`; used in logs. */
  readonly service: string;
}

/** Whoever a connection authenticated as. */
export type Principal = DevicePrincipal | ServicePrincipal;

/** A service credential from the runtime config. */
export interface ServiceCredential {
  /** The service's name, e.g. `ingest`. */
  readonly service: string;
  /** MQTT user name; must not be a device id. */
  readonly username: string;
  /** MQTT password (UTF-8). */
  readonly password: string;
}

/**
 * CONNACK return codes the broker refuses with (MQTT 3.1.1 §3.2.2.3, Table 3.1). A non-zero code
 * is followed by closing the connection [MQTT-3.2.2-5], with Session Present 0 [MQTT-3.2.2-4].
 */
export const CONNACK = {
  /** The client id is not the one this user may use [MQTT-3.1.3-9]. */
  IDENTIFIER_REJECTED: 2,
  /** The broker cannot take the connection now (connection limit, internal failure). */
  SERVER_UNAVAILABLE: 3,
  /** Unknown user, wrong or missing password. Deliberately not told apart, so ids can't be probed. */
  BAD_USERNAME_OR_PASSWORD: 4,
  /** Authenticated, but not allowed what the CONNECT asks for (e.g. a Will on a foreign topic). */
  NOT_AUTHORIZED: 5,
} as const;

/** A CONNACK return code the broker refuses with. */
export type RefusalCode = (typeof CONNACK)[keyof typeof CONNACK];

/** Why a login was refused; counted and logged, never told to the client beyond its code. */
export type LoginRefusal = 'no-credentials' | 'unknown-user' | 'bad-password' | 'client-id';

/** Refusals that count as a failed guess (the throttles of login-guard.ts count them). */
export const GUESSES: ReadonlySet<LoginRefusal> = new Set(['no-credentials', 'unknown-user', 'bad-password']);

/** Outcome of {@link authenticate}. */
export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly returnCode: RefusalCode; readonly reason: LoginRefusal };

/** Whether a principal is a device. */
export function isDevice(principal: Principal): principal is DevicePrincipal {
  return 'kind' in principal;
}

interface DeviceEntry {
  readonly principal: DevicePrincipal;
  readonly secret: string | undefined;
  readonly secretHash: string | undefined;
}

const deviceIndexes = new WeakMap<Facility, ReadonlyMap<string, DeviceEntry>>();

/** Devices by id (ids are one namespace across kinds: checks.ts enforces it). Built once per facility. */
function deviceIndex(facility: Facility): ReadonlyMap<string, DeviceEntry> {
  let index = deviceIndexes.get(facility);
  if (index) return index;
  const site = facility.site.id;
  const built = new Map<string, DeviceEntry>();
  const add = (
    kind: DeviceKind,
    devices: ReadonlyArray<{ id: string; secret?: string; secretHash?: string }>,
  ) => {
    for (const device of devices) {
      built.set(device.id, {
        principal: { kind, id: device.id, site },
        secret: device.secret,
        secretHash: device.secretHash,
      });
    }
  };
  add('meter', facility.meters);
  add('vehicle', facility.vehicles);
  add('sensor', facility.sensors);
  index = built;
  deviceIndexes.set(facility, index);
  return index;
}

/**
 * Compares two strings in time independent of where they differ and of their lengths (both
 * sides are hashed to 32 bytes first, since `timingSafeEqual` needs equal lengths).
 */
function constantTimeEqual(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Options of {@link SecretCache}. */
export interface SecretCacheOptions {
  /** How long a verified (or refused) password is remembered; default 60 s. */
  readonly ttlMs?: number;
  /** Most entries kept; the oldest go first. Default 10,000. */
  readonly maxEntries?: number;
  /** Clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
  /**
   * Runs each verification (scrypt); the broker bounds how many run at once with it
   * (login-guard.ts). It may reject with {@link VerificationBusyError}: that login is refused as
   * busy, and nothing is remembered of it. Default: run at once.
   */
  readonly schedule?: <T>(task: () => Promise<T>) => Promise<T>;
}

/**
 * Remembers the outcome of scrypt verifications for a short while, so that a reconnect storm
 * (a whole floor of meters coming back after a switch restart, or one device retrying with a
 * wrong secret every second) costs one scrypt per device and password, not one per attempt.
 * Concurrent attempts with the same password share one verification.
 *
 * Entries are keyed by an HMAC (with a random per-cache key) of the device id, its `secretHash`
 * and the password: the password itself is never kept, and a changed `secretHash` misses.
 */
export class SecretCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #schedule: <T>(task: () => Promise<T>) => Promise<T>;
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, { readonly verdict: Promise<boolean>; readonly expires: number }>();

  constructor(options: SecretCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#schedule = options.schedule ?? ((task) => task());
  }

  /**
   * Whether `password` matches `secretHash` (see `verifySecret`), from the cache when fresh.
   * `schedule` runs the verification in place of the cache's own (a login's priority and slots).
   */
  verify(
    id: string,
    password: string,
    secretHash: string,
    schedule: <T>(task: () => Promise<T>) => Promise<T> = this.#schedule,
  ): Promise<boolean> {
    const key = createHmac('sha256', this.#key)
      .update(id)
      .update('\0')
      .update(secretHash)
      .update('\0')
      .update(password)
      .digest('base64');
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && entry.expires > now) return entry.verdict;
    if (entry) this.#entries.delete(key);
    const verdict = schedule(() => verifySecret(password, secretHash)).catch((error: unknown) => {
      if (!(error instanceof VerificationBusyError)) return false;
      // Not verified at all: forget it, so the next try verifies.
      if (this.#entries.get(key)?.verdict === verdict) this.#entries.delete(key);
      throw error;
    });
    this.#entries.set(key, { verdict, expires: now + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    return verdict;
  }

  /** Number of entries held (fresh or not yet evicted). */
  get size(): number {
    return this.#entries.size;
  }
}

/** Options of {@link authenticate}. */
export interface AuthenticateOptions {
  /**
   * The MQTT client id of the CONNECT. A device must use its own id; a service may use any id
   * that is not a device id. Both rules keep one principal from taking over another's session,
   * which MQTT keys by client id [MQTT-3.1.4-2]. Not checked when absent.
   */
  readonly clientId?: string;
  /** Cache for `secretHash` verifications; without it every login runs scrypt. */
  readonly cache?: SecretCache;
  /** Runs this login's verification (the broker's bound, login-guard.ts); default at once. */
  readonly schedule?: <T>(task: () => Promise<T>) => Promise<T>;
}

/**
 * Authenticates a CONNECT's user name and password against the facility's devices and the
 * service credentials.
 *
 * Refusals: missing credentials, an unknown user name and a wrong password all answer
 * {@link CONNACK}.BAD_USERNAME_OR_PASSWORD (4), so that a client cannot learn which device ids
 * exist; a client id that does not belong to the principal answers IDENTIFIER_REJECTED (2),
 * and only once the password is right.
 */
export async function authenticate(
  facility: Facility,
  services: readonly ServiceCredential[],
  username: string | undefined,
  password: Buffer | string | undefined,
  options: AuthenticateOptions = {},
): Promise<AuthResult> {
  if (!username || password === undefined) return refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'no-credentials');
  const text = typeof password === 'string' ? password : password.toString('utf8');
  const devices = deviceIndex(facility);
  const { clientId } = options;

  const service = services.find((candidate) => candidate.username === username);
  if (service) {
    if (!constantTimeEqual(text, service.password)) {
      return refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad-password');
    }
    if (clientId !== undefined && devices.has(clientId)) {
      return refuse(CONNACK.IDENTIFIER_REJECTED, 'client-id');
    }
    return { ok: true, principal: { service: service.service } };
  }

  const device = devices.get(username);
  if (!device) return refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'unknown-user');
  let verified: boolean;
  if (device.secret !== undefined) {
    verified = constantTimeEqual(text, device.secret);
  } else if (device.secretHash !== undefined) {
    const hash = device.secretHash;
    verified = options.cache
      ? await options.cache.verify(device.principal.id, text, hash, options.schedule)
      : await (options.schedule ?? ((task) => task()))(() => verifySecret(text, hash)).catch(
          (error: unknown) => {
            if (error instanceof VerificationBusyError) throw error;
            return false;
          },
        );
  } else {
    verified = false;
  }
  if (!verified) return refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad-password');
  if (clientId !== undefined && clientId !== device.principal.id) {
    return refuse(CONNACK.IDENTIFIER_REJECTED, 'client-id');
  }
  return { ok: true, principal: device.principal };
}

function refuse(returnCode: RefusalCode, reason: LoginRefusal): AuthResult {
  return { ok: false, returnCode, reason };
}

/**
 * Whether `principal` may publish to `topic`.
 *
 * * Nobody publishes to a `$` topic: they are the broker's own (MQTT 3.1.1 §4.7.2).
 * * A device publishes only its own data channel and its `status`:
 *   `fac/{site}/{kind}/{id}/{reading|gps|state|status}`.
 * * A service publishes anywhere under `fac/`.
 *
 * Topic names with wildcards are refused [MQTT-3.3.2-2].
 */
export function authorizePublish(principal: Principal, topic: string): boolean {
  if (topic.length === 0 || topic.startsWith('$') || topic.includes('+') || topic.includes('#')) return false;
  if (!isDevice(principal)) return topic.startsWith(`${TOPIC_ROOT}/`);
  const parsed = parseTopic(topic);
  return (
    parsed.ok &&
    parsed.site === principal.site &&
    parsed.kind === principal.kind &&
    parsed.id === principal.id
  );
}

/**
 * Whether `principal` may subscribe to the topic filter `filter`.
 *
 * * A device may subscribe only to filters whose every match is one of its own topics, i.e.
 *   `fac/{site}/{kind}/{id}` followed by anything (`/cmd/#`, `/#`, …). Wildcards in the first
 *   four levels would reach other devices, and `$SYS` is the broker's.
 * * A service may subscribe to filters under `fac/` (including `fac/#`), the shared form
 *   `$share/{group}/fac/…` (MQTT 5 §4.8.2), and `$SYS/…`.
 *
 * A malformed filter (MQTT 3.1.1 §4.7.1) is refused.
 */
export function authorizeSubscribe(principal: Principal, filter: string): boolean {
  if (!isValidFilter(filter)) return false;
  if (isDevice(principal)) {
    const prefix = deviceTopicPrefix(principal.site, principal.kind, principal.id);
    // The prefix is literal (ids cannot hold wildcards), so whatever follows it matches only
    // this device's topics; `…/{id}/#` also matches `…/{id}` itself (MQTT 3.1.1 §4.7.1.2).
    return filter.startsWith(prefix) || filter === prefix.slice(0, -1);
  }
  if (filter.startsWith('$SYS/') || filter === '$SYS') return true;
  const shared = /^\$share\/([^/+#]+)\/(.+)$/.exec(filter);
  const target = shared ? (shared[2] ?? '') : filter;
  return target === TOPIC_ROOT || target.startsWith(`${TOPIC_ROOT}/`);
}

/**
 * Topic filter syntax of MQTT 3.1.1 §4.7: at least one character [MQTT-4.7.3-1], `#` only as a
 * whole last level [MQTT-4.7.1-2], `+` only as a whole level [MQTT-4.7.1-3], no NUL
 * [MQTT-4.7.3-2].
 */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}
