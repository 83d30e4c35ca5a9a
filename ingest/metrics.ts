/**
 * The ingest's counters: a plain snapshot for the API (`/api/v1/ingest/stats`) and the same
 * figures in the Prometheus text format, through prom-client on a registry of their own (the
 * composition root merges registries with `Registry.merge` if it serves several).
 *
 * What each counts, exactly (all since the ingest was constructed):
 *
 * * `messages.received` — every PUBLISH that reached the ingest, copies sent again included.
 * * `messages.stored` / `points.stored` — readings messages whose points the store has committed,
 *   and those points, each message once: a copy of a message stored already (same topic, same
 *   payload, within the last 65,536 stored messages: recent.ts) is
 *   written again — the store keeps one point per series and time — and counted under
 *   `messages.duplicates` instead. So `points.stored` is what the store holds from this ingest.
 * * `messages.spooled` / `points.spooled` — with a spool (in-process ingest, remote store):
 *   messages acknowledged once in the spool file; they count as stored when the store commits
 *   them, copies again excepted.
 * * `messages.status`, `messages.rejected` (by reason and device), `messages.deadLettered`,
 *   `deadLetterFailed`, `deadLetterDeferred`, `dropped`, `failed` — as their comments say.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeadLetterReason } from '../core/dead-letter.ts';
import type { SpoolStats } from './spool.ts';
import type { StoreHealth } from './store-watch.ts';

/** Upper bounds of the batch-size buckets, points. */
export const BATCH_POINTS_BUCKETS = [1, 10, 50, 100, 500, 1000, 2000, 5000, 10_000, 50_000] as const;
/** Upper bounds of the write-latency buckets, ms. */
export const WRITE_MS_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

/**
 * Distinct (device, reason) pairs counted one by one; past this, rejections are counted under
 * the device `(other)`. Device ids come from topics, which a misbehaving service can invent.
 */
export const MAX_REJECTION_KEYS = 10_000;

/** A histogram as the snapshot shows it: cumulative counts per upper bound, like Prometheus. */
export interface HistogramSnapshot {
  /** `le` is the bucket's upper bound (inclusive); `count` the observations ≤ it. */
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly count: number;
  readonly sum: number;
  /** Largest observation; 0 before the first. */
  readonly max: number;
}

/** Rejections of one device for one reason. */
export interface RejectionCount {
  /** Device id the topic names; `null` when the topic names none (bad topic). */
  readonly device: string | null;
  readonly reason: DeadLetterReason;
  readonly count: number;
}

/** Messages and points not yet acknowledged to the broker. */
export interface Backlog {
  /** QoS 1 messages received and not yet acknowledged (being stored or dead-lettered). */
  readonly messages: number;
  /** Points waiting for, or in, a store write. */
  readonly points: number;
  /** Dead-letter entries waiting for, or in, a write. */
  readonly deadLetters: number;
}

/** The snapshot of {@link IngestMetrics.snapshot}; all counts since the ingest was constructed. */
export interface IngestStats {
  /** How the ingest takes messages: `mqtt`, an MQTT client; `in-process`, inside the embedded broker. */
  readonly mode: 'mqtt' | 'in-process';
  /** Whether the MQTT client is connected now (in-process: whether it is attached to the broker). */
  readonly connected: boolean;
  /** Successful (re)connections of the MQTT client; 0 in-process. */
  readonly connections: number;
  readonly messages: {
    /** Every message delivered by the broker (redeliveries and copies sent again included). */
    readonly received: number;
    /**
     * Readings messages whose points the store has committed, each once: a copy of one already
     * counted (same topic and payload) counts under {@link duplicates}.
     */
    readonly stored: number;
    /** Copies of readings messages already counted as stored, committed again (the store keeps one point). */
    readonly duplicates: number;
    /** Readings messages acknowledged once in the spool (in-process ingest with a spool; else 0). */
    readonly spooled: number;
    /** `online` / `offline` messages. */
    readonly status: number;
    /** Messages refused (decoder or store), counted when refused. */
    readonly rejected: number;
    /** Dead-letter entries committed. */
    readonly deadLettered: number;
    /** Dead-letter entries the sink refused for good (logged; the message was acknowledged). */
    readonly deadLetterFailed: number;
    /**
     * Rejected messages left unacknowledged because the dead-letter backlog was full; the broker
     * delivers them again after a reconnection.
     */
    readonly deadLetterDeferred: number;
    /** Messages dropped unacknowledged because their connection closed first (the broker resends). */
    readonly dropped: number;
    /** Messages whose handling failed unexpectedly (a bug); not acknowledged. */
    readonly failed: number;
  };
  readonly points: {
    /** Points of the messages counted in `messages.stored`: what the store holds from this ingest. */
    readonly stored: number;
    /** Points of the messages counted in `messages.spooled`. */
    readonly spooled: number;
  };
  readonly rejectedByReason: Readonly<Partial<Record<DeadLetterReason, number>>>;
  /** Per device and reason, most first. */
  readonly rejections: readonly RejectionCount[];
  readonly batches: {
    /** Store writes committed. */
    readonly count: number;
    /** Points per committed write. */
    readonly points: HistogramSnapshot;
    /** Duration of each committed write, ms. */
    readonly writeMs: HistogramSnapshot;
    /** Writes that failed and were tried again. */
    readonly retries: number;
  };
  readonly backlog: Backlog;
  /** What waits in the spool for the store; `null` without a spool. */
  readonly spool: SpoolStats | null;
  /** The store, as the ingest's writes see it (store-watch.ts). */
  readonly store: StoreHealth;
}

