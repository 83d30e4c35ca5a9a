/**
 * Browser sessions of signed-in users: an httpOnly, SameSite=Strict cookie `sfp_session` holding a
 * session id, the user name, when the user was made and when the session expires, signed with
 * HMAC-SHA256 under the session key (`FACILITY_SESSION_SECRET`, or generated into
 * `{data}/secrets.json`). Signed rather than kept in a table, so that every api process that has
 * the key (several behind a load balancer) accepts it and a restart keeps it.
 *
 * CSRF: the synchroniser-token pattern (OWASP CSRF Prevention Cheat Sheet). The session's
 * `csrfToken` = HMAC(key, "csrf" ‖ session id), handed out at sign-in and by `GET /api/v1/session`;
 * a state-changing request made with the cookie must carry it in `x-csrf-token`. A page of another
 * site can neither read it nor, with SameSite=Strict, send the cookie at all.
 *
 * A session ends at its expiry, at sign-out (the id is revoked in this process and the cookie
 * cleared), and when its user is removed or made again (the user's `createdAt` is in the cookie).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'sfp_session';
export const CSRF_HEADER = 'x-csrf-token';
/** Default session length: a working day and then some. */
export const DEFAULT_SESSION_MS = 12 * 3_600_000;

/** What a valid session cookie says. */
export interface Session {
  readonly id: string;
  readonly username: string;
  /** The user's `createdAt` when the session began. */
  readonly userCreatedAt: string;
  readonly expiresAt: number;
  readonly csrfToken: string;
}

export interface SessionOptions {
  /** At least 32 bytes of key material. */
  readonly key: Buffer;
  readonly ttlMs?: number;
  readonly now?: () => number;
}

export class SessionManager {
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Revoked session ids and when they would have expired. */
  readonly #revoked = new Map<string, number>();

  constructor(options: SessionOptions) {
    if (options.key.length < 32) throw new RangeError('the session key must be at least 32 bytes');
    this.#key = options.key;
    this.#ttlMs = options.ttlMs ?? DEFAULT_SESSION_MS;
    this.#now = options.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** A new session for a user; `cookie` is the cookie's value. */
  create(username: string, userCreatedAt: string): { session: Session; cookie: string } {
    const id = randomBytes(18).toString('base64url');
    const expiresAt = this.#now() + this.#ttlMs;
    const payload = Buffer.from(
      JSON.stringify({ s: id, u: username, c: userCreatedAt, e: expiresAt }),
    ).toString('base64url');
    return {
      session: { id, username, userCreatedAt, expiresAt, csrfToken: this.#csrf(id) },
      cookie: `${payload}.${this.#sign(payload)}`,
    };
  }

  /** The session a cookie holds, or undefined when it is forged, expired or revoked. */
  verify(cookie: string | undefined): Session | undefined {
    if (cookie === undefined || cookie.length > 1024) return undefined;
    const dot = cookie.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = cookie.slice(0, dot);
    const presented = Buffer.from(cookie.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.#sign(payload), 'base64url');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined;
    let parsed: { s?: unknown; u?: unknown; c?: unknown; e?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      return undefined;
    }
    const { s, u, c, e } = parsed;
    if (typeof s !== 'string' || typeof u !== 'string' || typeof c !== 'string' || typeof e !== 'number')
      return undefined;
    const now = this.#now();
    if (e <= now || this.#revoked.has(s)) return undefined;
    return { id: s, username: u, userCreatedAt: c, expiresAt: e, csrfToken: this.#csrf(s) };
  }

  /** Ends a session in this process (until it would have expired anyway). */
  revoke(session: Session): void {
    const now = this.#now();
    for (const [id, expiresAt] of this.#revoked) if (expiresAt <= now) this.#revoked.delete(id);
    this.#revoked.set(session.id, session.expiresAt);
  }

  /** Whether `presented` is the session's CSRF token (constant time). */
  checkCsrf(session: Session, presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(`session\u0000${payload}`).digest('base64url');
  }

  #csrf(id: string): string {
    return createHmac('sha256', this.#key).update(`csrf\u0000${id}`).digest('base64url');
  }
}
