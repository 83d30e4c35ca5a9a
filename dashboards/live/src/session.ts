/**
 * Who uses the page, and how they proved it: an operator's session (user name and password; an
 * httpOnly cookie the page never sees, and a CSRF token held in memory only), or an API token for
 * kiosks and wall screens (`/#token=…` or the sign-in form; kept in sessionStorage, so it lives
 * as long as the tab and never reaches a URL the browser keeps).
 */
import { reactive } from 'vue';
import { ApiError, type Credentials, request, setCredentials, setUnauthorizedHandler } from './api/client.ts';
import type { SessionAnswer, User } from './api/types.ts';

const TOKEN_KEY = 'sfp.live.token';

/** Why the sign-in form is shown; an i18n key under `signIn.reason`. */
export type SignOutReason = 'expired' | 'revoked' | 'signedOut' | null;

export interface SessionState {
  status: 'checking' | 'signedOut' | 'signedIn';
  user: User | null;
  mode: 'token' | 'session' | null;
  expiresAt: string | null;
  reason: SignOutReason;
}

export const session: SessionState = reactive({
  status: 'checking',
  user: null,
  mode: null,
  expiresAt: null,
  reason: null,
});

let expiryTimer: ReturnType<typeof setTimeout> | undefined;

/** Whether the user may change alerts (acknowledge, comment): operators and admins. */
export function canAct(user: User | null): boolean {
  return user !== null && (user.role === 'operator' || user.role === 'admin');
}

/**
 * At start: a token in the address (`#token=…`, then removed from it), else one kept in this tab,
 * else the session cookie, else the sign-in form.
 */
export async function restoreSession(): Promise<void> {
  setUnauthorizedHandler(() => expire(session.mode === 'token' ? 'revoked' : 'expired'));
  const fromHash = /^#token=([^&]+)/.exec(window.location.hash)?.[1];
  if (fromHash !== undefined) {
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/overview`);
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(fromHash));
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token !== null) {
    try {
      await signInWithToken(token);
      return;
    } catch {
      sessionStorage.removeItem(TOKEN_KEY);
      signedOut('revoked');
      return;
    }
  }
  try {
    const answer = await request<SessionAnswer>('GET', '/api/v1/session', { credentials: null });
    signedIn('session', answer.user, { kind: 'session', csrfToken: answer.csrfToken }, answer.expiresAt);
  } catch {
    signedOut(null);
  }
}

/** Signs in with a user name and password; throws the api's error (401: wrong name or password). */
export async function signInWithPassword(username: string, password: string): Promise<void> {
  const answer = await request<SessionAnswer>('POST', '/api/v1/session', {
    body: { username, password },
    credentials: null,
  });
  sessionStorage.removeItem(TOKEN_KEY);
  signedIn('session', answer.user, { kind: 'session', csrfToken: answer.csrfToken }, answer.expiresAt);
}

/** Signs in with an API token: the api says whose it is; throws its error (401: unknown or revoked). */
export async function signInWithToken(token: string): Promise<void> {
  const credentials: Credentials = { kind: 'token', token };
  const user = await whoseToken(credentials);
  sessionStorage.setItem(TOKEN_KEY, token);
  signedIn('token', user, credentials, null);
}

/** Ends the session (the api forgets it) or forgets the token; shows the sign-in form. */
export async function signOut(): Promise<void> {
  if (session.mode === 'session') {
    try {
      await request('DELETE', '/api/v1/session');
    } catch {
      // Signed out here either way; an expired session is already gone there.
    }
  }
  sessionStorage.removeItem(TOKEN_KEY);
  signedOut('signedOut');
}

/**
 * The token's holder, from the api's token introspection (`GET /api/v1/session` with the bearer
 * token). An api that does not introspect tokens there still proves the token good or bad by the
 * facility model; its holder is then taken for a viewer, so the page offers nothing it may refuse.
 */
async function whoseToken(credentials: Credentials): Promise<User> {
  try {
    const answer = await request<{ user?: User }>('GET', '/api/v1/session', { credentials });
    if (answer?.user) return answer.user;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) throw error;
  }
  await request('GET', '/api/v1/facility', { credentials });
  return { username: '', role: 'viewer', department: null };
}

function signedIn(
  mode: 'token' | 'session',
  user: User,
  credentials: Credentials,
  expiresAt: string | null,
): void {
  setCredentials(credentials);
  Object.assign(session, { status: 'signedIn', user, mode, expiresAt, reason: null });
  clearTimeout(expiryTimer);
  if (expiresAt !== null) {
    const ms = Date.parse(expiresAt) - Date.now();
    // Timers hold at most 2^31 − 1 ms; a longer session is checked again by the next request.
    if (Number.isFinite(ms) && ms < 2 ** 31 - 1)
      expiryTimer = setTimeout(() => void recheck(), Math.max(0, ms));
  }
}

/** At the session's expiry: the api may have extended it meanwhile; else it is over. */
async function recheck(): Promise<void> {
  if (session.status !== 'signedIn' || session.mode !== 'session') return;
  try {
    const answer = await request<SessionAnswer>('GET', '/api/v1/session', { credentials: null });
    if (answer.user.username === session.user?.username && Date.parse(answer.expiresAt) > Date.now()) {
      signedIn('session', answer.user, { kind: 'session', csrfToken: answer.csrfToken }, answer.expiresAt);
      return;
    }
  } catch {
    // Expired (401), or the server cannot say: either way the page no longer holds a session.
  }
  expire('expired');
}

function signedOut(reason: SignOutReason): void {
  clearTimeout(expiryTimer);
  setCredentials(null);
  Object.assign(session, { status: 'signedOut', user: null, mode: null, expiresAt: null, reason });
}

function expire(reason: SignOutReason): void {
  if (session.status !== 'signedIn') return;
  if (session.mode === 'token') sessionStorage.removeItem(TOKEN_KEY);
  signedOut(reason);
}

export { ApiError };
