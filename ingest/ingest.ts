/**
 * The ingest: an MQTT client that decodes every telemetry message, writes readings to the store
 * in batches, puts refused messages in the dead-letter, and acknowledges each QoS 1 message to
 * the broker only once what it carried is committed (docs/architecture.md, "Reliability rules").
 *
 * How acknowledgements are withheld. mqtt.js handles incoming packets strictly one at a time:
 * the next packet is read only after the PUBACK of a QoS 1 PUBLISH went out, whether the ack is
 * delayed through `customHandleAcks` (MQTT 5 only; mqtt.js ignores it for 3.1.1, which is all
 * aedes speaks) or through `handleMessage`. Holding either callback until a batch commits would
 * make every batch one message long. So `handleMessage` is given the message and answers at once
 * with an error, on which mqtt.js moves on to the next packet *without* sending the PUBACK
 * (`handlers/publish.js`, QoS 1 branch); the PUBACK is sent later, by packet id, through the
 * client's `_sendPacket`, once the store (or the dead-letter) committed. `_sendPacket` is not
 * public API: `start()` probes both behaviours (mqtt-probe.ts) and fails naming the mqtt.js version
 * when either is gone, package.json pins the version they were verified with, and the integration test shows the whole behaviour
 * (withheld acknowledgements, redelivery after reconnecting) against the mqtt.js in use.
 *
 * An acknowledgement belongs to the connection its message came on: after a reconnection the
 * broker delivers unacknowledged messages again [MQTT-4.4.0-1], possibly under the same packet
 * ids, so acknowledgements of a closed connection are dropped and its queued messages discarded.
 * The store is idempotent on (series, time), so a message written twice leaves one point.
 *
 * Backpressure: when the points waiting for the store reach `maxPendingPoints` (the store is
 * down or slow), the `handleMessage` callback is held, so mqtt.js stops reading the socket and
 * the broker keeps the backlog (on an MQTT 5 broker, `receiveMaximum` bounds it first).
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
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
  TOPIC_ROOT,
} from '../core/telemetry.ts';
import { BATCHER_DEFAULTS, Batcher, type RetryPolicy } from './batcher.ts';
import { type Clock, systemClock } from './clock.ts';
import { DeadLetterQueue } from './dead-letter.ts';
import { IngestMetrics, type IngestStats } from './metrics.ts';
import { checkMqttAcknowledgements } from './mqtt-probe.ts';

/** How the ingest reaches the broker. */
export interface IngestMqttOptions {
  /** `mqtt://host:port`, `mqtts://…`, `ws://…`. */
  readonly url: string;
  /**
   * Client id, stable across restarts: the broker keeps the session (subscription and the
   * unacknowledged backlog) under it. Each ingest worker has its own.
   */
  readonly clientId: string;
  /** Service credential (see the broker's `services`). */
  readonly username: string;
  readonly password: string;
  /**
   * Subscribe to the shared subscription `$share/{shareGroup}/fac/#` so that several workers
   * split the stream (MQTT 5 §4.8.2; needs `protocolVersion: 5`). Default `false`: `fac/#`,
   * as on the embedded aedes broker, which has no shared subscriptions.
   */
  readonly shared?: boolean;
  /** Group of the shared subscription. Default `ingest`. */
  readonly shareGroup?: string;
  /** 4 (MQTT 3.1.1, default) or 5. */
  readonly protocolVersion?: 4 | 5;
  /** Keepalive, seconds. Default 60. */
  readonly keepaliveSeconds?: number;
  /** Wait between reconnection attempts, ms. Default 1,000. */
  readonly reconnectPeriodMs?: number;
  /** Longest wait for a CONNACK, ms. Default 10,000. */
  readonly connectTimeoutMs?: number;
  /** Anything else for mqtt.js (TLS material…); the options above win. */
  readonly extra?: IClientOptions;
}

