/**
 * The ingest pipeline: what the MQTT-client ingest (`ingest.ts`, `facility ingest`) and the
 * in-process ingest of the embedded broker (`broker-ingest.ts`, `facility start`) share, so that
 * both validate, batch, dead-letter and count alike:
 *
 * * each message is decoded against the facility (core/telemetry/decode.ts); a `…/status`
 *   message sets the device's status; a refused one goes to the dead-letter with its reason, is
 *   counted per device and reason and logged at a bounded rate;
 * * readings are batched into store writes (`batcher.ts`) and a message's acknowledgement is
 *   called once the write holding it committed — or, with a spool (`spool.ts`), once the batch
 *   is synced into the spool, which then feeds the store in order;
 * * every store write runs under a {@link StoreWatch}, so a store that hangs or fails shows in
 *   {@link IngestPipeline.health};
 * * the counters (`metrics.ts`) count each stored message once (`recent.ts`).
 *
 * The transport (an MQTT client, or the broker's publish gate) hands messages in with
 * {@link IngestPipeline.take} and an acknowledgement callback, and says when a connection is gone
 * ({@link IngestPipeline.discard}). The pipeline only ever calls `store.write(points)` on the store
 * it is given, so a store decorator (rollups folded on write, …) sees every write.
 */
import type { Logger } from 'pino';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  type DeadLetterReason,
  type DeadLetterSink,
  keepPayload,
  type NewDeadLetter,
} from '../core/dead-letter.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { Point, TimeSeriesStore } from '../core/store.ts';
import {
  createTelemetryDecoder,
  type DeviceKind,
  type DeviceStatus,
  type DeviceTopic,
  type TelemetryDecoder,
} from '../core/telemetry.ts';
import { BATCHER_DEFAULTS, Batcher, type RetryPolicy } from './batcher.ts';
import type { Clock } from './clock.ts';
import { DeadLetterQueue } from './dead-letter.ts';
import { DEFAULT_LATE_WINDOW_HOURS, LateConflictError, LateGuard } from './late.ts';
import { IngestMetrics, type IngestStats } from './metrics.ts';
import { RecentMessages } from './recent.ts';
import { Spool, type SpoolMessage, type SpoolOptions, type SpoolRecord } from './spool.ts';
import { type StoreHealth, StoreWatch } from './store-watch.ts';

/**
 * Default points per store write. Under load each write carries this much (below it, the
 * batch delay closes a batch), and a store commit has a fixed cost: with gateway messages of 100
 * readings, 20,000 points a write committed 5–70 % more per second than 5,000 into DuckDB and
 * InfluxDB (`npm run bench:ingest`, docs/benchmarks.md). The backlog bound is 4 × this.
 */
export const DEFAULT_BATCH_POINTS = 20_000;

/** How readings are batched into store (or spool) writes. */
export interface BatchOptions {
  /** Points per write. Default {@link DEFAULT_BATCH_POINTS} (20,000). */
  readonly maxPoints?: number;
  /** Longest a point waits for its write to start, ms. Default 200. */
  readonly maxDelayMs?: number;
  /** Points held before the transport stops taking more (backpressure). Default 4 × `maxPoints`. */
  readonly maxPendingPoints?: number;
}

/** How dead-letter entries are batched. */
export interface DeadLetterOptions {
  /** Entries per dead-letter write. Default 500. */
  readonly maxBatch?: number;
  /** Longest an entry waits for its write, ms. Default 200. */
  readonly maxDelayMs?: number;
  /** Entries held; past it, rejected messages are left to the transport. Default 10,000. */
  readonly maxPending?: number;
  /** Bytes of a payload kept. Default 4 KiB. */
  readonly maxPayloadBytes?: number;
}

