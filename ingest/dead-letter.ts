/**
 * Dead-letter on the ingest side: {@link DeadLetterQueue} batches entries into a
 * {@link DeadLetterSink} apart from the store writes (a slow or failing sink never holds back
 * valid readings), and {@link MemoryDeadLetterSink} is a bounded in-memory sink for tests and
 * throw-away runs. The DuckDB sink is `storage/duckdb/dead-letter.ts`.
 */
import type { DeadLetter, DeadLetterQuery, DeadLetterSink, NewDeadLetter } from '../core/dead-letter.ts';
import { Batcher, type RetryPolicy } from './batcher.ts';
import type { Clock } from './clock.ts';

/** A dead-letter sink in memory, keeping the newest `capacity` entries. */
export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly name = 'memory';
  readonly #capacity: number;
  #entries: DeadLetter[] = [];
  #nextId = 1;

  constructor(options: { readonly capacity?: number } = {}) {
    this.#capacity = options.capacity ?? 10_000;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async add(entries: readonly NewDeadLetter[]): Promise<void> {
    for (const entry of entries) this.#entries.push({ ...entry, id: this.#nextId++ });
    if (this.#entries.length > this.#capacity) this.#entries = this.#entries.slice(-this.#capacity);
  }

  async list(query: DeadLetterQuery): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < query.limit; i--) {
      const entry = this.#entries[i] as DeadLetter;
      if (query.before !== undefined && entry.id >= query.before) continue;
      if (query.device !== undefined && entry.device?.id !== query.device) continue;
      if (query.reason !== undefined && entry.reason !== query.reason) continue;
      out.push(entry);
    }
    return out;
  }
}

/** What the queue tells its owner. */
export interface DeadLetterQueueEvents {
  /** Entries were committed. */
  committed?(count: number): void;
  /** A write failed and will be tried again. */
  retrying?(error: unknown, attempt: number, delayMs: number): void;
  /** The sink refused an entry for good; it was acknowledged anyway (see {@link DeadLetterQueue}). */
  failed?(entry: NewDeadLetter, error: unknown): void;
}

/** Options of {@link DeadLetterQueue}. */
export interface DeadLetterQueueOptions {
  readonly sink: DeadLetterSink;
  /** Entries per write. Default 500. */
  readonly maxBatch?: number;
  /** Longest an entry waits for its write, ms. Default 200. */
  readonly maxDelayMs?: number;
  /** Entries held (queued or being written) past which {@link DeadLetterQueue.offer} refuses. Default 10,000. */
  readonly maxPending?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly events?: DeadLetterQueueEvents;
  readonly clock?: Clock;
  readonly random?: () => number;
}

interface Item {
  readonly entry: NewDeadLetter;
  readonly ack: () => void;
  readonly connection: number;
}

/**
 * Batches dead-letter entries into a sink and acknowledges each entry's message once it is
 * committed; retriable failures are retried with backoff, like store writes.
 *
 * An entry the sink refuses for good (a bug, or a sink that cannot hold it) is reported through
 * {@link DeadLetterQueueEvents.failed} — the owner logs it whole — and its message is then
 * acknowledged: left unacknowledged, the broker would deliver it again after every reconnection
 * and it would fail the same way each time.
 */
export class DeadLetterQueue {
  readonly #batcher: Batcher<Item>;
  readonly #maxPending: number;
  #closed = false;

  constructor(options: DeadLetterQueueOptions) {
    const { sink, events = {} } = options;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#batcher = new Batcher<Item>({
      write: (items) => sink.add(items.map((item) => item.entry)),
      maxBatchSize: options.maxBatch ?? 500,
      maxDelayMs: options.maxDelayMs ?? 200,
      maxPendingSize: this.#maxPending,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.random === undefined ? {} : { random: options.random }),
      events: {
        committed: (items) => events.committed?.(items.length),
        retrying: (error, attempt, delayMs) => events.retrying?.(error, attempt, delayMs),
        rejected: (item, error) => {
          events.failed?.(item.entry, error);
          item.ack();
        },
      },
    });
  }

  /** Entries not yet committed. */
  get pending(): number {
    return this.#batcher.pending.items;
  }

  /**
   * Queues an entry; `ack` is called once it is committed. Returns `false`, taking nothing,
   * when the queue is full or closed: the caller leaves the message unacknowledged. `connection` numbers
   * the MQTT connection the message came on, for {@link discard}.
   */
  offer(entry: NewDeadLetter, ack: () => void, connection = 0): boolean {
    if (this.#closed || this.#batcher.pending.items >= this.#maxPending) return false;
    this.#batcher.add({ entry, ack, connection }, ack);
    return true;
  }

  /**
   * Drops the queued entries of the MQTT connections `predicate` picks, unacknowledged (see
   * `Batcher.discard`). Returns how many.
   */
  discard(predicate: (connection: number) => boolean): number {
    return this.#batcher.discard((item) => predicate(item.connection));
  }

  /** Writes what is queued now; resolves once it is committed. */
  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  /** See `Batcher.close`. */
  close(timeoutMs: number): Promise<{ readonly abandoned: number }> {
    this.#closed = true;
    return this.#batcher.close(timeoutMs);
  }
}