/** Options of {@link Ingest}. */
export interface IngestOptions {
  readonly facility: Facility;
  /** The store, started (and later stopped) by the caller. */
  readonly store: TimeSeriesStore;
  /** The dead-letter sink, started (and later stopped) by the caller. */
  readonly deadLetters: DeadLetterSink;
  readonly mqtt: IngestMqttOptions;
  /** How old a reading may be, ms: the store's retention. May be `Infinity`. */
  readonly maxAgeMs: number;
  /** How far ahead of the ingest's clock a reading may be, ms. Default 5 minutes. */
  readonly maxFutureMs?: number;
  readonly batch?: {
    /** Points per store write. Default {@link DEFAULT_BATCH_POINTS} (20,000). */
    readonly maxPoints?: number;
    /** Longest a point waits for its write, ms. Default 200. */
    readonly maxDelayMs?: number;
    /** Points held before the ingest stops reading (backpressure). Default 4 × `maxPoints`. */
    readonly maxPendingPoints?: number;
  };
  readonly deadLetter?: {
    /** Entries per dead-letter write. Default 500. */
    readonly maxBatch?: number;
    /** Longest an entry waits for its write, ms. Default 200. */
    readonly maxDelayMs?: number;
    /** Entries held; past it, rejected messages are left to the broker. Default 10,000. */
    readonly maxPending?: number;
    /** Bytes of a payload kept. Default 4 KiB. */
    readonly maxPayloadBytes?: number;
  };
  /** Backoff of failed writes (store and dead-letter). */
  readonly retry?: Partial<RetryPolicy>;
  /** How long `stop()` keeps trying to commit what it holds, ms. Default 5,000. */
  readonly stopTimeoutMs?: number;
  /** The ingest logs through a child `{ module: 'ingest' }`. Default: silent. */
  readonly logger?: Logger;
  /** Clock of the decoder (`ts` checks), batching and retries. Default: the system clock. */
  readonly clock?: Clock;
  /** Uniform in [0, 1), for retry jitter. Default `Math.random`. */
  readonly random?: () => number;
}

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

/** A readings message on its way to the store. */
interface PendingMessage {
  readonly points: Point[];
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly device: DeviceTopic;
  readonly received: number;
  readonly connection: number;
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

/** The private mqtt.js method the ingest sends its delayed PUBACKs through (see the module comment). */
interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number }): void;
}

/**
 * Passed to mqtt.js' `handleMessage` callback for QoS 1 messages: mqtt.js then goes on to the
 * next packet without sending the PUBACK, which the ingest sends after the commit.
 */
const WITHHELD = new Error('PUBACK withheld until the message is committed');

/**
 * Default points per store write. Under load each write carries this much (below it, the
 * 200 ms delay closes a batch), and a store commit has a fixed cost: with gateway messages of 100
 * readings, 20,000 points a write committed 5–70 % more per second than 5,000 into DuckDB and
 * InfluxDB (`npm run bench:ingest`, docs/benchmarks.md). The backlog bound is 4 × this.
 */
export const DEFAULT_BATCH_POINTS = 20_000;

/** A rejection is logged once per device and reason per this period; the rest are counted. */
const LOG_EVERY_MS = 60_000;
/** Longest topic kept in a dead-letter entry, characters. */
const MAX_TOPIC_CHARS = 1024;

/** One run of the ingest, from `start()` to `stop()`. */
interface Session {
  readonly client: MqttClient;
  readonly decoder: TelemetryDecoder;
  readonly points: Batcher<PendingMessage>;
  readonly deadLetters: DeadLetterQueue;
  /** Numbers the MQTT connections of this client; an acknowledgement is sent only on its own. */
  connection: number;
  /** Acknowledgements owed on the current connection. */
  owed: Set<() => void>;
  /** The held `handleMessage` callback while the ingest is full. */
  stalled: (() => void) | undefined;
  /** Set while stopping: messages still arriving are left unacknowledged. */
  closing: boolean;
}

/**
 * The ingest service. The constructor only assigns; `start()` connects and subscribes, and
 * `stop()` stops taking messages, commits (and acknowledges) what it can within
 * `stopTimeoutMs`, leaves the rest unacknowledged for the broker, and disconnects. Both are
 * idempotent. The store and the dead-letter sink are the caller's to start and stop.
 */
export class Ingest {
  readonly #options: IngestOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #metrics: IngestMetrics;
  readonly #devices: ReadonlyMap<string, DeviceRecord>;
  readonly #lastLogged = new Map<string, { at: number; suppressed: number }>();
  #session: Session | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  /** Set by {@link retire}: the next stop ends the broker's session instead of keeping it. */
  #endSession = false;