/** Options of {@link IngestPipeline}. */
export interface PipelineOptions {
  readonly facility: Facility;
  /** The store, started (and later stopped) by the caller. Only its `write` is called. */
  readonly store: TimeSeriesStore;
  /** The dead-letter sink, started (and later stopped) by the caller. */
  readonly deadLetters: DeadLetterSink;
  /** How old a reading may be, ms: the store's retention. May be `Infinity`. */
  readonly maxAgeMs: number;
  /** How far ahead of the ingest's clock a reading may be, ms. Default 5 minutes. */
  readonly maxFutureMs?: number;
  readonly batch?: BatchOptions;
  readonly deadLetter?: DeadLetterOptions;
  /** Backoff of failed writes (store, spool and dead-letter). */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Acknowledge readings once they are synced into this spool, and write them to the store from
   * there, in order. Default: none; a message is acknowledged once the store committed it.
   */
  readonly spool?: SpoolOptions;
  /** A store write open this long makes the health degraded, ms. Default 3,000. */
  readonly hungAfterMs?: number;
  /** Stored messages remembered to count a copy once. Default 65,536. */
  readonly duplicateWindow?: number;
  /** What the counters say the transport is. */
  readonly mode: IngestStats['mode'];
  /** Messages received and not acknowledged yet, for the backlog counter: the transport knows. */
  readonly unacknowledged: () => number;
  /** The pipeline logs here (the caller's `{ module: 'ingest' }` child). */
  readonly log: Logger;
  readonly clock: Clock;
  /** Uniform in [0, 1), for retry jitter. Default `Math.random`. */
  readonly random?: () => number;
}

/** A message as the transport hands it in. */
export interface IncomingMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  /**
   * Numbers the connection it came on. Acknowledgements of a connection that is gone mean
   * nothing: {@link IngestPipeline.discard} drops its queued messages by this number.
   */
  readonly origin: number;
}

/**
 * What {@link IngestPipeline.take} did with a message: `done`, acknowledged already (a status, a
 * copy of a message in the spool); `queued`, its acknowledgement comes once it is committed;
 * `deferred`, it will never be acknowledged here (the dead-letter is full, the pipeline is not
 * open, or handling failed): the transport leaves it for the sender to send again.
 */
export type TakeOutcome = 'done' | 'queued' | 'deferred';

/** What the ingest knows of a device from its messages. */
export interface DeviceState {
  readonly kind: DeviceKind;
  readonly id: string;
  /** From its last `…/status` message; `unknown` before any. */
  readonly status: DeviceStatus | 'unknown';
  /** When that status message arrived, epoch ms (ingest clock). */
  readonly statusSince?: number;
  /** When any message of the device last arrived, epoch ms (ingest clock). */
  readonly lastSeen?: number;
}

/** The ingest's health for `/api/v1/health`: `degraded` with the reasons, or `ok`. */
export interface IngestHealth {
  readonly status: 'ok' | 'degraded';
  readonly reasons: readonly string[];
}

/** A readings message on its way to the store (or the spool). */
interface PendingMessage {
  readonly points: Point[];
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly device: DeviceTopic;
  readonly received: number;
  readonly origin: number;
  readonly ack: () => void;
}

/** What the ingest keeps of a device. */
interface DeviceRecord {
  readonly kind: DeviceKind;
  readonly id: string;
  status: DeviceStatus | 'unknown';
  statusSince?: number;
  lastSeen?: number;
}

/** One run, from {@link IngestPipeline.open} to {@link IngestPipeline.close}. */
interface Run {
  readonly decoder: TelemetryDecoder;
  /** Readings on their way to the store, or to the spool. */
  readonly points: Batcher<PendingMessage>;
  readonly deadLetters: DeadLetterQueue;
  /** With a spool: the spool, the batcher that feeds the store from it, and its feeding loop. */
  readonly spool?: RunSpool;
  closing: boolean;
}

/** The spool of a run, and what writes it to the store. */
interface RunSpool {
  readonly file: Spool<PendingMessage[]>;
  /** The batcher the spool feeds, writing to the store. */
  readonly store: Batcher<PendingMessage>;
  /** The loop handing the spool's records to {@link store}, in order. */
  feeding: Promise<void>;
  stopping: boolean;
  /** Wakes the loop when {@link store} has room again. */
  room: (() => void) | undefined;
}

/** Messages of a spool record read back: those to store, and those the decoder refuses now. */
interface Decoded {
  readonly messages: PendingMessage[];
  readonly refused: Array<{ readonly message: RefusedMessage; readonly device: DeviceTopic | undefined }>;
}

/** A refused message, as the dead-letter takes it. */
interface RefusedMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly received: number;
  readonly reason: DeadLetterReason;
  readonly detail: string;
}

/** A rejection is logged once per device and reason per this period; the rest are counted. */
const LOG_EVERY_MS = 60_000;
/** Longest topic kept in a dead-letter entry, characters. */
const MAX_TOPIC_CHARS = 1024;
/** A spool fuller than this share makes the health degraded. */
const SPOOL_WARN_SHARE = 0.9;

