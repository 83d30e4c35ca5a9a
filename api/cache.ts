/**
 * Answers that scale with operators (issue 10): a response cache for the figures' routes, keyed
 * by what an answer depends on and dropped by the writes that change it — never by time alone.
 *
 * - **What an answer depends on**: the route and its query (sorted), the caller's scope (a
 *   department token sees its own rows), the negotiated format (JSON or CSV), and the data of the
 *   period up to its end `to`.
 * - **A period that is over** is kept until the rollup changes of the store
 *   (core/rollup/rolling-store.ts) touch it: a fold that rewrote a device's rows from instant T on
 *   can change every answer whose period ends after T (a step or a trip across an edge included),
 *   and those are dropped. Late data, corrections and rebuilds go the same way. Without a change
 *   feed (an api run apart from the ingest, whose writes it does not see) none is kept.
 * - **A period reaching past now** changes with every reading that arrives, several times a
 *   second with a compound streaming; its answer is kept for `liveTtlMs` (default 5 s) whatever
 *   arrives, so it is at most that much behind the stream — a live panel refreshing every 10 s
 *   or a page asking once a minute never sees the difference, and twenty of them cost one
 *   computation. The live feed (socket.io), not this, is what follows the stream.
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
  /** For a period reaching past now: when the answer is too old to give again, epoch ms. */
  readonly expires?: number;
  readonly bytes: number;
}

export interface ResponseCacheOptions {
  /** Entries kept at most (least recently used go first). Default 1,000. */
  readonly maxEntries?: number;
  /** Payload bytes kept at most. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Whether answers over periods that are over are kept (single flight works either way). */
  readonly keep: boolean;
  /** How long an answer over a period reaching past now is given again, ms (0: not). Default 5,000. */
  readonly liveTtlMs?: number;
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
  readonly #now: () => number;
  /** See {@link ResponseCacheOptions.liveTtlMs}. */
  readonly liveTtlMs: number;
  readonly stats: CacheStats = { hits: 0, misses: 0, coalesced: 0, entries: 0, bytes: 0, dropped: 0 };
  #bytes = 0;

  constructor(options: ResponseCacheOptions) {
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#keep = options.keep;
    this.#now = options.now;
    this.liveTtlMs = options.liveTtlMs ?? 5_000;
  }

  /**
   * Drops every answer over a period that is over and ends after `from` (the data there changed);
   * answers over a period reaching past now run out by themselves.
   */
  invalidate(from: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expires === undefined && entry.until > from) this.#delete(key, entry);
    }
  }

  get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires !== undefined && this.#now() >= entry.expires) {
      this.#delete(key, entry);
      return undefined;
    }
    // Most recently used last.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: Entry): void {
    if (entry.expires === undefined ? !this.#keep : !(entry.expires > this.#now())) return;
    if (entry.bytes > this.#maxBytes / 4) return;
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
    cacheFlight: {
      key: string;
      until: number;
      expires: number | undefined;
      settle: (entry: Entry | undefined) => void;
    } | null;
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
    const key = keyOf(request);
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
    const at = now();
    // A period reaching past now is measured up to now: its answer is given for a while only.
    const expires = period.to > at ? at + cache.liveTtlMs : undefined;
    request.cacheFlight = { key, until: period.to, expires, settle: cache.begin(key) };
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
      ...(flight.expires === undefined ? {} : { expires: flight.expires }),
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

/** The key of a request: route, sorted query, the caller's scope, the format asked for. */
function keyOf(request: FastifyRequest): string {
  const url = new URL(request.url, 'http://x');
  const query = [...url.searchParams.entries()].sort(([a, x], [b, y]) =>
    a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1,
  );
  const scope = request.principal?.department ?? '*';
  // The format follows the Accept header (api/reply.ts); different headers are different keys.
  const accept = String(request.headers.accept ?? '')
    .toLowerCase()
    .replace(/\s+/g, '');
  return `${url.pathname}?${new URLSearchParams(query).toString()}|${scope}|${accept}`;
}
