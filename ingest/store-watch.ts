/**
 * A watch on the ingest's writes to the store, so that a store in trouble shows at once.
 *
 * A write that neither fails nor answers — InfluxDB stopped with SIGSTOP takes the request and
 * says nothing; the adapter's own time-out (10 s a request, 5 attempts) comes first — used to hold
 * the ingest for a minute with no log line and no retry counted. Here a write still open after
 * `hungAfterMs` turns {@link StoreWatch.health} to `degraded` with the reason and logs a warning;
 * a write that fails does the same (the retry itself is logged by the batcher); the next write
 * that commits turns it back to `ok` and logs how long the trouble lasted.
 */
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';

/** Default of {@link StoreWatchOptions.hungAfterMs}: well inside the 5 s an operator may wait. */
export const DEFAULT_HUNG_AFTER_MS = 3_000;

/** How the store looks from the ingest. */
export interface StoreHealth {
  readonly status: 'ok' | 'degraded';
  /** Why it is degraded, for a person: what the store did and for how long. */
  readonly reason?: string;
  /** Since when it is degraded, epoch ms (the ingest's clock). */
  readonly since?: number;
}

/** Options of {@link StoreWatch}. */
export interface StoreWatchOptions {
  /** The store's name, for the reason and the logs (`duckdb`, `influxdb 1.8.10`). */
  readonly store: () => string;
  /** A write open this long is a store not answering, ms. Default {@link DEFAULT_HUNG_AFTER_MS}. */
  readonly hungAfterMs?: number;
  readonly clock?: Clock;
  readonly log: Logger;
}

/** See the module comment. */
export class StoreWatch {
  readonly #store: () => string;
  readonly #hungAfterMs: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Writes open now: id → when each started. */
  readonly #open = new Map<number, number>();
  #next = 0;
  /** The last write failed with this, and none committed since. */
  #failing: { readonly since: number; readonly error: string } | undefined;
  /** When the trouble being reported began; undefined while the store is fine. */
  #troubleSince: number | undefined;

  constructor(options: StoreWatchOptions) {
    this.#store = options.store;
    this.#hungAfterMs = options.hungAfterMs ?? DEFAULT_HUNG_AFTER_MS;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log;
    if (!(this.#hungAfterMs > 0)) throw new RangeError('store watch: hungAfterMs must be > 0');
  }

  /** Runs one store write under the watch; resolves or rejects as it does. */
  async run<T>(write: () => Promise<T>): Promise<T> {
    const id = this.#next++;
    const started = this.#clock.now();
    this.#open.set(id, started);
    const cancel = this.#clock.schedule(() => this.#noAnswer(id, started), this.#hungAfterMs);
    const settle = () => {
      cancel();
      this.#open.delete(id);
    };
    let result: T;
    try {
      result = await write();
    } catch (error) {
      settle();
      this.#failed(error);
      throw error;
    }
    settle();
    this.#committed();
    return result;
  }

  /** The store's health now. */
  health(): StoreHealth {
    const now = this.#clock.now();
    let oldest = Number.POSITIVE_INFINITY;
    for (const started of this.#open.values()) oldest = Math.min(oldest, started);
    if (now - oldest >= this.#hungAfterMs) {
      return {
        status: 'degraded',
        reason: `${this.#store()} has not answered a write for ${seconds(now - oldest)}`,
        since: this.#troubleSince ?? oldest,
      };
    }
    if (this.#failing) {
      return {
        status: 'degraded',
        reason: `${this.#store()} write failed (retrying): ${this.#failing.error}`,
        since: this.#troubleSince ?? this.#failing.since,
      };
    }
    return { status: 'ok' };
  }

  #noAnswer(id: number, started: number): void {
    if (!this.#open.has(id)) return;
    this.#troubleSince ??= started;
    this.#log.warn(
      { store: this.#store(), waitingMs: this.#clock.now() - started },
      `store has not answered a write for ${seconds(this.#clock.now() - started)}; health degraded`,
    );
  }

  #failed(error: unknown): void {
    const now = this.#clock.now();
    this.#failing = {
      since: this.#failing?.since ?? now,
      error: error instanceof Error ? error.message : String(error),
    };
    this.#troubleSince ??= now;
  }

  #committed(): void {
    const since = this.#troubleSince;
    this.#failing = undefined;
    // Another write may still be open and late; it keeps the trouble going until it answers.
    const now = this.#clock.now();
    for (const [, started] of this.#open) {
      if (now - started >= this.#hungAfterMs) return;
    }
    if (since === undefined) return;
    this.#troubleSince = undefined;
    this.#log.info(
      { store: this.#store(), troubleMs: now - since },
      `store answering again after ${seconds(now - since)}; health ok`,
    );
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