  constructor(options: IngestOptions) {
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ module: 'ingest' });
    this.#clock = options.clock ?? systemClock;
    this.#devices = deviceRecords(options.facility);
    this.#metrics = new IngestMetrics(() => ({
      messages: this.#session?.owed.size ?? 0,
      points: this.#session?.points.pending.size ?? 0,
      deadLetters: this.#session?.deadLetters.pending ?? 0,
    }));
  }

  /** The counters (snapshot and Prometheus text). */
  get metrics(): IngestMetrics {
    return this.#metrics;
  }

  /** The counters now, as plain data. */
  stats(): IngestStats {
    return this.#metrics.snapshot();
  }

  /** Every device of the facility, with its status and when it was last heard from. */
  devices(): DeviceState[] {
    return [...this.#devices.values()].map((device) => ({ ...device }));
  }

  /** The topic filter the ingest subscribes to. */
  get filter(): string {
    const { shared = false, shareGroup = 'ingest' } = this.#options.mqtt;
    return shared ? `$share/${shareGroup}/${TOPIC_ROOT}/#` : `${TOPIC_ROOT}/#`;
  }

  /** Connects to the broker and subscribes. Idempotent. */
  async start(): Promise<void> {
    if (this.#starting) return this.#starting;
    if (this.#session) return;
    await this.#stopping;
    this.#starting = this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  /** See the class comment. Idempotent. */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => {});
    this.#stopping ??= this.#stop().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /**
   * Leaves a shared subscription for good (`facility ingest --retire`). The broker keeps a
   * worker's session, and queues its share of the stream in it, for as long as the worker is away;
   * retiring hands that share back. It unsubscribes, so the broker gives this worker no new
   * messages; stores what the broker still delivers from the session; and, once nothing has
   * arrived for `quietMs` and everything received is committed and acknowledged, stops with a
   * DISCONNECT that ends the session (Session Expiry Interval 0, MQTT 5 §3.14.2.2.2). Needs MQTT 5.
   */
  async retire(quietMs = 2_000): Promise<void> {
    await this.#starting;
    const session = this.#session;
    if (!session) throw new Error('ingest: retire() needs a started ingest');
    if (this.#options.mqtt.protocolVersion !== 5) {
      throw new Error('ingest: only an MQTT 5 session can be ended (mqtt.protocolVersion: 5)');
    }
    await session.client.unsubscribeAsync(this.filter);
    let received = this.#metrics.snapshot().messages.received;
    let quietSince = this.#clock.now();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await this.flush();
      const now = this.#clock.now();
      const count = this.#metrics.snapshot().messages.received;
      if (count !== received) {
        received = count;
        quietSince = now;
      } else if (now - quietSince >= quietMs && session.owed.size === 0 && session.client.connected) {
        break;
      }
    }
    this.#endSession = true;
    await this.stop();
  }

  /** Writes what is queued now, without waiting for the batch delay; resolves once committed. */
  async flush(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    await session.points.flush();
    await session.deadLetters.flush();
  }

  async #start(): Promise<void> {
    const options = this.#options;
    const mqttOptions = options.mqtt;
    if (mqttOptions.shared && mqttOptions.protocolVersion !== 5) {
      throw new Error('ingest: a shared subscription needs MQTT 5 (mqtt.protocolVersion: 5)');
    }
    const decoder = createTelemetryDecoder(options.facility, {
      maxAgeMs: options.maxAgeMs,
      ...(options.maxFutureMs === undefined ? {} : { maxFutureMs: options.maxFutureMs }),
    });
    const maxPoints = options.batch?.maxPoints ?? DEFAULT_BATCH_POINTS;
    const maxPendingPoints = options.batch?.maxPendingPoints ?? 4 * maxPoints;
    const v5 = mqttOptions.protocolVersion === 5;
    // Delayed acknowledgements rest on mqtt.js behaviour that is not public API: probe it first.
    await checkMqttAcknowledgements();
    const client = mqtt.connect(mqttOptions.url, {
      ...mqttOptions.extra,
      manualConnect: true,
      clientId: mqttOptions.clientId,
      username: mqttOptions.username,
      password: mqttOptions.password,
      protocolVersion: mqttOptions.protocolVersion ?? 4,
      // A persistent session: the broker keeps the subscription and the unacknowledged backlog
      // while the ingest is away [MQTT-3.1.2-4].
      clean: false,
      keepalive: mqttOptions.keepaliveSeconds ?? 60,
      reconnectPeriod: mqttOptions.reconnectPeriodMs ?? 1000,
      connectTimeout: mqttOptions.connectTimeoutMs ?? 10_000,
      resubscribe: true,
      ...(v5
        ? {
            properties: {
              ...mqttOptions.extra?.properties,
              // MQTT 5 ends the session at disconnection unless told otherwise (§3.1.2.11.2);
              // 0xFFFFFFFF: never.
              sessionExpiryInterval: 0xffff_ffff,
              // The broker sends at most this many unacknowledged messages (§3.1.2.11.3).
              receiveMaximum: Math.min(65_535, Math.max(1, maxPendingPoints)),
            },
          }
        : {}),
    });

    const session: Session = {
      client,
      decoder,
      points: this.#pointsBatcher(() => session, maxPoints, maxPendingPoints),
      deadLetters: this.#deadLetterQueue(),
      connection: 0,
      owed: new Set(),
      stalled: undefined,
      closing: false,
    };
    // Installed before connecting: a resumed session's backlog may arrive right after the
    // CONNACK, before any promise continuation runs, and mqtt.js' default handler would
    // acknowledge it at once.
    client.handleMessage = (packet, callback) => this.#onMessage(session, packet, callback);
    client.on('connect', (connack) => {
      this.#metrics.connection(true);
      this.#log.info(
        { url: mqttOptions.url, clientId: mqttOptions.clientId, sessionPresent: connack.sessionPresent },
        'connected',
      );
    });
    client.on('close', () => this.#onClose(session));
    client.on('error', (error) => this.#log.warn({ err: error.message }, 'MQTT client error'));
    client.on('offline', () => this.#log.warn('MQTT client offline'));

    this.#session = session;
    try {
      await firstConnection(client);
      const granted = await client.subscribeAsync(this.filter, { qos: 1 });
      if (granted.some((grant) => grant.qos !== 0 && grant.qos !== 1)) {
        throw new Error(`ingest: the broker refused the subscription to ${this.filter}`);
      }
      this.#log.info({ filter: this.filter, store: options.store.name }, 'ingest subscribed');
    } catch (error) {
      this.#session = undefined;
      session.closing = true;
      await session.points.close(0);
      await session.deadLetters.close(0);
      await client.endAsync(true).catch(() => {});
      throw error;
    }
  }

  async #stop(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    session.closing = true;
    releaseStalled(session);
    const timeoutMs = this.#options.stopTimeoutMs ?? 5000;
    const started = this.#clock.now();
    const points = await session.points.close(timeoutMs);
    const deadLetters = await session.deadLetters.close(
      Math.max(0, timeoutMs - (this.#clock.now() - started)),
    );
    if (points.abandoned > 0 || deadLetters.abandoned > 0) {
      this.#log.warn(
        { messages: points.abandoned, deadLetters: deadLetters.abandoned },
        'stopped with messages not committed; left unacknowledged for the broker to deliver again',
      );
    }
    // A graceful end: the PUBACKs written above go out before the DISCONNECT. A retired worker's
    // DISCONNECT also ends its session at the broker (see retire()).
    const disconnect = this.#endSession ? { properties: { sessionExpiryInterval: 0 } } : {};
    this.#endSession = false;
    await session.client.endAsync(false, disconnect).catch((error: unknown) => {
      this.#log.warn({ err: errorText(error) }, 'MQTT disconnect failed');
    });
    this.#session = undefined;
    this.#log.info('ingest stopped');
  }

  /** mqtt.js' `handleMessage`: calls `callback` (now, or once there is room) and never throws. */
  #onMessage(session: Session, packet: IPublishPacket, callback: (error?: Error) => void): void {
    const qos1 = packet.qos > 0 && packet.messageId !== undefined;
    const release = qos1 ? () => callback(WITHHELD) : () => callback();
    try {
      this.#metrics.received();
      const ack = qos1 ? this.#owe(session, packet.messageId as number) : noop;
      if (!session.closing) this.#handle(session, packet, ack);
    } catch (error) {
      this.#metrics.failed();
      this.#log.error(
        { err: error instanceof Error ? error.stack : String(error), topic: packet.topic },
        'message handling failed; left unacknowledged',
      );
    }
    if (session.points.full && !session.closing) {
      session.stalled = release;
    } else {
      release();
    }
  }

  #handle(session: Session, packet: IPublishPacket, ack: () => void): void {
    const now = this.#clock.now();
    const topic = packet.topic;
    const payload: Uint8Array =
      typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
    const result = session.decoder.decode(topic, payload, now);
    const device = result.device && this.#devices.get(deviceKey(result.device.kind, result.device.id));
    if (device) device.lastSeen = now;
    if (!result.ok) {
      const message = { topic, payload, received: now, reason: result.reason, detail: result.detail };
      this.#reject(session, message, result.device, ack, session.connection);
      return;
    }
    if ('status' in result) {
      if (device) {
        device.status = result.status;
        device.statusSince = now;
      }
      this.#metrics.status();
      ack();
      return;
    }
    const message: PendingMessage = {
      points: result.points,
      topic,
      payload,
      device: result.device,
      received: now,
      connection: session.connection,
      ack,
    };
    session.points.add(message, ack);
  }

  /** Counts and logs a refused message and hands it to the dead-letter; `ack` once it is committed. */
  #reject(
    session: Session,
    message: {
      topic: string;
      payload: Uint8Array;
      received: number;
      reason: DeadLetterReason;
      detail: string;
    },
    device: DeviceTopic | undefined,
    ack: () => void,
    connection: number,
  ): void {
    const { topic, payload, received, reason, detail } = message;
    this.#metrics.rejected(device?.id, reason);
    this.#logRejection(device?.id, reason, detail, topic);
    const entry: NewDeadLetter = {
      time: received,
      topic: topic.length > MAX_TOPIC_CHARS ? topic.slice(0, MAX_TOPIC_CHARS) : topic,
      ...(device === undefined ? {} : { device: { kind: device.kind, id: device.id } }),
      reason,
      detail,
      ...keepPayload(payload, this.#options.deadLetter?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES),
    };
    if (!session.deadLetters.offer(entry, ack, connection)) this.#metrics.deadLetterDeferred();
  }

  /** An acknowledgement for a message of the current connection; calling it twice sends one PUBACK. */
  #owe(session: Session, messageId: number): () => void {
    const connection = session.connection;
    const reasonCode = this.#options.mqtt.protocolVersion === 5 ? { reasonCode: 0 } : {};
    const ack = () => {
      if (!session.owed.delete(ack) || connection !== session.connection || !session.client.connected) return;
      (session.client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId, ...reasonCode });
    };
    session.owed.add(ack);
    return ack;
  }

  /** A connection is gone: what it owed will be delivered again, so drop its queued messages. */
  #onClose(session: Session): void {
    const closed = session.connection;
    session.connection++;
    this.#metrics.connection(false);
    if (session.owed.size > 0) {
      this.#metrics.dropped(session.owed.size);
      this.#log.info(
        { messages: session.owed.size },
        'connection closed with messages unacknowledged; the broker will deliver them again',
      );
      session.owed = new Set();
    }
    session.points.discard((message) => message.connection <= closed);
    session.deadLetters.discard((connection) => connection <= closed);
    releaseStalled(session);
  }

  #pointsBatcher(
    session: () => Session,
    maxPoints: number,
    maxPendingPoints: number,
  ): Batcher<PendingMessage> {
    const options = this.#options;
    return new Batcher<PendingMessage>({
      write: (messages) =>
        options.store.write(
          messages.length === 1 ? (messages[0] as PendingMessage).points : messages.flatMap((m) => m.points),
        ),
      sizeOf: (message) => message.points.length,
      maxBatchSize: maxPoints,
      maxDelayMs: options.batch?.maxDelayMs ?? BATCHER_DEFAULTS.maxDelayMs,
      maxPendingSize: maxPendingPoints,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      clock: this.#clock,
      ...(options.random === undefined ? {} : { random: options.random }),
      events: {
        committed: (messages, points, writeMs) =>
          this.#metrics.batchCommitted(messages.length, points, writeMs),
        retrying: (error, attempt, delayMs, messages) => {
          this.#metrics.retry();
          this.#log.warn(
            { err: errorText(error), attempt, delayMs, messages },
            'store write failed; retrying',
          );
        },
        rejected: (message, error) => {
          const { topic, payload, received } = message;
          this.#reject(
            session(),
            { topic, payload, received, reason: 'store-rejected', detail: errorText(error) },
            message.device,
            message.ack,
            message.connection,
          );
        },
        room: () => releaseStalled(session()),
      },
    });
  }

  #deadLetterQueue(): DeadLetterQueue {
    const options = this.#options;
    const settings = options.deadLetter ?? {};
    return new DeadLetterQueue({
      sink: options.deadLetters,
      ...(settings.maxBatch === undefined ? {} : { maxBatch: settings.maxBatch }),
      ...(settings.maxDelayMs === undefined ? {} : { maxDelayMs: settings.maxDelayMs }),
      ...(settings.maxPending === undefined ? {} : { maxPending: settings.maxPending }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      clock: this.#clock,
      ...(options.random === undefined ? {} : { random: options.random }),
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

function releaseStalled(session: Session): void {
  const stalled = session.stalled;
  session.stalled = undefined;
  stalled?.();
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

function noop(): void {}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves on the client's first CONNACK; rejects (and ends the client) on the first failure. */
function firstConnection(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const fail = (error: Error) => {
      cleanup();
      client.end(true);
      reject(error);
    };
    const onError = (error: Error) =>
      fail(new Error(`ingest: cannot connect to the broker: ${error.message}`, { cause: error }));
    const onClose = () => fail(new Error('ingest: the broker closed the connection before accepting it'));
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
    client.connect();
  });
}
