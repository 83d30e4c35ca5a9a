/**
 * The batching writer: collects items (the points of one MQTT message, or one dead-letter
 * entry) with the callback that acknowledges each, writes them in batches bounded by size and
 * delay, and calls an item's acknowledgement only once the write holding it has committed.
 *
 * * A write that fails with a retriable error keeps its batch and is tried again after an
 *   exponential, capped, jittered delay, for as long as it takes; nothing is acknowledged
 *   meanwhile. New items keep queueing up to {@link BatcherOptions.maxPendingSize}; past it
 *   {@link Batcher.full} is set and the caller stops taking more (backpressure).
 * * A write that fails for good is split in halves, recursively, until the items that fail
 *   alone are found; each is handed to {@link BatcherEvents.rejected} (its acknowledgement is
 *   then the caller's business) and the others are written. One bad item never blocks the rest.
 *
 * No I/O of its own: the write function and the clock are injected.
 */
import { StoreError } from '../core/store.ts';
import { type Clock, systemClock } from './clock.ts';

/** How long to wait before trying a failed write again. */
export interface RetryPolicy {
  /** Delay before the first retry, ms. */
  readonly initialDelayMs: number;
  /** Largest delay, ms; each retry doubles the delay up to this. */
  readonly maxDelayMs: number;
  /**
   * Share of each delay that is random, 0–1: the delay is `d × (1 − jitter × r)` with `r`
   * uniform in [0, 1), so that ingest workers hit a recovering store at different times.
   */
  readonly jitter: number;
}

/** What a batcher tells its owner (metrics, logs, dead-letter). All optional. */
export interface BatcherEvents<T> {
  /** A batch committed: its items, their total size, and how long the successful write took. */
  committed?(items: readonly T[], size: number, writeMs: number): void;
  /** A write failed and will be tried again after `delayMs`; `attempt` counts from 1. */
  retrying?(error: unknown, attempt: number, delayMs: number, items: number): void;
  /** An item the writer refused for good, on its own. Its acknowledgement has not been called. */
  rejected?(item: T, error: unknown): void;
  /** The batcher was {@link Batcher.full} and has room again. */
  room?(): void;
}

/** What a write may resolve with: see {@link BatcherOptions.write}. */
export interface BatchWritten {
  readonly settled: Promise<unknown>;
}

/** Options of {@link Batcher}. */
export interface BatcherOptions<T> {
  /**
   * Writes a batch; resolves once it is committed. It may resolve with `{ settled }`, a promise of
   * when the write's after-work is done (the rolling store's fold of the points): the items'
   * acknowledgements wait for it, the next batch's write does not.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a plain write resolves with nothing (void).
  readonly write: (items: readonly T[]) => Promise<void | BatchWritten>;
  /** Size of an item (points in a message); default 1. Batches and the backlog bound count this. */
  readonly sizeOf?: (item: T) => number;
  /** Whether a failed write may pass later. Default: a `StoreError` says; anything else may. */
  readonly isRetriable?: (error: unknown) => boolean;
  /** A batch is written once it holds this much. Default {@link BATCHER_DEFAULTS.maxBatchSize}. */
  readonly maxBatchSize?: number;
  /** …or once its oldest item waited this long, ms. Default {@link BATCHER_DEFAULTS.maxDelayMs}. */
  readonly maxDelayMs?: number;
  /**
   * Size of the items not yet committed (queued and being written) past which the batcher is
   * {@link Batcher.full}. Default 4 × `maxBatchSize`.
   */
  readonly maxPendingSize?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly events?: BatcherEvents<T>;
  readonly clock?: Clock;
  /** Uniform in [0, 1), for the jitter. Default `Math.random`. */
  readonly random?: () => number;
}

/** Defaults of {@link BatcherOptions}. */
export const BATCHER_DEFAULTS = {
  maxBatchSize: 5000,
  maxDelayMs: 200,
  retry: { initialDelayMs: 100, maxDelayMs: 10_000, jitter: 0.5 } satisfies RetryPolicy,
} as const;

/** What {@link Batcher.close} left behind. */
export interface CloseResult {
  /** Items that were not committed by the deadline; their acknowledgements were not called. */
  readonly abandoned: number;
}

interface Entry<T> {
  readonly item: T;
  readonly size: number;
  readonly ack: () => void;
  /** When it was added, by the clock. */
  readonly at: number;
}

/** The default {@link BatcherOptions.isRetriable}. */
export function isRetriableError(error: unknown): boolean {
  // The store port says whether a failure may pass (core/store.ts); an error that is not a
  // StoreError comes from outside that contract, and holding on is what loses nothing.
  return error instanceof StoreError ? error.retriable : true;
}

