/**
 * The page's one way to the REST api: same origin, `Authorization: Bearer` for an API token, or
 * the session cookie with the CSRF header on writes. A 401 signs the page out (the caller sees an
 * {@link ApiError}); every other error keeps the api's `{ error: { code, message } }`.
 *
 * KPI answers are asked through {@link getFigures}, which keeps each answer for at least a minute:
 * whatever a view does, the page never asks the same figure more than once a minute. Live values
 * come over socket.io (live/live.ts), not by polling.
 */

/** How the page proves who it is. */
export type Credentials =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'session'; readonly csrfToken: string };

/** An answer that is not 2xx, or no answer at all (`status` 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retriable: boolean;

  constructor(status: number, code: string, message: string, retriable = false) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retriable = retriable;
  }
}

let credentials: Credentials | null = null;
let onUnauthorized: ((error: ApiError) => void) | null = null;

export function setCredentials(next: Credentials | null): void {
  credentials = next;
  figures.clear();
}

export function currentCredentials(): Credentials | null {
  return credentials;
}

/** Called when the api answers 401 to a signed-in page: the session expired or the token was revoked. */
export function setUnauthorizedHandler(handler: (error: ApiError) => void): void {
  onUnauthorized = handler;
}

export type Query = Readonly<Record<string, string | number | undefined>>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  /** Use these credentials instead of the page's (signing in, checking a token). */
  readonly credentials?: Credentials | null;
  readonly signal?: AbortSignal;
}

/** One request; the parsed JSON answer, undefined for 204. */
export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const using = options.credentials === undefined ? credentials : options.credentials;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (using?.kind === 'token') headers.authorization = `Bearer ${using.token}`;
  if (using?.kind === 'session' && method !== 'GET') headers['x-csrf-token'] = using.csrfToken;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      credentials: 'same-origin',
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', 'the server cannot be reached', true);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; retriable?: boolean } } | undefined)
      ?.error;
    const failure = new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? (response.statusText || `HTTP ${response.status}`),
      error?.retriable ?? (response.status === 503 || response.status === 429),
    );
    if (response.status === 401 && using !== null && options.credentials === undefined)
      onUnauthorized?.(failure);
    throw failure;
  }
  return body as T;
}

/** Least time between two requests for the same figures, ms: once a minute at most. */
export const FIGURES_MIN_INTERVAL_MS = 60_000;

const figures = new Map<string, { at: number; answer: Promise<unknown> }>();

/**
 * A KPI answer (energy, vehicles, rooms), kept for {@link FIGURES_MIN_INTERVAL_MS} at least, or
 * `maxAgeMs` when longer: asking again sooner gets the kept answer. A failed answer is not kept.
 */
export function getFigures<T>(path: string, query: Query, maxAgeMs = FIGURES_MIN_INTERVAL_MS): Promise<T> {
  const key = withQuery(path, query);
  const now = Date.now();
  const kept = figures.get(key);
  if (kept && now - kept.at < Math.max(maxAgeMs, FIGURES_MIN_INTERVAL_MS)) return kept.answer as Promise<T>;
  const answer = request<T>('GET', path, { query });
  figures.set(key, { at: now, answer });
  answer.catch(() => {
    if (figures.get(key)?.answer === answer) figures.delete(key);
  });
  return answer;
}
