/**
 * The InfluxDB adapter of the {@link TimeSeriesStore} port, over InfluxDB's HTTP API with the
 * transport, line-protocol escaping and retry decisions of `@influxdata/influxdb-client`.
 *
 * Writes go to `/write` (1.x) or `/api/v2/write` (2.x, 3.x); queries are InfluxQL over `/query`,
 * which every major version answers.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  canRetryHttpCall,
  getRetryDelay,
  HttpError,
  InfluxDB,
  type SendOptions,
  type Transport,
} from '@influxdata/influxdb-client';
import {
  ROLLUPS,
  type RollupKind,
  type RollupLastQuery,
  type RollupQuery,
  type RollupSeries,
  type RollupSumQuery,
  type RollupSums,
  type RollupWrite,
  validateRollupWrite,
} from '../../core/rollup/schema.ts';
import {
  type ColumnQuery,
  type ColumnSeries,
  fromStarts,
  type LatestPoint,
  type LatestQuery,
  type Point,
  type Query,
  type Series,
  StoreError,
  type TimeSeriesStore,
  toColumns,
  validateColumnQuery,
  validateLatest,
  validatePoints,
  validateQuery,
} from '../../core/store.ts';
import {
  type InfluxResult,
  identifier,
  latestStatement,
  selectStatement,
  singleResult,
  toLatest,
  toSeries,
} from './influxql.ts';
import { LineFormatter } from './line-protocol.ts';
import {
  existingStatement,
  lastStatement,
  readStatement,
  rollupLine,
  sumStatement,
  toRollupSeries,
  toSums,
  voidLines,
  writeTags,
} from './rollups.ts';

/** Settings of {@link InfluxStore}; the composition root builds them from CLI flags and env. */
export interface InfluxStoreOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:8086`. */
  readonly url: string;
  /** The 1.x database, or the 2.x/3.x bucket (3.x: database) name. */
  readonly database: string;
  /** 1.x retention policy (on 2.x, the DBRP mapping's); default: the database's default policy. */
  readonly retentionPolicy?: string;
  /** API token (2.x, 3.x), sent as `Authorization: Token …`. */
  readonly token?: string;
  /** 2.x organisation name or id; ignored by 1.x and 3.x. */
  readonly org?: string;
  /** 1.x user (or 2.x v1-auth user), sent with HTTP basic authentication. */
  readonly username?: string;
  readonly password?: string;
  /** Points per write request; default 5,000. */
  readonly batchSize?: number;
  /** Write requests in flight at once for one `write()`; default 3. */
  readonly concurrency?: number;
  /** Time limit of one HTTP request; default 10 s. */
  readonly timeoutMs?: number;
  /** Retries of a request after a retriable failure; default 4 (5 attempts). */
  readonly maxRetries?: number;
  /** Delay before the first retry, doubled each time up to `maxRetryDelayMs`; default 200 ms. */
  readonly retryDelayMs?: number;
  /** Longest delay between retries; default 5 s. */
  readonly maxRetryDelayMs?: number;
  /**
   * On 1.x, `CREATE DATABASE` (idempotent) at start; default true. Turn off for a user without
   * admin rights on a database that already exists. 2.x buckets are never created.
   */
  readonly createDatabase?: boolean;
}

type Api = { readonly major: number; readonly version: string };

/** Time chunk of one rollup read: 30 days, 2,880 rows of one device. */
const ROLLUP_CHUNK_MS = 30 * 86_400_000;

/** Node error codes of transient network failures that `canRetryHttpCall` does not list. */
const MORE_RETRIABLE_CODES = new Set(['EAI_AGAIN', 'ECONNABORTED', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** {@link TimeSeriesStore} over InfluxDB 1.x, 2.x or 3.x. */
export class InfluxStore implements TimeSeriesStore {
  readonly #options: InfluxStoreOptions;
  readonly #formatter = new LineFormatter();
  #api: Api | undefined;
  #transport: Transport | undefined;
  #agent: HttpAgent | undefined;
  #writePath = '';
  #queryPath = '';
  #starting: Promise<void> | undefined;
  /** Aborted by `stop()`: ends requests in flight and waits between retries. */
  #stopped = new AbortController();

  constructor(options: InfluxStoreOptions) {
    this.#options = options;
  }

  /** `influxdb <server version>` once started. */
  get name(): string {
    return this.#api ? `influxdb ${this.#api.version}` : 'influxdb';
  }

  /** The server's major version (1, 2, 3), known after `start()`. */
  get majorVersion(): number | undefined {
    return this.#api?.major;
  }

  start(): Promise<void> {
    this.#starting ??= this.#start().catch((error: unknown) => {
      this.#close();
      throw error;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    this.#stopped = new AbortController();
    this.#agent = new (o.url.startsWith('https:') ? HttpsAgent : HttpAgent)({
      keepAlive: true,
      maxSockets: this.#concurrency + 1,
    });
    const headers: Record<string, string> =
      o.username === undefined
        ? {}
        : { authorization: `Basic ${Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64')}` };
    this.#transport = new InfluxDB({
      url: o.url,
      ...(o.token === undefined ? {} : { token: o.token }),
      timeout: o.timeoutMs ?? 10_000,
      headers,
      transportOptions: { agent: this.#agent },
    }).transport;

    const api = await this.#ping();
    const db = encodeURIComponent(o.database);
    const rp = o.retentionPolicy === undefined ? '' : `&rp=${encodeURIComponent(o.retentionPolicy)}`;
    this.#queryPath = `/query?db=${db}${rp}&epoch=ms`;
    // 2.x and 3.x resolve a retention policy only through the v1 API's DBRP mapping.
    this.#writePath =
      api.major >= 2 && o.retentionPolicy === undefined
        ? `/api/v2/write?${o.org === undefined ? '' : `org=${encodeURIComponent(o.org)}&`}bucket=${db}&precision=ms`
        : `/write?db=${db}${rp}&precision=ms`;
    if (api.major === 1 && (o.createDatabase ?? true)) {
      await this.#influxql('create the database', `CREATE DATABASE ${identifier(o.database)}`);
    }
    this.#api = api;
  }

  async stop(): Promise<void> {
    const starting = this.#starting;
    if (!starting) return;
    this.#stopped.abort();
    await starting.catch(() => undefined);
    this.#close();
  }

  #close(): void {
    this.#stopped.abort();
    this.#agent?.destroy();
    this.#agent = undefined;
    this.#transport = undefined;
    this.#api = undefined;
    this.#starting = undefined;
  }

  /**
   * Write points in batches of `batchSize`, up to `concurrency` requests at once; resolves when
   * the server accepted every batch. On failure it rejects once no request of the call is in
   * flight any more; some batches may be written, and the caller retries the whole call, which
   * rewrites the same series and times (idempotent). Batches in flight together have no order,
   * so a series and time given twice in one call, in different batches, may keep either value.
   */
  async write(points: readonly Point[]): Promise<void> {
    validatePoints(points);
    this.#started();
    if (points.length === 0) return;
    const size = Math.max(1, this.#options.batchSize ?? 5_000);
    const batches = Math.ceil(points.length / size);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (!failure && next < batches) {
        const start = next++ * size;
        const body = this.#formatter.lines(points, start, Math.min(start + size, points.length));
        try {
          await this.#request('write', this.#writePath, body, {
            'content-type': 'text/plain; charset=utf-8',
          });
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, batches) }, worker));
    if (failure) throw failure.error;
  }

  async query(query: Query): Promise<Series[]> {
    validateQuery(query);
    this.#started();
    const statement = selectStatement(query);
    if (statement === null) return [];
    return toSeries(query, await this.#influxql('query', statement));
  }

  /** {@link query}'s rows turned into columns: InfluxQL answers row by row anyway. */
  async queryColumns(query: ColumnQuery): Promise<ColumnSeries[]> {
    validateColumnQuery(query);
    // InfluxQL cannot OR time conditions, so the device starts are applied to the answer.
    return fromStarts(query, toColumns(query, await this.query(query)));
  }

  async latest(query: LatestQuery): Promise<LatestPoint[]> {
    validateLatest(query);
    this.#started();
    const statement = latestStatement(query);
    if (statement === null) return [];
    return toLatest(query, await this.#influxql('query', statement));
  }

  /**
   * Voids the rows each write replaces (see storage/influx/rollups.ts), then writes the new rows.
   * Not one transaction: a failure part-way leaves some devices written, and the caller writes
   * the same rows again (idempotent).
   */
  async writeRollups(writes: readonly RollupWrite[]): Promise<void> {
    for (const write of writes) {
      try {
        validateRollupWrite(write);
      } catch (error) {
        throw new StoreError((error as Error).message, { code: 'INVALID_ROLLUP', retriable: false });
      }
    }
    this.#started();
    const lines: string[] = [];
    const groups = new Map<string, RollupWrite[]>();
    for (const write of writes) {
      const group = `${write.kind}\u0000${write.site}`;
      const list = groups.get(group);
      if (list) list.push(write);
      else groups.set(group, [write]);
    }
    for (const list of groups.values()) {
      const { kind, site } = list[0] as RollupWrite;
      const from = Math.min(...list.map((w) => w.from));
      const existing = await this.#influxql(
        'query',
        existingStatement(kind, site, [...new Set(list.map((w) => w.device))], from),
      );
      lines.push(...voidLines(kind, list, existing));
      for (const write of list) {
        const tags = writeTags(write);
        for (const row of write.rows) lines.push(rollupLine(kind, tags, row.time, row.values));
      }
    }
    const size = Math.max(1, this.#options.batchSize ?? 5_000);
    for (let start = 0; start < lines.length; start += size) {
      await this.#request('write', this.#writePath, `${lines.slice(start, start + size).join('\n')}\n`, {
        'content-type': 'text/plain; charset=utf-8',
      });
    }
  }

  async readRollups(query: RollupQuery): Promise<RollupSeries[]> {
    this.#checkRollupFields(query.kind, query.fields);
    this.#started();
    const results: InfluxResult[] = [];
    for (let from = query.from; from < query.to; from += ROLLUP_CHUNK_MS) {
      await this.#readRollupRange(query, from, Math.min(from + ROLLUP_CHUNK_MS, query.to), results);
    }
    return toRollupSeries(query.kind, query.fields, results);
  }

  /** One time range of a read, split in two whenever the server truncates its answer. */
  async #readRollupRange(
    query: RollupQuery,
    from: number,
    to: number,
    results: InfluxResult[],
  ): Promise<void> {
    const statement = readStatement(query, from, to);
    if (statement === null) return;
    try {
      results.push(await this.#influxql('query', statement));
    } catch (error) {
      if (error instanceof StoreError && /truncated/.test(error.message) && to - from > 1) {
        const middle = from + Math.floor((to - from) / 2);
        await this.#readRollupRange(query, from, middle, results);
        await this.#readRollupRange(query, middle, to, results);
        return;
      }
      throw error;
    }
  }

  async sumRollups(query: RollupSumQuery): Promise<RollupSums[]> {
    this.#checkRollupFields(query.kind, query.fields, true);
    this.#started();
    let statement: string | null;
    try {
      statement = sumStatement(query);
    } catch (error) {
      throw new StoreError((error as Error).message, { code: 'INVALID_QUERY', retriable: false });
    }
    if (statement === null) return [];
    return toSums(query, await this.#influxql('query', statement));
  }

  async lastRollups(query: RollupLastQuery): Promise<RollupSeries[]> {
    this.#checkRollupFields(query.kind, query.fields);
    this.#started();
    const statement = lastStatement(query);
    if (statement === null) return [];
    return toRollupSeries(query.kind, query.fields, [await this.#influxql('query', statement)]);
  }

  #checkRollupFields(kind: RollupKind, fields: readonly string[], floatOnly = false): void {
    const schema = ROLLUPS[kind];
    const bad = schema
      ? fields.find((f) => schema.fields[f] === undefined || (floatOnly && schema.fields[f] !== 'float'))
      : kind;
    if (bad !== undefined) {
      throw new StoreError(`${kind} rollup: "${bad}" is not a ${floatOnly ? 'numeric ' : ''}field`, {
        code: 'INVALID_QUERY',
        retriable: false,
      });
    }
  }

  get #concurrency(): number {
    return Math.max(1, this.#options.concurrency ?? 3);
  }

  #started(): void {
    if (!this.#api) {
      throw new StoreError('InfluxDB store is not started', { code: 'NOT_STARTED', retriable: false });
    }
  }

  async #ping(): Promise<Api> {
    let header: string | undefined;
    const body: unknown = await this.#request('reach the server', '/ping', undefined, {}, (headers) => {
      const value = headers['x-influxdb-version'];
      header = Array.isArray(value) ? value[0] : value;
    });
    // 3.x may answer /ping with a JSON body that holds the version.
    const version = (header ?? (body as { version?: string } | undefined)?.version ?? '').replace(/^v/, '');
    const major = Number.parseInt(version, 10);
    return Number.isNaN(major) ? { major: 1, version: 'unknown version' } : { major, version };
  }

  async #influxql(action: string, statement: string) {
    const body = `q=${encodeURIComponent(statement)}`;
    const answer: unknown = await this.#request(action, this.#queryPath, body, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    return singleResult(answer);
  }

  /**
   * One HTTP call with retries. Retriable failures are retried with jittered exponential backoff
   * and, after the last attempt, become a retriable StoreError: network errors (refused, reset…),
   * time-outs, and the statuses `canRetryHttpCall` accepts (404, 408, 425, 429, 500, 502–504; 404
   * because a missing 1.x database or 2.x bucket may yet be created). Other HTTP errors are not
   * retried and carry the server's message.
   */
  async #request(
    action: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    responseStarted?: (headers: Record<string, string | string[] | undefined>) => void,
  ): Promise<unknown> {
    const transport = this.#transport;
    const stopped = this.#stopped.signal;
    const maxRetries = this.#options.maxRetries ?? 4;
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    for (let attempt = 0; ; attempt++) {
      if (!transport || stopped.aborted) throw this.#stopError(action);
      const attemptAbort = new AbortController();
      const abort = () => attemptAbort.abort();
      const timer = setTimeout(abort, timeoutMs);
      stopped.addEventListener('abort', abort);
      const options: SendOptions = {
        method: body === undefined ? 'GET' : 'POST',
        headers,
        signal: attemptAbort.signal,
      };
      try {
        return await transport.request(path, body, options, responseStarted);
      } catch (error) {
        // The transport does not end a request it gave up on; abort it so the socket is freed.
        const timedOut = attemptAbort.signal.aborted && !stopped.aborted;
        attemptAbort.abort();
        if (stopped.aborted) throw this.#stopError(action);
        const retriable = timedOut || isRetriable(error);
        if (!retriable || attempt >= maxRetries) {
          throw new StoreError(
            `InfluxDB ${action} failed${retriable ? ` after ${attempt + 1} attempts` : ''}: ${
              timedOut ? `no answer within ${timeoutMs} ms` : describe(error)
            } (${this.#options.url})`,
            { code: retriable ? 'UNAVAILABLE' : 'REJECTED', retriable, cause: error },
          );
        }
        await sleep(this.#retryDelay(error, attempt), undefined, { signal: stopped }).catch(() => undefined);
      } finally {
        clearTimeout(timer);
        stopped.removeEventListener('abort', abort);
      }
    }
  }

  #retryDelay(error: unknown, attempt: number): number {
    const base = this.#options.retryDelayMs ?? 200;
    const max = this.#options.maxRetryDelayMs ?? 5_000;
    const backoff = Math.min(base * 2 ** attempt, max);
    // The client reads Retry-After as milliseconds; InfluxDB sends seconds (RFC 9110 §10.2.3).
    const hinted = error instanceof Error ? getRetryDelay(error) * 1000 : 0;
    return Math.min(Math.max(backoff * (0.5 + Math.random() / 2), hinted), max);
  }

  #stopError(action: string): StoreError {
    return new StoreError(`InfluxDB ${action} cancelled: the store is stopped`, {
      code: 'STOPPED',
      retriable: true,
    });
  }
}

function isRetriable(error: unknown): boolean {
  if (canRetryHttpCall(error)) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && MORE_RETRIABLE_CODES.has(code);
}

/** The server's own words for an HTTP error (1.x `{"error"}`, 2.x/3.x `{"message"}`), or the network error. */
function describe(error: unknown): string {
  if (error instanceof HttpError) {
    let message = error.body || error.statusMessage || '';
    try {
      const json = JSON.parse(error.body ?? '') as { error?: string; message?: string };
      message = json.error ?? json.message ?? message;
    } catch {
      // not JSON: keep the text
    }
    return `HTTP ${error.statusCode}: ${message}`;
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return [code, error.message].filter(Boolean).join(' ') || error.name;
  }
  return String(error);
}
