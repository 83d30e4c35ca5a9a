/**
 * The in-process ingest: the ingest pipeline run inside the embedded broker's process, as the
 * broker's {@link PublishGate}, instead of as an MQTT client of it (`facility start`,
 * `facility broker --ingest`). There is no second network hop and no persistent QoS 1 session of
 * an ingest for the broker to keep: each device's PUBLISH is decoded where it arrives.
 *
 * When a device's QoS 1 message is acknowledged. aedes writes the PUBACK before it hands a
 * message to subscribers, but after its `authorizePublish` step, which may answer later
 * (core/publish-gate.ts). The broker calls {@link BrokerIngest.admit} there; the message joins a
 * batch, and the gate lets it through — PUBACK, then routing to any subscriber — once the batch
 * is committed: in the store, or, with a spool, synced into the spool file, from which it is
 * written to the store in order. So a crash loses nothing a device saw acknowledged, and what it
 * did not see acknowledged it sends again on its next connection [MQTT-4.4.0-1]. While a device's
 * message is held, aedes reads nothing more from that connection (it handles a socket read's
 * packets together and reads on once all are done), which is the backpressure.
 *
 * * A `…/status` message is let through at once (after setting the device's status); a refused
 *   message once its dead-letter entry is committed, as in the MQTT-client ingest.
 * * QoS 0 has no acknowledgement to hold: it is let through once queued, or, past
 *   `maxPendingPoints`, once there is room.
 * * A message the ingest cannot take (its dead-letter is full, it is stopping) is refused: the
 *   broker closes that connection and the device sends it again later.
 * * When a connection closes, what it still had waiting is dropped unwritten; its device sends it
 *   again. What was being written is written, and a copy sent again counts once (recent.ts).
 *
 * The retained `…/status` messages the broker kept across a restart set the device states at
 * start ({@link BrokerIngest.restore}).
 */
import { type Logger, pino } from 'pino';
import type { DeadLetterSink } from '../core/dead-letter.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { GatedPublish, PublishGate } from '../core/publish-gate.ts';
import type { TimeSeriesStore } from '../core/store.ts';
import type { RetryPolicy } from './batcher.ts';
import { type Clock, systemClock } from './clock.ts';
import type { IngestMetrics, IngestStats } from './metrics.ts';
import {
  type BatchOptions,
  type DeadLetterOptions,
  type DeviceState,
  type IngestHealth,
  IngestPipeline,
} from './pipeline.ts';
import type { SpoolOptions } from './spool.ts';

/**
 * Default points per store write, in-process. A device's connection is not read while its
 * message waits, so what is in flight is what the devices' last socket reads brought; with
 * gateway messages of 100 readings, one write taking most of it (50,000 rather than 20,000
 * points) kept DuckDB busier: 190,000–210,000 against 135,000–190,000 points/s on the loaded
 * 2-core machine (`npm run bench:ingest -- --only "in-process → DuckDB, 100" --batch-points N`).
 */
export const IN_PROCESS_BATCH_POINTS = 50_000;

/**
 * Default longest wait before a batch is written, in-process, ms. A device's connection is not
 * read while its message waits, so the wait is short, and batches grow by themselves while a
 * write runs (group commit): what arrives meanwhile is the next batch.
 */
export const IN_PROCESS_BATCH_DELAY_MS = 5;

/** Options of {@link BrokerIngest}. */
export interface BrokerIngestOptions {
  readonly facility: Facility;
  /** The store, started (and later stopped) by the caller. Only its `write` is called. */
  readonly store: TimeSeriesStore;
  /** The dead-letter sink, started (and later stopped) by the caller. */
  readonly deadLetters: DeadLetterSink;
  /** How old a reading may be, ms: the store's retention. May be `Infinity`. */
  readonly maxAgeMs: number;
  /** How far ahead of the ingest's clock a reading may be, ms. Default 5 minutes. */
  readonly maxFutureMs?: number;
  /** Batching; default {@link IN_PROCESS_BATCH_POINTS} points a write, {@link IN_PROCESS_BATCH_DELAY_MS}. */
  readonly batch?: BatchOptions;
  readonly deadLetter?: DeadLetterOptions;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Acknowledge once a batch is synced into this spool, and feed the store from it (a remote
   * store). Default: none; acknowledge once the store committed (the embedded DuckDB file).
   */
  readonly spool?: SpoolOptions;
  /** A store write open this long makes {@link BrokerIngest.health} degraded, ms. Default 3,000. */
  readonly hungAfterMs?: number;
  /** How long `stop()` keeps trying to commit what it holds, ms. Default 5,000. */
  readonly stopTimeoutMs?: number;
  /** The ingest logs through a child `{ module: 'ingest' }`. Default: silent. */
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
}

/** A connection's messages waiting for their acknowledgement. */
interface Connection {
  held: number;
  closed: boolean;
}