/** The delay before retry number `attempt` (from 1), ms. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const exponential = policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30);
  const capped = Math.min(policy.maxDelayMs, exponential);
  return Math.round(capped * (1 - policy.jitter * random));
}

/** See the module comment. */
export class Batcher<T> {
  // biome-ignore lint/suspicious/noConfusingVoidType: as BatcherOptions.write.
  readonly #write: (items: readonly T[]) => Promise<void | BatchWritten>;
  readonly #sizeOf: (item: T) => number;
  readonly #isRetriable: (error: unknown) => boolean;
  readonly #maxBatchSize: number;
  readonly #maxDelayMs: number;
  readonly #maxPendingSize: number;
  readonly #retry: RetryPolicy;
  readonly #events: BatcherEvents<T>;
  readonly #clock: Clock;
  readonly #random: () => number;

  /** Waiting for a write. */
  #queue: Entry<T>[] = [];
  #queuedSize = 0;
  /** Taken for a write (including retries and splits) and not yet settled. */
  #writingCount = 0;
  #writingSize = 0;
  #running = false;
  #cancelTimer: (() => void) | undefined;
  #flushing = 0;
  #closing = false;
  /** Set when the close deadline passed: retries stop, nothing more is written. */
  #aborted = false;
  #wakeSleeper: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  /** Written batches whose acknowledgements wait for their write's `settled`. */
  #settling = 0;
  #wasFull = false;

