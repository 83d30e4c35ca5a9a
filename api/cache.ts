/**
 * Answers that scale with operators (issue 10): a response cache for the figures' routes, keyed
 * by what an answer depends on and dropped by the writes that change it — never by time alone.
 *
 * - **What an answer depends on**: the route and its query (sorted), the caller's scope (a
 *   department token sees its own rows), the negotiated format (JSON or CSV), and the data of the
 *   period up to its end `to`. A period reaching past now is measured up to now, so its key also
 *   holds the clock's second: such an answer is at most a second behind the clock.
 * - **What drops it**: the rollup changes of the store (core/rollup/rolling-store.ts): a fold that
 *   rewrote a device's rows from instant T on can change every answer whose period ends after T
 *   (a step or a trip across an edge included), and those are dropped. Late data, corrections and
 *   rebuilds go the same way. Without a change feed (the api run apart from the ingest, whose
 *   writes it does not see) nothing is kept.
 * - **Single flight**: identical requests in flight at once are computed once; the others wait for
 *   that answer.
 *
 * `ETag`s (and `If-None-Match` → 304) come from @fastify/etag over the same payloads.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** What the cache keeps of an answer. */
interface Entry {
  readonly payload: string | Buffer;
  readonly contentType: string;
  /** The end of the period the answer depends on, epoch ms. */
  readonly until: number;
  readonly bytes: number;
}

export interface ResponseCacheOptions {
  /** Entries kept at most (least recently used go first). Default 1,000. */
  readonly maxEntries?: number;
  /** Payload bytes kept at most. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Whether answers are kept (single flight works either way). */
  readonly keep: boolean;
  readonly now: () => number;
}

/** Counters for /metrics and tests. */
export interface CacheStats {
  hits: number;
  misses: number;
  coalesced: number;
  entries: number;
  bytes: number;
  dropped: number;
}

export class ResponseCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Entry | undefined>>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #keep: boolean;
  readonly stats: CacheStats = { hits: 0, misses: 0, coalesced: 0, entries: 0, bytes: 0, dropped: 0 };
  #bytes = 0;

  constructor(options: ResponseCacheOptions) {
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#keep = options.keep;
  }

  /** Drops every answer whose period ends after `from` (the data there changed). */
  invalidate(from: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.until > from) this.#delete(key, entry);
    }
  }

  get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    // Most recently used last.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: Entry): void {
    if (!this.#keep || entry.bytes > this.#maxBytes / 4) return;
    const old = this.#entries.get(key);
    if (old) this.#delete(key, old);
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const [oldest, value] = this.#entries.entries().next().value as [string, Entry];
      this.#delete(oldest, value);
    }
    this.stats.entries = this.#entries.size;
    this.stats.bytes = this.#bytes;
  }

  /** The answer an identical request in flight will give, if there is one. */
  inflight(key: string): Promise<Entry | undefined> | undefined {
    return this.#inflight.get(key);
  }

  /** Marks `key` in flight; the returned function settles it with the answer (or none). */
  begin(key: string): (entry: Entry | undefined) => void {
    let settle: (entry: Entry | undefined) => void = () => undefined;
    const promise = new Promise<Entry | undefined>((resolve) => {
      settle = resolve;
    });
    this.#inflight.set(key, promise);
    return (entry) => {
      if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
      settle(entry);
    };
  }

  #delete(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    this.stats.dropped++;
    this.stats.entries = this.#entries.size;
    this.stats.bytes = this.#bytes;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The period an answer depends on (from the validated query), or undefined: not cached. */
    cachePeriod?: (request: FastifyRequest) => { readonly to: number } | undefined;
  }
  interface FastifyRequest {
    /** Set by the cache hooks: the key of a cacheable request and how to settle its flight. */
    cacheFlight: { key: string; until: number; settle: (entry: Entry | undefined) => void } | null;
  }
}

/**
 * The hooks: after authentication and validation (`preHandler`), answer from the cache or from an
 * identical request in flight; when an answer leaves (`onSend`), keep it and hand it to the waiters.
 */
export function registerCache(app: FastifyInstance, cache: ResponseCache, now: () => number): void {
  app.decorateRequest('cacheFlight', null);
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const periodOf = request.routeOptions.config.cachePeriod;
    if (request.method !== 'GET' || !periodOf) return;
    const period = periodOf(request);
    if (!period) return;
    const key = keyOf(request, period.to, now());
    const cached = cache.get(key);
    if (cached) {
      cache.stats.hits++;
      return send(reply, cached, 'hit');
    }
    const waiting = cache.inflight(key);
    if (waiting) {
      const entry = await waiting;
      if (entry) {
        cache.stats.coalesced++;
        return send(reply, entry, 'coalesced');
      }
    }
    cache.stats.misses++;
    request.cacheFlight = { key, until: period.to, settle: cache.begin(key) };
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const flight = request.cacheFlight;
    if (!flight) return payload;
    request.cacheFlight = null;
    if (reply.statusCode !== 200 || !(typeof payload === 'string' || Buffer.isBuffer(payload))) {
      flight.settle(undefined);
      return payload;
    }
    const entry: Entry = {
      payload,
      contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'),
      until: flight.until,
      bytes: typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length,
    };
    cache.set(flight.key, entry);
    flight.settle(entry);
    void reply.header('x-cache', 'miss');
    return payload;
  });
  // An answer that never reaches onSend (an error thrown before it) still ends its flight.
  app.addHook('onResponse', async (request) => {
    request.cacheFlight?.settle(undefined);
    request.cacheFlight = null;
  });
}

function send(reply: FastifyReply, entry: Entry, how: string): FastifyReply {
  return reply.header('content-type', entry.contentType).header('x-cache', how).send(entry.payload);
}

/**
 * The key of a request: route, sorted query, the caller's scope, the format asked for, and — for
 * a period reaching past now — the clock's second.
 */
function keyOf(request: FastifyRequest, to: number, now: number): string {
  const url = new URL(request.url, 'http://x');
  const query = [...url.searchParams.entries()].sort(([a, x], [b, y]) =>
    a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1,
  );
  const scope = request.principal?.department ?? '*';
  // The format follows the Accept header (api/reply.ts); different headers are different keys.
  const accept = String(request.headers.accept ?? '')
    .toLowerCase()
    .replace(/\s+/g, '');
  const clock = to > now ? `@${Math.floor(now / 1000)}` : '';
  return `${url.pathname}?${new URLSearchParams(query).toString()}|${scope}|${accept}${clock}`;
}