/** See the module comment. The constructor only assigns; `start()` and `stop()` are idempotent. */
export class BrokerIngest implements PublishGate {
  readonly #options: BrokerIngestOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #pipeline: IngestPipeline;
  readonly #connections = new Map<number, Connection>();
  /** QoS 0 publishes waiting for room (they have no acknowledgement to hold otherwise). */
  #stalled: Array<() => void> = [];
  #held = 0;
  #running = false;
  #closing = false;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: BrokerIngestOptions) {
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ module: 'ingest' });
    this.#clock = options.clock ?? systemClock;
    this.#pipeline = new IngestPipeline({
      facility: options.facility,
      store: options.store,
      deadLetters: options.deadLetters,
      maxAgeMs: options.maxAgeMs,
      ...(options.maxFutureMs === undefined ? {} : { maxFutureMs: options.maxFutureMs }),
      batch: { maxPoints: IN_PROCESS_BATCH_POINTS, maxDelayMs: IN_PROCESS_BATCH_DELAY_MS, ...options.batch },
      ...(options.deadLetter === undefined ? {} : { deadLetter: options.deadLetter }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.spool === undefined ? {} : { spool: options.spool }),
      ...(options.hungAfterMs === undefined ? {} : { hungAfterMs: options.hungAfterMs }),
      mode: 'in-process',
      unacknowledged: () => this.#held,
      log: this.#log,
      clock: this.#clock,
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    this.#pipeline.onRoom = () => {
      const stalled = this.#stalled;
      this.#stalled = [];
      for (const release of stalled) release();
    };
  }

  /** The counters (snapshot and Prometheus text). */
  get metrics(): IngestMetrics {
    return this.#pipeline.metrics;
  }

  /** The counters now, as plain data. */
  stats(): IngestStats {
    return this.#pipeline.metrics.snapshot();
  }

  /** Every device of the facility, with its status and when it was last heard from. */
  devices(): DeviceState[] {
    return this.#pipeline.devices();
  }

  /** `degraded` with the reasons while the store hangs or fails (or the spool is nearly full), else `ok`. */
  health(): IngestHealth {
    return this.#pipeline.health();
  }

  /** Opens the pipeline (and the spool, writing what an earlier run left in it). Idempotent. */
  async start(): Promise<void> {
    if (this.#starting) return this.#starting;
    if (this.#running) return;
    await this.#stopping;
    this.#starting = (async () => {
      await this.#pipeline.open();
      this.#running = true;
      this.#closing = false;
      this.#pipeline.metrics.attached(true);
      this.#log.info(
        { store: this.#options.store.name, spool: this.#pipeline.spoolDir ?? null },
        'in-process ingest ready',
      );
    })().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  /**
   * Takes no more messages, commits what it holds within `stopTimeoutMs` (with a spool, what
   * the store has not taken stays there for the next start). Stop the broker first: its stop
   * lets held messages through ({@link settle}) before it closes the connections. Idempotent.
   */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => {});
    this.#stopping ??= (async () => {
      if (!this.#running) return;
      this.#closing = true;
      this.#releaseStalled();
      const left = await this.#pipeline.close(this.#options.stopTimeoutMs ?? 5000);
      if (left.messages > 0 || left.deadLetters > 0) {
        this.#log.warn(left, 'stopped with messages not committed; their devices send them again');
      }
      this.#running = false;
      this.#pipeline.metrics.attached(false);
      this.#log.info('in-process ingest stopped');
    })().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /** Writes what is queued now, without waiting for the batch delay; resolves once committed. */
  flush(): Promise<void> {
    return this.#pipeline.flush();
  }

  admit(publish: GatedPublish, done: (error?: Error) => void): void {
    if (!this.#running || this.#closing) {
      this.#pipeline.metrics.received();
      done(new Error(this.#running ? 'the ingest is stopping' : 'the ingest is not running'));
      return;
    }
    const held = publish.qos > 0;
    let connection: Connection | undefined;
    if (held && publish.connection !== 0) {
      connection = this.#connections.get(publish.connection);
      if (!connection) {
        connection = { held: 0, closed: false };
        this.#connections.set(publish.connection, connection);
      }
    }
    let answered = false;
    const ack = held
      ? () => {
          if (answered) return;
          answered = true;
          if (connection?.closed) return; // counted as dropped already; nobody to tell
          if (connection) connection.held--;
          this.#held--;
          done();
        }
      : noop;
    if (held) {
      this.#held++;
      if (connection) connection.held++;
    }
    const outcome = this.#pipeline.take(
      { topic: publish.topic, payload: publish.payload, origin: publish.connection },
      ack,
    );
    if (outcome === 'deferred') {
      if (held && !answered) {
        answered = true;
        if (connection) connection.held--;
        this.#held--;
      }
      // QoS 0 may be lost (at most once); QoS 1 and 2 are refused, so their device sends them again.
      done(held ? new Error('the ingest cannot take this message now; send it again') : undefined);
      return;
    }
    if (!held) {
      if (outcome === 'queued' && this.#pipeline.full) this.#stalled.push(() => done());
      else done();
    }
  }

  disconnected(connection: number): void {
    const state = this.#connections.get(connection);
    if (!state) return;
    this.#connections.delete(connection);
    state.closed = true;
    if (state.held > 0) {
      this.#held -= state.held;
      this.#pipeline.metrics.dropped(state.held);
      this.#pipeline.discard((origin) => origin === connection);
      state.held = 0;
    }
  }

  restore(messages: ReadonlyArray<{ readonly topic: string; readonly payload: Uint8Array }>): void {
    for (const { topic, payload } of messages) this.#pipeline.restoreStatus(topic, payload);
  }

  async settle(timeoutMs: number): Promise<void> {
    if (!this.#running) return;
    this.#closing = true;
    this.#releaseStalled();
    let cancel: (() => void) | undefined;
    await Promise.race([
      this.#pipeline.flush(),
      new Promise<void>((resolve) => {
        cancel = this.#clock.schedule(resolve, timeoutMs);
      }),
    ]);
    cancel?.();
  }

  #releaseStalled(): void {
    const stalled = this.#stalled;
    this.#stalled = [];
    for (const release of stalled) release();
  }
}

function noop(): void {}
