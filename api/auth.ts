/**
 * Who is calling: an API token (`Authorization: Bearer <token>`, api/tokens.ts) or a signed-in
 * user's session cookie (api/sessions.ts, api/users.ts). The same for every REST route and the
 * live feed's socket.io handshake (a token in `handshake.auth.token`, or the cookie).
 *
 * A bearer header, when present, decides alone: a bad token is refused even with a good cookie.
 * A session is valid while it is signed, unexpired and not signed out, and while its user exists
 * as it was when it signed in (removed or made again: the session ends); its role and department
 * are the user's now.
 */
import { ApiError } from './errors.ts';
import type { Session, SessionManager } from './sessions.ts';
import type { Principal, TokenStore } from './tokens.ts';
import type { UserStore } from './users.ts';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** A caller and, when they came with a session cookie, the session. */
export interface Caller {
  readonly principal: Principal;
  readonly session?: Session;
}

export interface AuthenticatorOptions {
  readonly tokens: TokenStore;
  readonly users?: UserStore;
  readonly sessions?: SessionManager;
}

export class Authenticator {
  readonly #options: AuthenticatorOptions;

  constructor(options: AuthenticatorOptions) {
    this.#options = options;
  }

  /** The caller of a bearer header or a session cookie value; throws a 401 {@link ApiError}. */
  async authenticate(authorization: string | undefined, cookie: string | undefined): Promise<Caller> {
    if (authorization !== undefined) return { principal: this.token(authorization) };
    if (cookie !== undefined && cookie !== '') {
      const caller = await this.session(cookie);
      if (caller) return caller;
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        'the session has expired or was signed out; sign in again 会话已过期，请重新登录',
      );
    }
    throw new ApiError(
      401,
      'UNAUTHORIZED',
      'a token is needed: send the header Authorization: Bearer <token>, or sign in (POST /api/v1/session)',
    );
  }

  /** The caller of a bearer header (`Bearer <token>`) or a bare token. */
  token(header: string, bare = false): Principal {
    const token = bare ? header : BEARER.exec(header)?.[1];
    if (token === undefined)
      throw new ApiError(401, 'UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"');
    const principal = this.#options.tokens.verify(token);
    if (!principal) throw new ApiError(401, 'UNAUTHORIZED', 'unknown or revoked token');
    return principal;
  }

  /** The caller of a session cookie value, or undefined when it is not a valid session. */
  async session(cookie: string): Promise<Caller | undefined> {
    const { sessions, users } = this.#options;
    if (!sessions || !users) return undefined;
    const session = sessions.verify(cookie);
    if (!session) return undefined;
    const user = await users.get(session.username);
    if (!user || user.createdAt !== session.userCreatedAt) return undefined;
    return {
      principal: {
        tokenId: `user:${user.username}`,
        name: user.username,
        role: user.role,
        ...(user.department === undefined ? {} : { department: user.department }),
      },
      session,
    };
  }
}
