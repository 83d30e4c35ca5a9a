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
 *
 * Decoding, batching, dead-letter and counters are the {@link IngestPipeline}'s, shared with the
 * in-process ingest of the embedded broker (`broker-ingest.ts`); this module is the MQTT client
 * around it, for any broker (`facility ingest`, `--shared` on an MQTT 5 broker).
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import type { DeadLetterSink } from '../core/dead-letter.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { TimeSeriesStore } from '../core/store.ts';
import { TOPIC_ROOT } from '../core/telemetry.ts';
import type { RetryPolicy } from './batcher.ts';
import { type Clock, systemClock } from './clock.ts';
import type { IngestMetrics, IngestStats } from './metrics.ts';
import { checkMqttAcknowledgements } from './mqtt-probe.ts';
import {
  type BatchOptions,
  DEFAULT_BATCH_POINTS,
  type DeadLetterOptions,
  type DeviceState,
  type IngestHealth,
  IngestPipeline,
} from './pipeline.ts';

export { DEFAULT_BATCH_POINTS, type DeviceState } from './pipeline.ts';

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
  readonly batch?: BatchOptions;
  readonly deadLetter?: DeadLetterOptions;
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
  /** A store write open this long makes {@link Ingest.health} degraded, ms. Default 3,000. */
  readonly hungAfterMs?: number;
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

/** One run of the ingest, from `start()` to `stop()`. */
interface Session {
  readonly client: MqttClient;
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
  readonly #pipeline: IngestPipeline;
  #session: Session | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  /** Set by {@link retire}: the next stop ends the broker's session instead of keeping it. */
  #endSession = false;

  constructor(options: IngestOptions) {
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ module: 'ingest' });
    this.#clock = options.clock ?? systemClock;
    this.#pipeline = new IngestPipeline({
      facility: options.facility,
      store: options.store,
      deadLetters: options.deadLetters,
      maxAgeMs: options.maxAgeMs,
      ...(options.maxFutureMs === undefined ? {} : { maxFutureMs: options.maxFutureMs }),
      batch: { maxPoints: DEFAULT_BATCH_POINTS, ...options.batch },
      ...(options.deadLetter === undefined ? {} : { deadLetter: options.deadLetter }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.hungAfterMs === undefined ? {} : { hungAfterMs: options.hungAfterMs }),
      mode: 'mqtt',
      unacknowledged: () => this.#session?.owed.size ?? 0,
      log: this.#log,
      clock: this.#clock,
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    this.#pipeline.onRoom = () => {
      if (this.#session) releaseStalled(this.#session);
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

  /** `degraded` with the reasons while the store hangs or fails, else `ok`. */
  health(): IngestHealth {
    return this.#pipeline.health();
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
    let received = this.#pipeline.metrics.snapshot().messages.received;
    let quietSince = this.#clock.now();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await this.flush();
      const now = this.#clock.now();
      const count = this.#pipeline.metrics.snapshot().messages.received;
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
    if (!this.#session) return;
    await this.#pipeline.flush();
  }

  async #start(): Promise<void> {
    const options = this.#options;
    const mqttOptions = options.mqtt;
    if (mqttOptions.shared && mqttOptions.protocolVersion !== 5) {
      throw new Error('ingest: a shared subscription needs MQTT 5 (mqtt.protocolVersion: 5)');
    }
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
      connection: 0,
      owed: new Set(),
      stalled: undefined,
      closing: false,
    };
    await this.#pipeline.open();
    // Installed before connecting: a resumed session's backlog may arrive right after the
    // CONNACK, before any promise continuation runs, and mqtt.js' default handler would
    // acknowledge it at once.
    client.handleMessage = (packet, callback) => this.#onMessage(session, packet, callback);
    client.on('connect', (connack) => {
      this.#pipeline.metrics.connection(true);
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
      await this.#pipeline.close(0);
      await client.endAsync(true).catch(() => {});
      throw error;
    }
  }

  async #stop(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    session.closing = true;
    releaseStalled(session);
    const left = await this.#pipeline.close(this.#options.stopTimeoutMs ?? 5000);
    if (left.messages > 0 || left.deadLetters > 0) {
      this.#log.warn(
        left,
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
    if (session.closing) {
      // Left unacknowledged: the broker delivers it again to the next ingest.
      this.#pipeline.metrics.received();
      release();
      return;
    }
    const ack = qos1 ? this.#owe(session, packet.messageId as number) : noop;
    const payload: Uint8Array =
      typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
    this.#pipeline.take({ topic: packet.topic, payload, origin: session.connection }, ack);
    if (this.#pipeline.full && !session.closing) {
      session.stalled = release;
    } else {
      release();
    }
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
    this.#pipeline.metrics.connection(false);
    if (session.owed.size > 0) {
      this.#pipeline.metrics.dropped(session.owed.size);
      this.#log.info(
        { messages: session.owed.size },
        'connection closed with messages unacknowledged; the broker will deliver them again',
      );
      session.owed = new Set();
    }
    this.#pipeline.discard((origin) => origin <= closed);
    releaseStalled(session);
  }
}

function releaseStalled(session: Session): void {
  const stalled = session.stalled;
  session.stalled = undefined;
  stalled?.();
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
