/**
 * The handful of Grafana HTTP API endpoints provisioning uses, with a service-account token, and
 * errors a person can act on: the URL that did not answer, a refused token (401/403), a version
 * the dashboards were not built for.
 *
 * Endpoints: `GET /api/health`; `GET/PUT /api/datasources/uid/{uid}`, `POST /api/datasources`;
 * `GET/PUT /api/folders/{uid}`, `POST /api/folders`; `GET /api/dashboards/uid/{uid}`,
 * `POST /api/dashboards/db`.
 */

/** Grafana versions the dashboards and the API calls are made for: 11.x and 12.x. */
export const SUPPORTED_GRAFANA = { from: 11, below: 13 } as const;

export type GrafanaErrorCode =
  | 'unreachable'
  | 'unauthorized'
  | 'forbidden'
  | 'version'
  | 'http'
  | 'not-grafana';

export class GrafanaError extends Error {
  readonly code: GrafanaErrorCode;
  /** Whether trying again later may succeed (Grafana down or starting). */
  readonly retriable: boolean;
  constructor(
    code: GrafanaErrorCode,
    message: string,
    options: { retriable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GrafanaError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export interface GrafanaApiOptions {
  /** Base URL, e.g. `http://grafana:3000` (a sub-path is kept). */
  readonly url: string;
  /** Service-account token. */
  readonly token: string;
  /** Time limit of one request, ms; default 10 s. */
  readonly timeoutMs?: number;
}

export interface Health {
  readonly version: string;
  readonly database?: string;
}

export class GrafanaApi {
  readonly #base: string;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(options: GrafanaApiOptions) {
    this.#base = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  get url(): string {
    return this.#base;
  }

  /**
   * `GET /api/health` (no token needed): that this is a Grafana, and its version, which must be in
   * {@link SUPPORTED_GRAFANA}.
   */
  async health(): Promise<Health> {
    const { status, body } = await this.#request('GET', '/api/health', undefined, false);
    const health = body as Partial<Health> | undefined;
    if (status !== 200 || typeof health?.version !== 'string') {
      throw new GrafanaError(
        'not-grafana',
        `${this.#base}/api/health answered ${status} without a Grafana version: is --grafana-url the address of Grafana (e.g. http://grafana:3000)?`,
      );
    }
    const major = Number(/^(\d+)\./.exec(health.version)?.[1]);
    if (!(major >= SUPPORTED_GRAFANA.from && major < SUPPORTED_GRAFANA.below)) {
      throw new GrafanaError(
        'version',
        `Grafana ${health.version} at ${this.#base} is not supported: the dashboards and API calls are made for Grafana ${SUPPORTED_GRAFANA.from}.x to ${SUPPORTED_GRAFANA.below - 1}.x (dashboard schema of Grafana 11.6). Use such a Grafana, or --out DIR to write the JSON files and import them yourself.`,
      );
    }
    return {
      version: health.version,
      ...(typeof health.database === 'string' ? { database: health.database } : {}),
    };
  }

  /** A resource, or undefined on 404. */
  async get(path: string): Promise<Record<string, unknown> | undefined> {
    const { status, body } = await this.#request('GET', path);
    if (status === 404) return undefined;
    this.#check('GET', path, status, body);
    return body as Record<string, unknown>;
  }

  async send(method: 'POST' | 'PUT', path: string, payload: unknown): Promise<Record<string, unknown>> {
    const { status, body } = await this.#request(method, path, payload);
    this.#check(method, path, status, body);
    return (body ?? {}) as Record<string, unknown>;
  }

  #check(method: string, path: string, status: number, body: unknown): void {
    if (status >= 200 && status < 300) return;
    const message = (body as { message?: unknown } | undefined)?.message;
    throw new GrafanaError(
      'http',
      `${method} ${this.#base}${path}: HTTP ${status}${typeof message === 'string' ? ` — ${message}` : ''}`,
      { retriable: status >= 500 },
    );
  }

  async #request(
    method: string,
    path: string,
    payload?: unknown,
    authenticate = true,
  ): Promise<{ status: number; body: unknown }> {
    const url = `${this.#base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(authenticate ? { authorization: `Bearer ${this.#token}` } : {}),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why =
        (error as Error).name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs / 1000} s`
          : (cause?.code ?? cause?.message ?? (error as Error).message);
      throw new GrafanaError(
        'unreachable',
        `cannot reach Grafana at ${this.#base} (${why}): check --grafana-url / FACILITY_GRAFANA_URL and that Grafana is running`,
        { retriable: true, cause: error },
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (authenticate && response.status === 401) {
      throw new GrafanaError(
        'unauthorized',
        `Grafana at ${this.#base} refused the token (401 Unauthorized): give a valid service-account token in --grafana-token / FACILITY_GRAFANA_TOKEN (Grafana: Administration › Users and access › Service accounts › Add token)`,
      );
    }
    if (authenticate && response.status === 403) {
      throw new GrafanaError(
        'forbidden',
        `Grafana at ${this.#base} accepted the token but forbids ${method} ${path} (403 Forbidden): the service account needs the Admin role (it creates data sources, folders and dashboards)`,
      );
    }
    if (response.status >= 300 && response.status < 400) {
      throw new GrafanaError(
        'not-grafana',
        `${url} redirected (${response.status}) to ${response.headers.get('location') ?? '?'}: give --grafana-url the address Grafana serves its API at (with its sub-path, if any)`,
      );
    }
    return { status: response.status, body };
  }
}
