/**
 * Password sign-in for the live page: `POST /api/v1/session` sets the session cookie and answers
 * the CSRF token, `GET` answers the session again (a reloaded page), `DELETE` signs out.
 * Sign-ins are guarded as MQTT logins are (core/login-guard.ts): after 5 failures of a user name
 * (20 of an address) each further failure blocks it for a growing back-off, up to a minute; the
 * scrypt checks are bounded so that guessing cannot starve the API.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { addressKey, type LoginGuard, VerificationBusyError } from '../../core/login-guard.ts';
import { SessionBody, SessionSchema } from '../alert-schemas.ts';
import type { Authenticator } from '../auth.ts';
import { ApiError, forbidden } from '../errors.ts';
import { formatInstant } from '../period.ts';
import type { RouteContext } from '../reply.ts';
import { errorResponses } from '../schemas.ts';
import { CSRF_HEADER, SESSION_COOKIE, type Session, type SessionManager } from '../sessions.ts';
import type { User, UserStore } from '../users.ts';

export interface SessionRouteOptions extends RouteContext {
  readonly users: UserStore;
  readonly sessions?: SessionManager;
  readonly authenticator: Authenticator;
  readonly guard: LoginGuard;
  readonly secureCookies?: boolean;
}

export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRouteOptions> = async (
  app,
  { facility, users, sessions, authenticator, guard, secureCookies },
) => {
  const zone = facility.site.timezone;
  const manager = (): SessionManager => {
    if (!sessions)
      throw new ApiError(503, 'NO_SESSIONS', 'sign-in is not set up in this process; use an API token');
    return sessions;
  };
  const cookieOptions = (request: FastifyRequest) => ({
    httpOnly: true,
    sameSite: 'strict' as const,
    path: '/',
    secure: secureCookies ?? request.protocol === 'https',
  });
  const body = (user: Pick<User, 'username' | 'role' | 'department'>, session: Session) => ({
    user: { username: user.username, role: user.role, department: user.department ?? null },
    csrfToken: session.csrfToken,
    expiresAt: formatInstant(session.expiresAt, zone),
  });
  const current = async (request: FastifyRequest) => {
    const cookie = request.cookies[SESSION_COOKIE];
    return cookie ? authenticator.session(cookie) : undefined;
  };

  app.post(
    '/api/v1/session',
    {
      config: { access: 'open' },
      schema: {
        tags: ['session'],
        summary: 'Sign in with a user name and password 登录',
        description:
          'Sets the httpOnly, SameSite=Strict cookie `sfp_session` and answers the user, the `csrfToken` to send ' +
          'as `x-csrf-token` with every change, and when the session ends. 401 for a wrong user name or ' +
          'password (the same answer for both); 429 while the user name or the address is held back after ' +
          'repeated failures.',
        security: [],
        body: SessionBody,
        response: { 200: SessionSchema, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request, reply) => {
      const sessionManager = manager();
      const { username, password } = request.body;
      const address = addressKey(request.ip);
      const admission = guard.admit(username, address);
      if (!admission.ok) {
        const wait = admission.blocked
          ? Math.max(1, Math.ceil((admission.blocked.untilMs - Date.now()) / 1000))
          : 1;
        void reply.header('retry-after', String(wait));
        throw new ApiError(
          429,
          'RATE_LIMITED',
          `too many failed sign-ins from this ${admission.by === 'user' ? 'user name' : 'address'}; try again in ${wait} s 登录失败次数过多，请 ${wait} 秒后再试`,
        );
      }
      let user: User | undefined;
      try {
        user = await admission.schedule(() => users.verify(username, password));
      } catch (error) {
        if (!(error instanceof VerificationBusyError)) throw error;
        void reply.header('retry-after', '1');
        throw new ApiError(
          429,
          'RATE_LIMITED',
          'too many sign-ins at once; try again in a second 登录繁忙，请稍后再试',
        );
      }
      if (!user) {
        guard.failed(username, address);
        request.log.warn({ username, address }, 'sign-in failed');
        throw new ApiError(401, 'UNAUTHORIZED', 'wrong user name or password 用户名或密码错误');
      }
      guard.succeeded(username, address);
      const { session, cookie } = sessionManager.create(user.username, user.createdAt);
      void reply
        .setCookie(SESSION_COOKIE, cookie, {
          ...cookieOptions(request),
          expires: new Date(session.expiresAt),
        })
        .header('cache-control', 'no-store');
      request.log.info({ username: user.username, role: user.role }, 'signed in');
      return body(user, session);
    },
  );

  app.get(
    '/api/v1/session',
    {
      config: { access: 'open' },
      schema: {
        tags: ['session'],
        summary: 'The current session (from its cookie), or whose bearer token this is',
        description:
          "With `Authorization: Bearer`, the token's holder (name, role, department), so a page opened with a " +
          'token offers what the token may do; a bad token is a 401. Otherwise the session of the cookie: 401 ' +
          'when there is none (never signed in, expired, signed out).',
        security: [{ sessionCookie: [] }, { bearerAuth: [] }],
        response: { 200: SessionSchema, ...errorResponses(401, 429, 503) },
      },
    },
    async (request, reply) => {
      const authorization = request.headers.authorization;
      if (authorization !== undefined) {
        const principal = authenticator.token(authorization);
        void reply.header('cache-control', 'no-store');
        return {
          user: { username: principal.name, role: principal.role, department: principal.department ?? null },
        };
      }
      manager();
      const caller = await current(request);
      if (!caller?.session) throw new ApiError(401, 'UNAUTHORIZED', 'not signed in 未登录');
      void reply.header('cache-control', 'no-store');
      return body(
        {
          username: caller.principal.name,
          role: caller.principal.role,
          ...(caller.principal.department === undefined ? {} : { department: caller.principal.department }),
        },
        caller.session,
      );
    },
  );

  app.delete(
    '/api/v1/session',
    {
      config: { access: 'open' },
      schema: {
        tags: ['session'],
        summary: 'Sign out 退出登录',
        description:
          'Ends the session and clears its cookie; needs `x-csrf-token`. 204 also without a session.',
        security: [{ sessionCookie: [] }],
        response: { 204: { type: 'null', description: 'Signed out.' }, ...errorResponses(403, 429) },
      },
    },
    async (request, reply: FastifyReply) => {
      const caller = await current(request);
      if (caller?.session && sessions) {
        const header = request.headers[CSRF_HEADER];
        if (!sessions.checkCsrf(caller.session, typeof header === 'string' ? header : undefined)) {
          throw forbidden(`signing out needs the session's csrfToken in the ${CSRF_HEADER} header`);
        }
        sessions.revoke(caller.session);
        request.log.info({ username: caller.principal.name }, 'signed out');
      }
      void reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
      return reply.status(204).send();
    },
  );
};