/** See the module comment. The constructor only assigns; {@link open} and {@link close} run it. */
export class IngestPipeline {
  readonly #options: PipelineOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #metrics: IngestMetrics;
  readonly #devices: ReadonlyMap<string, DeviceRecord>;
  readonly #recent: RecentMessages;
  readonly #watch: StoreWatch;
  readonly #lastLogged = new Map<string, { at: number; suppressed: number }>();
  readonly #late: LateGuard<PendingMessage>;
  #run: Run | undefined;
  #decoder: TelemetryDecoder | undefined;
  #onRoom: (() => void) | undefined;

  constructor(options: PipelineOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#clock = options.clock;
    this.#devices = deviceRecords(options.facility);
    this.#recent = new RecentMessages(options.duplicateWindow);
    this.#late = new LateGuard({
      store: options.store,
      site: options.facility.site.id,
      windowMs: (options.facility.site.lateWindow ?? DEFAULT_LATE_WINDOW_HOURS) * 3_600_000,
    });
    this.#watch = new StoreWatch({
      store: () => options.store.name,
      log: options.log,
      clock: options.clock,
      ...(options.hungAfterMs === undefined ? {} : { hungAfterMs: options.hungAfterMs }),
    });
    this.#metrics = new IngestMetrics(
      () => ({
        messages: options.unacknowledged(),
        points: (this.#run?.points.pending.size ?? 0) + (this.#run?.spool?.store.pending.size ?? 0),
        deadLetters: this.#run?.deadLetters.pending ?? 0,
      }),
      {
        mode: options.mode,
        store: () => this.#watch.health(),
        ...(options.spool ? { spool: () => this.#run?.spool?.file.stats() ?? null } : {}),
      },
    );
  }

  /** The counters (snapshot and Prometheus text). */
  get metrics(): IngestMetrics {
    return this.#metrics;
  }

  /** Whether the readings not yet committed reached `maxPendingPoints`: the transport holds back. */
  get full(): boolean {
    return this.#run?.points.full ?? false;
  }

  /** Called when {@link full} was set and there is room again. */
  set onRoom(callback: (() => void) | undefined) {
    this.#onRoom = callback;
  }

  /** The spool's folder, when there is one. */
  get spoolDir(): string | undefined {
    return this.#options.spool?.dir;
  }

  /** Every device of the facility, with its status and when it was last heard from. */
  devices(): DeviceState[] {
    return [...this.#devices.values()].map((device) => ({ ...device }));
  }

  /** The store as the ingest sees it, and how full the spool is. */
  health(): IngestHealth {
    const reasons: string[] = [];
    const store: StoreHealth = this.#watch.health();
    if (store.status !== 'ok' && store.reason) reasons.push(store.reason);
    const spool = this.#run?.spool?.file.stats();
    if (spool && spool.bytes >= SPOOL_WARN_SHARE * spool.maxBytes) {
      reasons.push(
        `the spool is ${Math.round((100 * spool.bytes) / spool.maxBytes)} % full (${spool.messages.toLocaleString('en-US')} messages wait for the store)`,
      );
    }
    return { status: reasons.length === 0 ? 'ok' : 'degraded', reasons };
  }

  /** Builds the batchers; with a spool, reads what an earlier run left and starts feeding the store. */
  async open(): Promise<void> {
    if (this.#run) return;
    const options = this.#options;
    let spool: RunSpool | undefined;
    if (options.spool) {
      const file = new Spool<PendingMessage[]>(options.spool, this.#log);
      const recovered = await file.open();
      if (recovered.records > 0) {
        this.#log.info(
          { dir: options.spool.dir, ...recovered },
          'spool: messages acknowledged before the last stop are written to the store now',
        );
      }
      spool = {
        file,
        store: this.#storeBatcher(() => run, 'from-spool'),
        feeding: Promise.resolve(),
        stopping: false,
        room: undefined,
      };
    }
    const run: Run = {
      decoder: this.#decoderOnce(),
      points: this.#pointsBatcher(() => run),
      deadLetters: this.#deadLetterQueue(),
      ...(spool ? { spool } : {}),
      closing: false,
    };
    if (spool) spool.feeding = this.#feed(run, spool);
    this.#run = run;
  }

  /**
   * Takes no more messages; writes what it holds (retrying as usual) until `timeoutMs` has
   * passed, and gives up on the rest without acknowledging it. With a spool, what the store has
   * not taken stays in the spool for the next run. Idempotent.
   */
  async close(timeoutMs: number): Promise<{ readonly messages: number; readonly deadLetters: number }> {
    const run = this.#run;
    if (!run) return { messages: 0, deadLetters: 0 };
    run.closing = true;
    const started = this.#clock.now();
    const left = () => Math.max(0, timeoutMs - (this.#clock.now() - started));
    const points = await run.points.close(timeoutMs);
    if (run.spool) {
      const spool = run.spool;
      spool.stopping = true;
      spool.room?.();
      const stored = await spool.store.close(left());
      await spool.file.close();
      await spool.feeding;
      if (stored.abandoned > 0) {
        this.#log.info(
          { messages: spool.file.stats().messages, dir: spool.file.dir },
          'stopped with messages in the spool; they are written to the store at the next start',
        );
      }
    }
    const deadLetters = await run.deadLetters.close(left());
    this.#run = undefined;
    return { messages: points.abandoned, deadLetters: deadLetters.abandoned };
  }

  /** Writes what is queued now, without waiting for the batch delays; resolves once committed. */
  async flush(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    await run.points.flush();
    await run.spool?.store.flush();
    await run.deadLetters.flush();
  }

  /**
   * Takes one message: decodes it, and queues its points (or its dead-letter entry); `ack` is
   * called once what it carried is committed (see {@link TakeOutcome}). Never throws.
   */
  take(message: IncomingMessage, ack: () => void): TakeOutcome {
    const run = this.#run;
    this.#metrics.received();
    if (!run || run.closing) return 'deferred';
    try {
      return this.#take(run, message, ack);
    } catch (error) {
      this.#metrics.failed();
      this.#log.error(
        { err: error instanceof Error ? error.stack : String(error), topic: message.topic },
        'message handling failed; left unacknowledged',
      );
      return 'deferred';
    }
  }

  /**
   * Drops the queued messages (and dead-letter entries) of the connections `gone` picks, without
   * acknowledging them: their sender sends them again. Returns how many messages were dropped.
   */
  discard(gone: (origin: number) => boolean): number {
    const run = this.#run;
    if (!run) return 0;
    const dropped = run.points.discard((message) => gone(message.origin));
    run.deadLetters.discard(gone);
    return dropped;
  }

  /**
   * A retained `…/status` message the broker kept from before this run: sets the device's status
   * if nothing newer did. Not counted as received: the device did not send it now.
   */
  restoreStatus(topic: string, payload: Uint8Array): void {
    const result = this.#decoderOnce().decode(topic, payload, this.#clock.now());
    if (!result.ok || !('status' in result)) return;
    const device = this.#devices.get(deviceKey(result.device.kind, result.device.id));
    if (device && device.status === 'unknown') device.status = result.status;
  }

  #take(run: Run, message: IncomingMessage, ack: () => void): TakeOutcome {
    const now = this.#clock.now();
    const { topic, payload, origin } = message;
    const result = run.decoder.decode(topic, payload, now);
    const device = result.device && this.#devices.get(deviceKey(result.device.kind, result.device.id));
    if (device) device.lastSeen = now;
    if (!result.ok) {
      const rejected = { topic, payload, received: now, reason: result.reason, detail: result.detail };
      return this.#reject(run, rejected, result.device, ack, origin) ? 'queued' : 'deferred';
    }
    if ('status' in result) {
      if (device) {
        device.status = result.status;
        device.statusSince = now;
      }
      this.#metrics.status();
      ack();
      return 'done';
    }
    run.points.add(
      { points: result.points, topic, payload, device: result.device, received: now, origin, ack },
      ack,
    );
    return 'queued';
  }

  /**
   * Counts and logs a refused message and offers it to the dead-letter; `ack` once it is
   * committed. Returns false when the dead-letter is full (nothing taken).
   */
  #reject(
    run: Run,
    message: RefusedMessage,
    device: DeviceTopic | undefined,
    ack: () => void,
    origin: number,
  ): boolean {
    const { topic, reason, detail } = message;
    this.#metrics.rejected(device?.id, reason);
    this.#logRejection(device?.id, reason, detail, topic);
    const entry = this.#deadLetterEntry(message, device);
    if (run.deadLetters.offer(entry, ack, origin)) return true;
    this.#metrics.deadLetterDeferred();
    return false;
  }

  #deadLetterEntry(message: RefusedMessage, device: DeviceTopic | undefined): NewDeadLetter {
    const { topic, payload, received, reason, detail } = message;
    return {
      time: received,
      topic: topic.length > MAX_TOPIC_CHARS ? topic.slice(0, MAX_TOPIC_CHARS) : topic,
      ...(device === undefined ? {} : { device: { kind: device.kind, id: device.id } }),
      reason,
      detail,
      ...keepPayload(payload, this.#options.deadLetter?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES),
    };
  }

  /**
   * A message read back from the spool was refused (by the store, or by the decoder because the
   * facility file changed since it was received): into the dead-letter, and `done` once it is
   * there. The spool cannot leave it to a sender, so a full dead-letter is tried again later.
   */
  #rejectFromSpool(
    run: Run,
    message: RefusedMessage,
    device: DeviceTopic | undefined,
    done: () => void,
  ): void {
    this.#metrics.rejected(device?.id, message.reason);
    this.#logRejection(device?.id, message.reason, message.detail, message.topic);
    const entry = this.#deadLetterEntry(message, device);
    const offer = () => {
      if (run.closing) return;
      if (!run.deadLetters.offer(entry, done)) this.#clock.schedule(offer, 1000);
    };
    offer();
  }

  /** Readings → store (or → spool). */
  #pointsBatcher(run: () => Run): Batcher<PendingMessage> {
    const options = this.#options;
    if (!options.spool) return this.#storeBatcher(run, 'direct');
    const maxPoints = options.batch?.maxPoints ?? DEFAULT_BATCH_POINTS;
    return new Batcher<PendingMessage>({
      write: (messages) => this.#toSpool(run(), messages),
      sizeOf: (message) => message.points.length,
      maxBatchSize: maxPoints,
      maxDelayMs: options.batch?.maxDelayMs ?? BATCHER_DEFAULTS.maxDelayMs,
      maxPendingSize: options.batch?.maxPendingPoints ?? 4 * maxPoints,
      ...this.#retryOptions(),
      events: {
        committed: (messages, points) => this.#metrics.spooled(messages.length, points),
        retrying: (error, attempt, delayMs, messages) => {
          this.#metrics.retry();
          this.#log.warn(
            { err: errorText(error), attempt, delayMs, messages },
            'spool write failed; retrying (nothing acknowledged meanwhile)',
          );
        },
        // Spool failures are retriable; this is a bug's way out, and the dead-letter keeps it.
        rejected: (message, error) => this.#storeRejected(run(), message, error),
        room: () => this.#onRoom?.(),
      },
    });
  }

  /**
   * A batcher writing to the store: the one readings go through (`direct`), or the one the spool
   * feeds (`from-spool`).
   */
  #storeBatcher(run: () => Run, role: 'direct' | 'from-spool'): Batcher<PendingMessage> {
    const options = this.#options;
    const maxPoints = options.batch?.maxPoints ?? DEFAULT_BATCH_POINTS;
    return new Batcher<PendingMessage>({
      write: (messages) =>
        this.#watch.run(async () => {
          // Past the late window a reading may fill a gap, not change history (late.ts).
          await this.#late.check(messages);
          const points =
            messages.length === 1
              ? (messages[0] as PendingMessage).points
              : messages.flatMap((m) => m.points);
          if (!hasCommit(options.store)) {
            await options.store.write(points);
            return undefined;
          }
          // A rolling store: the next batch is written while this one's rollups fold (its
          // readings reach the live feed at once), and this one is acknowledged once they did.
          const { folded } = await options.store.commit(points);
          return {
            settled: folded.catch((error: unknown) =>
              this.#log.warn(
                { err: errorText(error) },
                'folding the rollups of committed points failed (they are stored; `facility rollups rebuild` folds them again)',
              ),
            ),
          };
        }),
      sizeOf: (message) => message.points.length,
      maxBatchSize: maxPoints,
      maxDelayMs: role === 'direct' ? (options.batch?.maxDelayMs ?? BATCHER_DEFAULTS.maxDelayMs) : 0,
      maxPendingSize: options.batch?.maxPendingPoints ?? 4 * maxPoints,
      ...this.#retryOptions(),
      events: {
        committed: (messages, points, writeMs) => this.#stored(messages, points, writeMs),
        retrying: (error, attempt, delayMs, messages) => {
          this.#metrics.retry();
          this.#log.warn(
            { err: errorText(error), attempt, delayMs, messages },
            role === 'direct'
              ? 'store write failed; retrying (nothing acknowledged meanwhile)'
              : 'store write failed; retrying (the messages wait in the spool)',
          );
        },
        rejected: (message, error) => this.#storeRejected(run(), message, error),
        room: role === 'direct' ? () => this.#onRoom?.() : () => this.#run?.spool?.room?.(),
      },
    });
  }

  /**
   * A message refused for good: dead-lettered as `conflict` when it would change history past the
   * late window, as `store-rejected` when the store refused it.
   */
  #storeRejected(run: Run, message: PendingMessage, error: unknown): void {
    const { topic, payload, received } = message;
    const rejected = {
      topic,
      payload,
      received,
      reason: error instanceof LateConflictError ? ('conflict' as const) : ('store-rejected' as const),
      detail: errorText(error),
    };
    if (message.origin < 0) this.#rejectFromSpool(run, rejected, message.device, message.ack);
    // When the dead-letter is full, it is left unacknowledged: its sender sends it again.
    else this.#reject(run, rejected, message.device, message.ack, message.origin);
  }

  /** Counts a committed batch: each message once, copies of stored ones apart. */
  #stored(messages: readonly PendingMessage[], written: number, writeMs: number): void {
    let fresh = 0;
    let points = 0;
    for (const message of messages) {
      if (this.#recent.add(message.topic, message.payload)) {
        fresh++;
        points += message.points.length;
      }
    }
    this.#metrics.batchCommitted(fresh, points, writeMs, written, messages.length - fresh);
  }

  /** Appends a batch to the spool (synced); the batcher acknowledges its messages after. */
  async #toSpool(run: Run, messages: readonly PendingMessage[]): Promise<void> {
    const spool = run.spool;
    if (!spool) throw new Error('no spool');
    let points = 0;
    const entries: SpoolMessage[] = messages.map((message) => {
      points += message.points.length;
      return { topic: message.topic, received: message.received, payload: utf8(message.payload) };
    });
    await spool.file.append(entries, points, [...messages]);
  }

  /** Feeds the store from the spool, record after record, in order, while the store batcher has room. */
  async #feed(run: Run, spool: RunSpool): Promise<void> {
    for (;;) {
      while (spool.store.full && !spool.stopping) {
        await new Promise<void>((resolve) => {
          spool.room = resolve;
        });
        spool.room = undefined;
      }
      if (spool.stopping) return;
      const record = await spool.file.next();
      if (!record || spool.stopping) return;
      let decoded: Decoded | undefined = record.hot ? { messages: record.hot, refused: [] } : undefined;
      while (!decoded && !spool.stopping) {
        try {
          decoded = this.#decodeSpooled(run, await spool.file.read(record));
        } catch (error) {
          this.#log.error({ err: errorText(error) }, 'spool: cannot read a record back; trying again in 1 s');
          await new Promise<void>((resolve) => this.#clock.schedule(resolve, 1000));
        }
      }
      if (!decoded || spool.stopping) return;
      this.#hand(run, spool, record, decoded);
    }
  }

  /**
   * Hands a record's messages to the store batcher (and the refused ones to the dead-letter); the
   * spool forgets the record once every one of them is settled.
   */
  #hand(run: Run, spool: RunSpool, record: SpoolRecord<PendingMessage[]>, decoded: Decoded): void {
    let left = decoded.messages.length + decoded.refused.length + 1;
    const settled = () => {
      left--;
      if (left === 0) spool.file.release(record);
    };
    for (const message of decoded.messages) {
      spool.store.add({ ...message, origin: -1, ack: settled }, settled);
    }
    for (const { message, device } of decoded.refused) this.#rejectFromSpool(run, message, device, settled);
    if (decoded.refused.length > 0) {
      this.#log.warn(
        { refused: decoded.refused.length, segment: record.segment, offset: record.offset },
        'spool: messages the facility file no longer accepts were dead-lettered',
      );
    }
    settled();
  }

  /**
   * The messages of a record read back from the file, decoded again at the time they were
   * received (the same points as then). One the decoder now refuses — the facility file changed
   * since — is returned apart, to be dead-lettered with its reason.
   */
  #decodeSpooled(run: Run, entries: SpoolMessage[]): Decoded {
    const messages: PendingMessage[] = [];
    const refused: Decoded['refused'] = [];
    for (const entry of entries) {
      const payload = Buffer.from(entry.payload, 'utf8');
      const result = run.decoder.decode(entry.topic, payload, entry.received);
      if (!result.ok) {
        const { reason, detail } = result;
        refused.push({
          message: { topic: entry.topic, payload, received: entry.received, reason, detail },
          device: result.device,
        });
      } else if ('points' in result) {
        messages.push({
          points: result.points,
          topic: entry.topic,
          payload,
          device: result.device,
          received: entry.received,
          origin: -1,
          ack: noop,
        });
      }
    }
    return { messages, refused };
  }

  #deadLetterQueue(): DeadLetterQueue {
    const options = this.#options;
    const settings = options.deadLetter ?? {};
    return new DeadLetterQueue({
      sink: options.deadLetters,
      ...(settings.maxBatch === undefined ? {} : { maxBatch: settings.maxBatch }),
      ...(settings.maxDelayMs === undefined ? {} : { maxDelayMs: settings.maxDelayMs }),
      ...(settings.maxPending === undefined ? {} : { maxPending: settings.maxPending }),
      ...this.#retryOptions(),
      events: {
        committed: (count) => this.#metrics.deadLettered(count),
        retrying: (error, attempt, delayMs) =>
          this.#log.warn({ err: errorText(error), attempt, delayMs }, 'dead-letter write failed; retrying'),
        failed: (entry, error) => {
          this.#metrics.deadLetterFailed();
          // The log is the last record of this message: all of it.
          this.#log.error(
            { err: errorText(error), entry },
            'dead-letter sink refused an entry; message acknowledged',
          );
        },
      },
    });
  }

  #retryOptions() {
    const options = this.#options;
    return {
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      clock: this.#clock,
      ...(options.random === undefined ? {} : { random: options.random }),
    };
  }

  #decoderOnce(): TelemetryDecoder {
    const options = this.#options;
    this.#decoder ??= createTelemetryDecoder(options.facility, {
      maxAgeMs: options.maxAgeMs,
      ...(options.maxFutureMs === undefined ? {} : { maxFutureMs: options.maxFutureMs }),
    });
    return this.#decoder;
  }

  /** Logs a rejection, at most once per device and reason per {@link LOG_EVERY_MS}. */
  #logRejection(device: string | undefined, reason: DeadLetterReason, detail: string, topic: string): void {
    const now = this.#clock.now();
    const key = `${device ?? ''}\u0000${reason}`;
    const last = this.#lastLogged.get(key);
    if (last && now - last.at < LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    this.#lastLogged.set(key, { at: now, suppressed: 0 });
    // Keys come from the wire: bounded, the stale go first.
    if (this.#lastLogged.size > 10_000) {
      for (const [entry, value] of this.#lastLogged) {
        if (now - value.at >= LOG_EVERY_MS) this.#lastLogged.delete(entry);
      }
      if (this.#lastLogged.size > 10_000) this.#lastLogged.clear();
    }
    this.#log.warn(
      {
        device,
        reason,
        detail,
        topic: topic.length > 200 ? `${topic.slice(0, 200)}…` : topic,
        ...(last?.suppressed ? { suppressed: last.suppressed } : {}),
      },
      'message rejected',
    );
  }
}

function deviceRecords(facility: Facility): Map<string, DeviceRecord> {
  const map = new Map<string, DeviceRecord>();
  const add = (kind: DeviceKind, id: string) => map.set(deviceKey(kind, id), { kind, id, status: 'unknown' });
  for (const meter of facility.meters) add('meter', meter.id);
  for (const vehicle of facility.vehicles) add('vehicle', vehicle.id);
  for (const sensor of facility.sensors) add('sensor', sensor.id);
  return map;
}

function deviceKey(kind: DeviceKind, id: string): string {
  return `${kind}/${id}`;
}

function utf8(payload: Uint8Array): string {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8');
}

function noop(): void {}

/** A store that commits and folds in two steps (core/rollup/rolling-store.ts RollingStore.commit). */
function hasCommit(
  store: TimeSeriesStore,
): store is TimeSeriesStore & { commit(points: readonly Point[]): Promise<{ folded: Promise<void> }> } {
  return typeof (store as { commit?: unknown }).commit === 'function';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