  constructor(options: BatcherOptions<T>) {
    this.#write = options.write;
    this.#sizeOf = options.sizeOf ?? (() => 1);
    this.#isRetriable = options.isRetriable ?? isRetriableError;
    this.#maxBatchSize = options.maxBatchSize ?? BATCHER_DEFAULTS.maxBatchSize;
    this.#maxDelayMs = options.maxDelayMs ?? BATCHER_DEFAULTS.maxDelayMs;
    this.#maxPendingSize = options.maxPendingSize ?? 4 * this.#maxBatchSize;
    this.#retry = { ...BATCHER_DEFAULTS.retry, ...options.retry };
    this.#events = options.events ?? {};
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    positive('maxBatchSize', this.#maxBatchSize);
    positive('maxPendingSize', this.#maxPendingSize);
    if (!(this.#maxDelayMs >= 0))
      throw new RangeError(`batcher maxDelayMs must be ≥ 0, got ${this.#maxDelayMs}`);
    const { initialDelayMs, maxDelayMs, jitter } = this.#retry;
    if (!(initialDelayMs > 0) || !(maxDelayMs >= initialDelayMs) || !(jitter >= 0 && jitter <= 1)) {
      throw new RangeError(
        'batcher retry: need initialDelayMs > 0, maxDelayMs ≥ initialDelayMs, 0 ≤ jitter ≤ 1',
      );
    }
  }

  /** Items not yet committed (queued or being written), and their total size. */
  get pending(): { readonly items: number; readonly size: number } {
    return { items: this.#queue.length + this.#writingCount, size: this.#queuedSize + this.#writingSize };
  }

  /** Whether the pending size reached {@link BatcherOptions.maxPendingSize}: take no more for now. */
  get full(): boolean {
    return this.#queuedSize + this.#writingSize >= this.#maxPendingSize;
  }

  /**
   * Queues an item; `ack` is called once a write holding it has committed, and never otherwise.
   * Always accepted (the caller holds back while {@link full}); refused only after `close()`.
   */
  add(item: T, ack: () => void): void {
    if (this.#closing) throw new Error('batcher is closed');
    const size = this.#sizeOf(item);
    this.#queue.push({ item, size, ack, at: this.#clock.now() });
    this.#queuedSize += size;
    this.#wasFull ||= this.full;
    this.#kick();
  }

  /**
   * Drops the queued items (not those being written) for which `predicate` holds, without
   * acknowledging them: for messages the broker will deliver again (their connection is gone).
   * Returns how many were dropped.
   */
  discard(predicate: (item: T) => boolean): number {
    const kept: Entry<T>[] = [];
    let dropped = 0;
    for (const entry of this.#queue) {
      if (predicate(entry.item)) {
        dropped++;
        this.#queuedSize -= entry.size;
      } else {
        kept.push(entry);
      }
    }
    this.#queue = kept;
    this.#afterChange();
    return dropped;
  }

  /** Writes everything queued now, without waiting for the delay; resolves once all of it settled. */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      this.#kick();
      await this.#idle();
    } finally {
      this.#flushing--;
    }
  }

  /**
   * Takes no more items, writes what is queued (retrying as usual) until `timeoutMs` has passed,
   * then stops retrying and gives up on the rest without acknowledging it. A write already
   * running when the time is up is not waited for. Idempotent.
   */
  async close(timeoutMs: number): Promise<CloseResult> {
    this.#closing = true;
    this.#kick();
    let cancelDeadline: (() => void) | undefined;
    const deadline = new Promise<void>((resolve) => {
      cancelDeadline = this.#clock.schedule(resolve, timeoutMs);
    });
    await Promise.race([this.#idle(), deadline]);
    cancelDeadline?.();
    const abandoned = this.pending.items;
    if (abandoned > 0) {
      this.#aborted = true;
      this.#wakeSleeper?.();
      this.#cancelTimer?.();
      this.#cancelTimer = undefined;
      this.#queue = [];
      this.#queuedSize = 0;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    return { abandoned };
  }

  /** Starts a write now if one is due, else sets the timer for when the oldest item is due. */
  #kick(): void {
    if (this.#running || this.#aborted || this.#queue.length === 0) {
      if (!this.#running) this.#resolveIdle();
      return;
    }
    const wait = this.#dueIn();
    if (wait <= 0) {
      this.#cancelTimer?.();
      this.#cancelTimer = undefined;
      void this.#run();
    } else {
      this.#cancelTimer ??= this.#clock.schedule(() => {
        this.#cancelTimer = undefined;
        this.#kick();
      }, wait);
    }
  }

  /** How long until a batch is due, ms; ≤ 0 when it is due now. */
  #dueIn(): number {
    const oldest = this.#queue[0];
    if (!oldest) return Number.POSITIVE_INFINITY;
    if (this.#queuedSize >= this.#maxBatchSize || this.#flushing > 0 || this.#closing) return 0;
    return oldest.at + this.#maxDelayMs - this.#clock.now();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#aborted && this.#queue.length > 0 && this.#dueIn() <= 0) {
        const batch = this.#take();
        this.#writingCount += batch.length;
        this.#writingSize += sizeOf(batch);
        await this.#commit(batch);
      }
    } finally {
      this.#running = false;
    }
    this.#kick();
  }

  /** The oldest queued entries, up to the batch size (at least one, however big). */
  #take(): Entry<T>[] {
    let size = 0;
    let count = 0;
    for (const entry of this.#queue) {
      if (count > 0 && size + entry.size > this.#maxBatchSize) break;
      size += entry.size;
      count++;
    }
    this.#queuedSize -= size;
    return this.#queue.splice(0, count);
  }

  /** Writes a batch until it commits, splitting it if it fails for good. Never throws. */
  async #commit(batch: Entry<T>[]): Promise<void> {
    for (let attempt = 1; !this.#aborted; attempt++) {
      const started = this.#clock.now();
      let failure: { error: unknown } | undefined;
      // biome-ignore lint/suspicious/noConfusingVoidType: what the write resolved with.
      let written: void | BatchWritten;
      try {
        written = await this.#write(batch.map((entry) => entry.item));
      } catch (error) {
        failure = { error };
        written = undefined;
      }
      if (!failure) {
        // Committed, even if the close deadline passed meanwhile: acknowledging is still right.
        this.#settle(batch);
        const size = sizeOf(batch);
        this.#notify(() => this.#events.committed?.(items(batch), size, this.#clock.now() - started));
        const acknowledge = () => {
          for (const entry of batch) {
            try {
              entry.ack();
            } catch {
              // An acknowledgement is fire-and-forget; a failing one must not undo the others.
            }
          }
        };
        if (written?.settled) {
          // Idle (flush, close) only once these are acknowledged too: a worker that stops must not
          // leave committed messages unacknowledged, for the broker to deliver again.
          this.#settling++;
          const settled = () => {
            this.#settling--;
            acknowledge();
            this.#resolveIdle();
          };
          void written.settled.then(settled, settled);
        } else acknowledge();
        this.#afterChange();
        return;
      }
      if (this.#aborted) return;
      if (!this.#isRetriable(failure.error)) {
        if (batch.length === 1) {
          const [entry] = batch as [Entry<T>];
          this.#settle(batch);
          this.#notify(() => this.#events.rejected?.(entry.item, failure.error));
          this.#afterChange();
          return;
        }
        const half = Math.ceil(batch.length / 2);
        await this.#commit(batch.slice(0, half));
        await this.#commit(batch.slice(half));
        return;
      }
      const delay = backoffDelay(this.#retry, attempt, this.#random());
      this.#notify(() => this.#events.retrying?.(failure.error, attempt, delay, batch.length));
      await this.#sleep(delay);
    }
  }

  #settle(batch: readonly Entry<T>[]): void {
    this.#writingCount -= batch.length;
    this.#writingSize -= sizeOf(batch);
  }

  #afterChange(): void {
    if (this.#wasFull && !this.full) {
      this.#wasFull = false;
      this.#notify(() => this.#events.room?.());
    }
    if (!this.#running && this.#queue.length === 0) this.#resolveIdle();
  }

  #notify(call: () => void): void {
    try {
      call();
    } catch {
      // Observers (metrics, logs) must not break the write path.
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.#clock.schedule(() => {
        this.#wakeSleeper = undefined;
        resolve();
      }, ms);
      this.#wakeSleeper = () => {
        cancel();
        this.#wakeSleeper = undefined;
        resolve();
      };
    });
  }

  #idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0 && this.#writingCount === 0 && this.#settling === 0)
      return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #resolveIdle(): void {
    if (this.#running || this.#queue.length > 0 || this.#writingCount > 0 || this.#settling > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function sizeOf<T>(entries: readonly Entry<T>[]): number {
  let size = 0;
  for (const entry of entries) size += entry.size;
  return size;
}

function items<T>(entries: readonly Entry<T>[]): T[] {
  return entries.map((entry) => entry.item);
}

function positive(name: string, value: number): void {
  if (!(value >= 1)) throw new RangeError(`batcher ${name} must be ≥ 1, got ${value}`);
}