/** What {@link IngestMetrics} reads when a snapshot or a scrape asks, besides the backlog. */
export interface IngestReaders {
  readonly mode?: IngestStats['mode'];
  readonly spool?: () => SpoolStats | null;
  readonly store?: () => StoreHealth;
}

class Buckets {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  count = 0;
  sum = 0;
  max = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
    const index = this.#bounds.findIndex((bound) => value <= bound);
    if (index >= 0) this.#counts[index] = (this.#counts[index] ?? 0) + 1;
  }

  snapshot(): HistogramSnapshot {
    let cumulative = 0;
    const buckets = this.#bounds.map((le, i) => {
      cumulative += this.#counts[i] ?? 0;
      return { le, count: cumulative };
    });
    return { buckets, count: this.count, sum: this.sum, max: this.max };
  }
}

/** The ingest's counters; the ingest calls the recording methods, the API reads. */
export class IngestMetrics {
  /** The prom-client registry holding the `ingest_*` metrics. */
  readonly registry = new Registry();
  readonly #backlog: () => Backlog;
  readonly #readers: IngestReaders;
  #connected = false;
  #connections = 0;
  #received = 0;
  #stored = 0;
  #duplicates = 0;
  #spooled = 0;
  #spooledPoints = 0;
  #status = 0;
  #rejected = 0;
  #deadLettered = 0;
  #deadLetterFailed = 0;
  #deadLetterDeferred = 0;
  #dropped = 0;
  #failed = 0;
  #points = 0;
  #retries = 0;
  readonly #byReason = new Map<DeadLetterReason, number>();
  readonly #byDevice = new Map<string, RejectionCount>();
  readonly #batchPoints = new Buckets(BATCH_POINTS_BUCKETS);
  readonly #writeMs = new Buckets(WRITE_MS_BUCKETS);
  readonly #prom: {
    readonly received: Counter;
    readonly stored: Counter;
    readonly points: Counter;
    readonly duplicates: Counter;
    readonly spooled: Counter;
    readonly spooledPoints: Counter;
    readonly status: Counter;
    readonly rejected: Counter<'device' | 'reason'>;
    readonly deadLettered: Counter;
    readonly deadLetterFailed: Counter;
    readonly deadLetterDeferred: Counter;
    readonly dropped: Counter;
    readonly failed: Counter;
    readonly batchPoints: Histogram;
    readonly writeSeconds: Histogram;
    readonly retries: Counter;
    readonly connections: Counter;
  };

  /**
   * @param backlog Reads the current backlog, when a snapshot or a scrape asks.
   * @param readers The spool and store health, when there are.
   */
  constructor(backlog: () => Backlog, readers: IngestReaders = {}) {
    this.#backlog = backlog;
    this.#readers = readers;
    const registers = [this.registry];
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.#prom = {
      received: counter('ingest_messages_received_total', 'MQTT messages delivered to the ingest'),
      stored: counter(
        'ingest_messages_stored_total',
        'Readings messages committed in the store, each once (copies count as duplicates)',
      ),
      points: counter('ingest_points_stored_total', 'Points of the messages counted as stored'),
      duplicates: counter(
        'ingest_messages_duplicate_total',
        'Copies of messages already stored (sent again), written again and not counted as stored',
      ),
      spooled: counter('ingest_messages_spooled_total', 'Readings messages acknowledged once in the spool'),
      spooledPoints: counter('ingest_points_spooled_total', 'Points of the messages counted as spooled'),
      status: counter('ingest_status_messages_total', 'Device status (online/offline) messages'),
      rejected: counter('ingest_messages_rejected_total', 'Messages refused, by device and reason', [
        'device',
        'reason',
      ]),
      deadLettered: counter('ingest_dead_letters_total', 'Dead-letter entries committed'),
      deadLetterFailed: counter(
        'ingest_dead_letter_failures_total',
        'Dead-letter entries the sink refused for good',
      ),
      deadLetterDeferred: counter(
        'ingest_dead_letter_deferred_total',
        'Rejected messages left to the broker because the dead-letter backlog was full',
      ),
      dropped: counter(
        'ingest_messages_dropped_total',
        'Messages dropped unacknowledged because their connection closed (the broker resends them)',
      ),
      failed: counter('ingest_messages_failed_total', 'Messages whose handling failed unexpectedly'),
      batchPoints: new Histogram({
        name: 'ingest_batch_points',
        help: 'Points per committed store write',
        buckets: [...BATCH_POINTS_BUCKETS],
        registers,
      }),
      writeSeconds: new Histogram({
        name: 'ingest_write_duration_seconds',
        help: 'Duration of committed store writes',
        buckets: WRITE_MS_BUCKETS.map((ms) => ms / 1000),
        registers,
      }),
      retries: counter('ingest_write_retries_total', 'Store writes that failed and were tried again'),
      connections: counter('ingest_mqtt_connections_total', 'Successful MQTT (re)connections'),
    };
    const metrics = this;
    new Gauge({
      name: 'ingest_mqtt_connected',
      help: '1 while the MQTT client is connected',
      registers,
      collect() {
        this.set(metrics.#connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ingest_backlog',
      help: 'Not yet acknowledged: messages, points waiting for the store, dead-letter entries',
      labelNames: ['of'],
      registers,
      collect() {
        const backlog = metrics.#backlog();
        this.set({ of: 'messages' }, backlog.messages);
        this.set({ of: 'points' }, backlog.points);
        this.set({ of: 'dead_letters' }, backlog.deadLetters);
      },
    });
    if (readers.spool) {
      const spool = readers.spool;
      new Gauge({
        name: 'ingest_spool',
        help: 'Waiting in the spool for the store: bytes, records (batches), messages, points',
        labelNames: ['of'],
        registers,
        collect() {
          const stats = spool();
          this.set({ of: 'bytes' }, stats?.bytes ?? 0);
          this.set({ of: 'records' }, stats?.records ?? 0);
          this.set({ of: 'messages' }, stats?.messages ?? 0);
          this.set({ of: 'points' }, stats?.points ?? 0);
        },
      });
      new Gauge({
        name: 'ingest_spool_max_bytes',
        help: 'Most bytes the spool may hold',
        registers,
        collect() {
          this.set(spool()?.maxBytes ?? 0);
        },
      });
    }
    if (readers.store) {
      const store = readers.store;
      new Gauge({
        name: 'ingest_store_up',
        help: '1 while the store answers the ingest, 0 while a write fails or hangs',
        registers,
        collect() {
          this.set(store().status === 'ok' ? 1 : 0);
        },
      });
    }
  }

  /** A message arrived from the broker. */
  received(): void {
    this.#received++;
    this.#prom.received.inc();
  }

  /** A status message was handled. */
  status(): void {
    this.#status++;
    this.#prom.status.inc();
  }

  /**
   * A store write of `written` points committed in `writeMs`; of its messages, `messages` holding
   * `points` points were stored for the first time and `duplicates` were copies.
   */
  batchCommitted(messages: number, points: number, writeMs: number, written = points, duplicates = 0): void {
    this.#stored += messages;
    this.#points += points;
    this.#duplicates += duplicates;
    this.#batchPoints.observe(written);
    this.#writeMs.observe(writeMs);
    this.#prom.stored.inc(messages);
    this.#prom.points.inc(points);
    if (duplicates > 0) this.#prom.duplicates.inc(duplicates);
    this.#prom.batchPoints.observe(written);
    this.#prom.writeSeconds.observe(writeMs / 1000);
  }

  /** A batch of `messages` messages holding `points` points is in the spool (and acknowledged). */
  spooled(messages: number, points: number): void {
    this.#spooled += messages;
    this.#spooledPoints += points;
    this.#prom.spooled.inc(messages);
    this.#prom.spooledPoints.inc(points);
  }

  /** A store write failed and will be tried again. */
  retry(): void {
    this.#retries++;
    this.#prom.retries.inc();
  }

  /** A message was refused; `device` is the id its topic names, if any. */
  rejected(device: string | undefined, reason: DeadLetterReason): void {
    this.#rejected++;
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    let key = `${device ?? ''}\u0000${reason}`;
    let deviceLabel = device ?? null;
    if (!this.#byDevice.has(key) && this.#byDevice.size >= MAX_REJECTION_KEYS) {
      deviceLabel = '(other)';
      key = `(other)\u0000${reason}`;
    }
    const entry = this.#byDevice.get(key);
    this.#byDevice.set(key, { device: deviceLabel, reason, count: (entry?.count ?? 0) + 1 });
    this.#prom.rejected.inc({ device: deviceLabel ?? '', reason });
  }

  /** Dead-letter entries were committed. */
  deadLettered(count: number): void {
    this.#deadLettered += count;
    this.#prom.deadLettered.inc(count);
  }

  /** The dead-letter sink refused an entry for good. */
  deadLetterFailed(): void {
    this.#deadLetterFailed++;
    this.#prom.deadLetterFailed.inc();
  }

  /** A rejected message was left unacknowledged: the dead-letter backlog was full. */
  deadLetterDeferred(): void {
    this.#deadLetterDeferred++;
    this.#prom.deadLetterDeferred.inc();
  }

  /** Messages were dropped unacknowledged because their connection closed. */
  dropped(count: number): void {
    this.#dropped += count;
    this.#prom.dropped.inc(count);
  }

  /** Handling a message failed unexpectedly. */
  failed(): void {
    this.#failed++;
    this.#prom.failed.inc();
  }

  /** The MQTT client connected (`true`) or lost its connection (`false`). */
  connection(connected: boolean): void {
    this.#connected = connected;
    if (connected) {
      this.#connections++;
      this.#prom.connections.inc();
    }
  }

  /** The in-process ingest was attached to its broker (`true`) or detached (`false`). */
  attached(on: boolean): void {
    this.#connected = on;
  }

  /** The counters now, as plain data. */
  snapshot(): IngestStats {
    return {
      mode: this.#readers.mode ?? 'mqtt',
      connected: this.#connected,
      connections: this.#connections,
      messages: {
        received: this.#received,
        stored: this.#stored,
        duplicates: this.#duplicates,
        spooled: this.#spooled,
        status: this.#status,
        rejected: this.#rejected,
        deadLettered: this.#deadLettered,
        deadLetterFailed: this.#deadLetterFailed,
        deadLetterDeferred: this.#deadLetterDeferred,
        dropped: this.#dropped,
        failed: this.#failed,
      },
      points: { stored: this.#points, spooled: this.#spooledPoints },
      rejectedByReason: Object.fromEntries(this.#byReason),
      rejections: [...this.#byDevice.values()].sort(
        (a, b) =>
          b.count - a.count ||
          (a.device ?? '').localeCompare(b.device ?? '') ||
          a.reason.localeCompare(b.reason),
      ),
      batches: {
        count: this.#writeMs.count,
        points: this.#batchPoints.snapshot(),
        writeMs: this.#writeMs.snapshot(),
        retries: this.#retries,
      },
      backlog: this.#backlog(),
      spool: this.#readers.spool?.() ?? null,
      store: this.#readers.store?.() ?? { status: 'ok' },
    };
  }

  /** The metrics in the Prometheus text exposition format (`registry.contentType`). */
  prometheus(): Promise<string> {
    return this.registry.metrics();
  }
}
