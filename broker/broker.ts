/**
 * The embedded MQTT broker: aedes with the facility's device authentication, the topic ACL,
 * payload, connection and rate limits, and session persistence, listening on TCP, and
 * optionally on WebSocket and TLS.
 *
 * aedes speaks MQTT 3.1 and 3.1.1 (not 5), so shared subscriptions are not available here; the
 * ACL still lets services subscribe to `$share/…` filters for brokers that have them.
 */
import { type EventEmitter, once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { Aedes, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import { type Logger, pino } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Facility } from '../core/facility/schema.ts';
import type { PublishGate } from '../core/publish-gate.ts';
import { TOPIC_ROOT } from '../core/telemetry.ts';
import { checkAedesDelivery } from './aedes-probe.ts';
import {
  authenticate,
  authorizePublish,
  authorizeSubscribe,
  CONNACK,
  GUESSES,
  isDevice,
  type LoginRefusal,
  type Principal,
  type RefusalCode,
  SecretCache,
  type ServiceCredential,
} from './auth.ts';
import {
  addressKey,
  LoginGuard,
  type LoginGuardOptions,
  type ThrottledBy,
  VerificationBusyError,
} from './login-guard.ts';
import { watchPacketSize } from './packet-size.ts';
import {
  type BrokerEmitter,
  type BrokerPersistence,
  type OpenedPersistence,
  openEmitter,
  openPersistence,
} from './persistence.ts';
import { type RateLimit, RateLimiter } from './rate-limit.ts';

/** TLS material for MQTT over TLS (MQTTS). */
export interface BrokerTls {
  /** PEM certificate chain. */
  readonly cert: string | Buffer;
  /** PEM private key. */
  readonly key: string | Buffer;
  /** Port of the TLS listener; 0 picks a free one. Default 8883 (IANA `secure-mqtt`). */
  readonly port?: number;
}

/** Options of {@link FacilityBroker}. */
export interface FacilityBrokerOptions {
  /** The facility whose devices may connect. */
  readonly facility: Facility;
  /** Credentials of the platform's own clients (ingest, api…). */
  readonly services: readonly ServiceCredential[];
  /** Address the listeners bind to. Default `127.0.0.1`; a deployment says `0.0.0.0`. */
  readonly host?: string;
  /** MQTT over TCP port; 0 picks a free one (see {@link FacilityBroker.ports}). Default 1883. */
  readonly mqttPort?: number;
  /** MQTT over WebSocket port (any path); none when absent. 0 picks a free one. */
  readonly wsPort?: number;
  /** MQTT over TLS, on its own port; none when absent. */
  readonly tls?: BrokerTls;
  /** Largest PUBLISH payload accepted, bytes. Default 64 KiB. */
  readonly maxPayloadBytes?: number;
  /** Most clients connected at once; one more is refused with CONNACK 3. Default 10,000. */
  readonly maxConnections?: number;
  /** Publish rate per device; a device over it is disconnected. Default 50/s, burst 100. Services are not limited. */
  readonly rateLimit?: RateLimit;
  /**
   * Where QoS 1 sessions are kept. Default: LevelDB in `{dataDir}/mqtt`.
   */
  readonly persistence?: BrokerPersistence;
  /** The data folder; used for the default persistence. */
  readonly dataDir?: string;
  /** Message emitter between brokers. Default: in memory (one broker). */
  readonly emitter?: BrokerEmitter;
  /** How long a verified `secretHash` login is remembered, ms. Default 60 s. */
  readonly secretCacheTtlMs?: number;
  /**
   * Throttling of failed logins per user name and address, and the bound on concurrent secret
   * verifications (login-guard.ts); its defaults otherwise.
   */
  readonly loginGuard?: Omit<LoginGuardOptions, 'now'>;
  /** Logger; the broker logs through a child `{ module: 'broker' }`. Default: silent. */
  readonly logger?: Logger;
  /** Clock, epoch ms, for rate limits, the secret cache and log throttling. Default `Date.now`. */
  readonly now?: () => number;
  /** Broker id (aedes' `id`, seen in `$SYS/{id}/…`). Default: random. */
  readonly id?: string;
  /**
   * A consumer in this process that must commit each message before it is acknowledged: the
   * in-process ingest (core/publish-gate.ts). Every PUBLISH that passes the ACL and limits goes
   * through it before aedes acknowledges and routes it. Default: none.
   */
  readonly gate?: PublishGate;
  /** How long `stop()` gives the gate to commit what it holds before closing connections, ms. Default 2,000. */
  readonly gateSettleMs?: number;
  /**
   * Client ids whose stored sessions are ended at start, as a clean CONNECT would end them: a
   * persistent session nobody will take up again — that of the MQTT-client ingest of a data
   * folder now run with the in-process one — for which the broker would queue every message.
   */
  readonly dropSessions?: readonly string[];
}

/** Why the broker refused something; the keys of {@link FacilityBroker.refusals}. */
export type RefusalReason =
  | LoginRefusal
  | 'max-connections'
  | 'will-denied'
  | 'publish-denied'
  | 'subscribe-denied'
  | 'payload-too-large'
  | 'rate-limited'
  | 'login-throttled'
  | 'auth-busy'
  | 'auth-error';

const REFUSAL_REASONS: readonly RefusalReason[] = [
  'no-credentials',
  'unknown-user',
  'bad-password',
  'client-id',
  'login-throttled',
  'auth-busy',
  'max-connections',
  'will-denied',
  'publish-denied',
  'subscribe-denied',
  'payload-too-large',
  'rate-limited',
  'auth-error',
];

/** Ports the broker listens on; a listener that is not configured or not started is absent. */
export interface BrokerPorts {
  readonly mqtt?: number;
  readonly ws?: number;
  readonly tls?: number;
}

/** Defaults of {@link FacilityBrokerOptions}. */
export const BROKER_DEFAULTS = {
  host: '127.0.0.1',
  mqttPort: 1883,
  tlsPort: 8883,
  maxPayloadBytes: 64 * 1024,
  maxConnections: 10_000,
  rateLimit: { perSecond: 50, burst: 100 },
  secretCacheTtlMs: 60_000,
} as const;

/**
 * A packet may be this much longer than the payload limit: fixed header, topic and packet id
 * of a PUBLISH, or the fields of a CONNECT or SUBSCRIBE. Longer packets are cut off before they
 * are buffered (see packet-size.ts); payloads between the limit and this are refused whole.
 */
const PACKET_OVERHEAD_BYTES = 4096;

/**
 * Bytes a connection buffers for aedes to read at once (the socket's `highWaterMark`): Node 22's
 * default, set here so Node 20 (16 KiB) reads as much. aedes handles the packets of one read
 * together and reads on only once all are done; with the in-process ingest holding each QoS 1
 * PUBLISH until its batch is committed, this is how much of a device's stream one commit lets in.
 */
const SOCKET_READ_BYTES = 64 * 1024;

/** One refusal is logged per client and reason per this period; the rest are counted. */
const LOG_EVERY_MS = 60_000;

/** aedes' mqemitter concurrency (its default). */
const CONCURRENCY = 100;

/** What a started broker holds; filled in as `start()` goes, so a failed start can be undone. */
interface Running {
  aedes?: Aedes;
  wss?: WebSocketServer;
  readonly persistence: OpenedPersistence;
  readonly servers: Array<NetServer | TlsServer | HttpServer>;
  /** Open connections, destroyed at stop if aedes left any. */
  readonly sockets: Set<Duplex>;
  readonly ports: { mqtt?: number; ws?: number; tls?: number };
}

/**
 * aedes skips a delivery whose broker counter is not above the last one it sent the client
 * (`dedupe` in aedes/lib/client.js): it assumes messages reach a client in counter order. With an
 * asynchronous persistence (LevelDB; Redis is asynchronous too) they need not: concurrent QoS 1
 * publishes race through the persistence's writes, a later-numbered one may go out first, and
 * the earlier one is silently not sent, though the broker acknowledged it to the publisher; it
 * stays in the subscriber's stored session and goes out only at its next reconnection
 * (moscajs/aedes#955, open). Measured with LevelDB: 2–4 % of a 160 msg/s stream. This makes the
 * check always pass. What it also did, sending a client whose subscriptions overlap one copy of a
 * message rather than one per match, MQTT 3.1.1 leaves to the server (§3.3.5); a QoS 1
 * subscriber handles duplicates anyway. `client.duplicates` is not aedes' public API: `start()`
 * probes that this still works (aedes-probe.ts) and fails naming the aedes version otherwise, and
 * package.json pins the version it was verified with.
 */
export function deliverOutOfOrder(client: Client): void {
  const target = client as unknown as { duplicates?: object };
  if (target.duplicates !== undefined) target.duplicates = NOTHING_DELIVERED;
}

/** A delivery aedes asked for before the client's CONNACK went out. */
type HeldDelivery = (deliver: boolean) => void;

const heldDeliveries = new WeakMap<Client, HeldDelivery[]>();

/**
 * aedes restores a persistent client's subscriptions before it writes the CONNACK, and delivers a
 * message published meanwhile at once, so the client may get a PUBLISH first, against
 * [MQTT-3.2.0-1] (the first packet from the server is the CONNACK; moscajs/aedes#80 for retained
 * messages). MQTT.js then stalls: it answers that PUBLISH with a PUBACK it queues until connected,
 * and handles nothing after it, the CONNACK included, until its connect timeout. Seen with two
 * brokers on one Redis, where messages from the other broker keep arriving while a device
 * reconnects. This holds such deliveries until the CONNACK is written ({@link releaseHeld}); the
 * stored session is sent after the CONNACK anyway. A connection that closes first drops them:
 * they are in the session's stored queue.
 */
function holdUntilConnack(client: Client, stream: Duplex): void {
  const target = client as unknown as Record<'deliverQoS' | 'deliver0', Deliver | undefined> & {
    connackSent?: boolean;
  };
  for (const name of ['deliverQoS', 'deliver0'] as const) {
    const deliver = target[name];
    if (typeof deliver !== 'function') continue;
    target[name] = (packet, done) => {
      if (target.connackSent === true) return deliver(packet, done);
      const held = heldDeliveries.get(client) ?? [];
      heldDeliveries.set(client, held);
      held.push((send) => (send ? deliver(packet, done) : done()));
    };
  }
  stream.once('close', () => releaseHeld(client, false));
}

/** aedes' delivery function of a client: a packet, and a callback the emitter waits for. */
type Deliver = (packet: unknown, done: () => void) => void;

/** Sends (or, `send` false, drops) what {@link holdUntilConnack} held for `client`. */
function releaseHeld(client: Client, send: boolean): void {
  const held = heldDeliveries.get(client);
  if (!held) return;
  heldDeliveries.delete(client);
  for (const delivery of held) delivery(send);
}

/** aedes' per-client "last counter delivered, per broker" record, always empty. */
const NOTHING_DELIVERED: object = new Proxy(Object.create(null) as object, {
  get: () => undefined,
  set: () => true,
});

/** An error that carries a CONNACK return code, as aedes' `authenticate` handler reads it. */
class ConnackError extends Error {
  readonly returnCode: RefusalCode;
  constructor(returnCode: RefusalCode, message: string) {
    super(message);
    this.returnCode = returnCode;
  }
}

/**
 * The embedded aedes broker of the platform.
 *
 * ```ts
 * const broker = new FacilityBroker({ facility, services, persistence: { kind: 'level', dir } });
 * await broker.start();
 * broker.ports.mqtt; // the bound port
 * await broker.stop();
 * ```
 *
 * Refusals (`refusals`):
 * * CONNECT: unknown user or wrong secret → CONNACK 4; a device using another client id than
 *   its own → 2; over `maxConnections` → 3; a Will on a topic the client may not publish → 5.
 * * PUBLISH on a topic the client may not publish, a payload over `maxPayloadBytes`, a device
 *   over its rate: the connection is closed, since MQTT 3.1.1 has no negative acknowledgement
 *   for PUBLISH [MQTT-3.3.5-2]; nothing is delivered.
 * * SUBSCRIBE to a filter the client may not read: that filter's SUBACK return code is 0x80
 *   (MQTT 3.1.1 §3.9.3); the connection stays up.
 *
 * Handlers never throw; unexpected errors are logged and refuse the operation.
 */
export class FacilityBroker {
  readonly #options: FacilityBrokerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #principals = new WeakMap<Client, Principal>();
  readonly #wills = new WeakMap<Client, string>();
  /** Numbers each connection for the gate (1, 2, …; 0 is the broker publishing a Will). */
  readonly #connections = new WeakMap<Client, number>();
  #lastConnection = 0;
  readonly #refusals = new Map<RefusalReason, number>();
  readonly #lastLogged = new Map<string, { at: number; suppressed: number }>();
  /** The throttling key of each connection's address (login-guard.ts `addressKey`). */
  readonly #addresses = new WeakMap<Client, string>();
  readonly #guard: LoginGuard;
  readonly #registry = new Registry();
  #secretCache: SecretCache | undefined;
  #rateLimiter: RateLimiter | undefined;
  #running: Running | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: FacilityBrokerOptions) {
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ module: 'broker' });
    this.#now = options.now ?? Date.now;
    this.#guard = new LoginGuard({ ...options.loginGuard, now: this.#now });
    this.#registerMetrics();
  }

  /**
   * The broker's Prometheus metrics (`broker_*`): connected clients, refusals by reason, failed and
   * throttled logins, locks, secret verifications. The composition root merges this registry with
   * the ingest's for `/metrics`.
   */
  get registry(): Registry {
    return this.#registry;
  }

  /** Secret verifications running and waiting now (see login-guard.ts). */
  get verifying(): { readonly active: number; readonly queued: number } {
    return this.#guard.verifying;
  }

  /** The ports bound, once started. */
  get ports(): BrokerPorts {
    return { ...this.#running?.ports };
  }

  /** Clients connected now. */
  get connectedClients(): number {
    return this.#running?.aedes?.connectedClients ?? 0;
  }

  /** Refusals since construction, by reason (every reason present, zero or more). */
  get refusals(): Readonly<Record<RefusalReason, number>> {
    return Object.fromEntries(
      REFUSAL_REASONS.map((reason) => [reason, this.#refusals.get(reason) ?? 0]),
    ) as Record<RefusalReason, number>;
  }

  /** Opens the persistence and starts the listeners. Idempotent. */
  async start(): Promise<void> {
    if (this.#starting) return this.#starting;
    if (this.#running) return;
    await this.#stopping;
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  /** Disconnects every client, closes the listeners and the persistence. Idempotent. */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => {});
    this.#stopping ??= this.#stop().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async #start(): Promise<void> {
    const options = this.#options;
    const maxPayloadBytes = options.maxPayloadBytes ?? BROKER_DEFAULTS.maxPayloadBytes;
    const maxConnections = options.maxConnections ?? BROKER_DEFAULTS.maxConnections;
    const rateLimit = options.rateLimit ?? BROKER_DEFAULTS.rateLimit;
    checkPositiveInteger('maxPayloadBytes', maxPayloadBytes);
    checkPositiveInteger('maxConnections', maxConnections);
    if (!(rateLimit.perSecond > 0) || !(rateLimit.burst >= 1)) {
      throw new Error('broker rateLimit: perSecond must be > 0 and burst ≥ 1');
    }
    checkServices(options.facility, options.services);
    const persistenceChoice = options.persistence ?? defaultPersistence(options.dataDir);
    const host = options.host ?? BROKER_DEFAULTS.host;

    this.#secretCache = new SecretCache({
      ttlMs: options.secretCacheTtlMs ?? BROKER_DEFAULTS.secretCacheTtlMs,
      now: this.#now,
      schedule: (task) => this.#guard.verify(task),
    });
    this.#rateLimiter = new RateLimiter(rateLimit, this.#now);

    // deliverOutOfOrder leans on aedes internals: probe them before anything is opened.
    await checkAedesDelivery(deliverOutOfOrder);
    const persistence = await openPersistence(persistenceChoice);
    const running: Running = { persistence, servers: [], sockets: new Set(), ports: {} };
    this.#running = running;
    try {
      const emitter = await openEmitter(options.emitter ?? { kind: 'memory' }, CONCURRENCY, (error) =>
        this.#log.error({ err: error.message }, 'message emitter error'),
      );
      const aedes = await Aedes.createBroker({
        concurrency: CONCURRENCY,
        preConnect: (client, packet, done) => this.#preConnect(client, packet, done),
        authenticate: (client, username, password, done) =>
          this.#authenticate(aedes, maxConnections, client, username, password, done),
        authorizePublish: (client, packet, done) =>
          this.#authorizePublish(maxPayloadBytes, client, packet, done),
        authorizeSubscribe: (client, subscription, done) =>
          this.#authorizeSubscribe(client, subscription, done),
        ...(options.id === undefined ? {} : { id: options.id }),
        ...(persistence.instance === undefined ? {} : { persistence: persistence.instance }),
        ...(emitter.instance === undefined ? {} : { mq: emitter.instance }),
      });
      running.aedes = aedes;
      this.#watch(aedes);
      aedes.on('connackSent', (_packet, client) => releaseHeld(client, true));

      for (const clientId of options.dropSessions ?? []) {
        const subscriptions = await dropSession(aedes, clientId);
        if (subscriptions > 0) {
          this.#log.info({ clientId, subscriptions }, 'ended a stored session nobody takes up any more');
        }
      }
      const gate = options.gate;
      if (gate) gate.restore(await retainedMessages(aedes, `${TOPIC_ROOT}/#`));

      const accept = (stream: Duplex, address: string | undefined, req?: IncomingMessage) => {
        running.sockets.add(stream);
        const connection = ++this.#lastConnection;
        stream.once('close', () => {
          running.sockets.delete(stream);
          gate?.disconnected(connection);
        });
        const client = aedes.handle(stream, req);
        this.#connections.set(client, connection);
        this.#addresses.set(client, addressKey(address));
        deliverOutOfOrder(client);
        holdUntilConnack(client, stream);
        watchPacketSize(stream, maxPayloadBytes + PACKET_OVERHEAD_BYTES, (length) => {
          this.#refuse('payload-too-large', client.id ?? 'unknown', { packetBytes: length });
          stream.destroy();
        });
      };

      // Nagle's algorithm holds small writes until the previous one is acknowledged, which puts
      // a QoS 1 PUBLISH → PUBACK round trip at ~40 ms (the peer's delayed ACK); MQTT packets are
      // small and latency-bound, so every socket sets no-delay.
      const tcp = createNetServer({ noDelay: true, highWaterMark: SOCKET_READ_BYTES }, (socket: Socket) =>
        accept(socket, socket.remoteAddress),
      );
      running.servers.push(tcp);
      running.ports.mqtt = await listen(tcp, host, options.mqttPort ?? BROKER_DEFAULTS.mqttPort);

      if (options.tls) {
        const tls = createTlsServer({ cert: options.tls.cert, key: options.tls.key }, (socket: TLSSocket) => {
          socket.setNoDelay(true);
          accept(socket, socket.remoteAddress);
        });
        tls.on('tlsClientError', (error) => this.#log.debug({ err: error.message }, 'TLS handshake failed'));
        running.servers.push(tls);
        running.ports.tls = await listen(tls, host, options.tls.port ?? BROKER_DEFAULTS.tlsPort);
      }

      if (options.wsPort !== undefined) {
        const http = createHttpServer((_req, res) => {
          res.writeHead(426, { upgrade: 'websocket', 'content-type': 'text/plain' });
          res.end('MQTT over WebSocket: connect with a WebSocket client\n');
        });
        const wss = new WebSocketServer({
          server: http,
          maxPayload: maxPayloadBytes + PACKET_OVERHEAD_BYTES,
        });
        wss.on('connection', (websocket, req) => {
          req.socket.setNoDelay(true);
          const stream = createWebSocketStream(websocket);
          // A client that vanishes mid-frame errors the stream; aedes sees the close.
          stream.on('error', (error) => this.#log.debug({ err: error.message }, 'WebSocket stream error'));
          accept(stream, req.socket.remoteAddress, req);
        });
        wss.on('error', (error) => this.#log.warn({ err: error.message }, 'WebSocket server error'));
        running.wss = wss;
        running.servers.push(http);
        running.ports.ws = await listen(http, host, options.wsPort);
      }

      this.#log.info(
        { ...running.ports, host, persistence: persistence.description, emitter: emitter.description },
        'broker listening',
      );
    } catch (error) {
      await this.#stop().catch(() => {});
      throw error;
    }
  }

  async #stop(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    this.#running = undefined;
    const failures: unknown[] = [];
    const step = async (what: string, action: () => Promise<void> | void) => {
      try {
        await action();
      } catch (error) {
        failures.push(error);
        this.#log.error(
          { err: error instanceof Error ? error.message : String(error) },
          `broker stop: ${what}`,
        );
      }
    };

    // Stop accepting first; each server's close resolves once its last connection ends.
    const closed = running.servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
        }),
    );
    // Held messages get their acknowledgement while their connections are still open.
    const gate = this.#options.gate;
    if (gate && running.aedes) {
      await step('publish gate', () => gate.settle(this.#options.gateSettleMs ?? 2000));
    }
    if (running.aedes) {
      const aedes = running.aedes;
      await step('aedes', () => new Promise<void>((resolve) => aedes.close(() => resolve())));
    }
    await step('WebSocket server', () => {
      for (const websocket of running.wss?.clients ?? []) websocket.terminate();
      running.wss?.close();
    });
    for (const socket of running.sockets) socket.destroy();
    await step('listeners', async () => {
      await Promise.all(closed);
    });
    await step('persistence', () => running.persistence.close());
    this.#log.info('broker stopped');
    if (failures.length > 0) throw new AggregateError(failures, 'broker stop failed');
  }

  /** Logs what aedes reports about clients, at a level matching how interesting it is. */
  #watch(aedes: Aedes): void {
    aedes.on('clientReady', (client) => {
      const principal = this.#principals.get(client);
      this.#log.debug({ client: client.id, ...principal }, 'client connected');
    });
    aedes.on('clientDisconnect', (client) => this.#log.debug({ client: client.id }, 'client disconnected'));
    aedes.on('clientError', (client, error) =>
      this.#log.debug({ client: client.id, err: error.message }, 'client error'),
    );
    aedes.on('connectionError', (_client, error) =>
      this.#log.debug({ err: error.message }, 'connection error'),
    );
    // aedes emits 'error' when the persistence fails while routing a message; unhandled, the
    // event would end the process.
    (aedes as EventEmitter).on('error', (error: Error) =>
      this.#log.error({ err: error.message }, 'broker persistence error'),
    );
  }

  #preConnect(client: Client, packet: ConnectPacket, done: (error: Error | null, ok: boolean) => void): void {
    // The Will is published later on the client's behalf; remember its topic so authenticate
    // can check it against the ACL before the session is set up.
    if (packet.will) this.#wills.set(client, packet.will.topic);
    done(null, true);
  }

  #authenticate(
    aedes: Aedes,
    maxConnections: number,
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: ConnackError | null, ok: boolean | null) => void,
  ): void {
    if (aedes.connectedClients >= maxConnections) {
      this.#refuse('max-connections', client.id, { max: maxConnections });
      done(new ConnackError(CONNACK.SERVER_UNAVAILABLE, 'server unavailable'), null);
      return;
    }
    const address = this.#addresses.get(client) ?? 'unknown';
    const admission = this.#guard.admit(username, address);
    if (!admission.ok) {
      // Refused before the password is looked at, so guessing costs no scrypt. CONNACK 3: the
      // service is unavailable to this client for now (MQTT 3.1.1 §3.2.2.3); 3.1.1 has no code
      // for "rate limited".
      const { by, key, blocked } = admission;
      this.#refuse('login-throttled', key, {
        by,
        client: client.id,
        user: username,
        address,
        ...(blocked
          ? {
              retryInSeconds: Math.ceil((blocked.untilMs - this.#now()) / 1000),
              hint: `too many failed logins from this ${by === 'user' ? 'user name' : 'address'}${blocked.locked ? ' (locked)' : ''}; refused without checking the password until the back-off ends`,
            }
          : {
              hint: `another login of this ${by === 'user' ? 'user name' : 'address'} is being checked; one at a time`,
            }),
      });
      done(new ConnackError(CONNACK.SERVER_UNAVAILABLE, 'login throttled'), null);
      return;
    }
    authenticate(this.#options.facility, this.#options.services, username, password, {
      clientId: client.id,
      ...(this.#secretCache ? { cache: this.#secretCache } : {}),
      schedule: admission.schedule,
    }).then(
      (result) => {
        if (!result.ok) {
          if (GUESSES.has(result.reason)) this.#guard.failed(username, address);
          this.#refuse(result.reason, username ?? client.id, {
            client: client.id,
            address,
            ...(result.reason === 'client-id'
              ? {
                  hint: `client id must equal the device id: connect as "${username}" with client id "${username}" (mosquitto_pub -i ${username})`,
                }
              : {}),
          });
          done(new ConnackError(result.returnCode, result.reason), null);
          return;
        }
        this.#guard.succeeded(username as string, address);
        const will = this.#wills.get(client);
        if (will !== undefined && !authorizePublish(result.principal, will)) {
          this.#refuse('will-denied', who(result.principal), { topic: will });
          done(new ConnackError(CONNACK.NOT_AUTHORIZED, 'will not authorized'), null);
          return;
        }
        this.#principals.set(client, result.principal);
        done(null, true);
      },
      (error: unknown) => {
        if (error instanceof VerificationBusyError) {
          this.#refuse('auth-busy', username ?? client.id, {
            client: client.id,
            address,
            hint: `${error.message}; refused, try again shortly`,
          });
          done(new ConnackError(CONNACK.SERVER_UNAVAILABLE, 'authentication busy'), null);
          return;
        }
        this.#refuse('auth-error', username ?? client.id, { err: String(error) });
        done(new ConnackError(CONNACK.SERVER_UNAVAILABLE, 'authentication failed'), null);
      },
    );
  }

  #authorizePublish(
    maxPayloadBytes: number,
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    try {
      // No client: a Will of a client of a broker that is gone, checked when it connected.
      if (!client) {
        if (packet.topic.startsWith('$')) return done(new Error('reserved topic'));
        return this.#pass(packet, 0, done);
      }
      const principal = this.#principals.get(client);
      const name = principal ? who(principal) : client.id;
      const size =
        typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
      if (size > maxPayloadBytes) {
        this.#refuse('payload-too-large', name, { topic: packet.topic, bytes: size, max: maxPayloadBytes });
        return done(new Error('payload too large'));
      }
      if (!principal || !authorizePublish(principal, packet.topic)) {
        this.#refuse('publish-denied', name, { topic: packet.topic });
        return done(new Error('publish not authorized'));
      }
      // A closed client's publish is its Will, sent on its behalf: not the device's rate.
      if (isDevice(principal) && !client.closed && !this.#rateLimiter?.take(principal.id)) {
        this.#refuse('rate-limited', name, {});
        return done(new Error('publish rate exceeded'));
      }
      // A closed client's publish is its Will, which the broker publishes (connection 0).
      this.#pass(packet, client.closed ? 0 : (this.#connections.get(client) ?? 0), done);
    } catch (error) {
      this.#log.error({ err: String(error) }, 'authorizePublish failed');
      done(new Error('publish not authorized'));
    }
  }

  /** Lets an authorized PUBLISH through the gate, if there is one; aedes acknowledges it after. */
  #pass(packet: PublishPacket, connection: number, done: (error?: Error | null) => void): void {
    const gate = this.#options.gate;
    if (!gate) return done(null);
    gate.admit(
      {
        topic: packet.topic,
        payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload,
        qos: packet.qos,
        retain: packet.retain,
        connection,
      },
      (error) => done(error ?? null),
    );
  }

  #authorizeSubscribe(
    client: Client,
    subscription: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    try {
      const principal = this.#principals.get(client);
      if (principal && authorizeSubscribe(principal, subscription.topic)) return done(null, subscription);
      this.#refuse('subscribe-denied', principal ? who(principal) : client.id, {
        filter: subscription.topic,
      });
      // A null subscription makes aedes answer 0x80 for this filter only (MQTT 3.1.1 §3.9.3).
      done(null, null);
    } catch (error) {
      this.#log.error({ err: String(error) }, 'authorizeSubscribe failed');
      done(null, null);
    }
  }

  #registerMetrics(): void {
    const registers = [this.#registry];
    const broker = this;
    const guard = this.#guard;
    const BY: readonly ThrottledBy[] = ['user', 'address'];
    new Gauge({
      name: 'broker_clients_connected',
      help: 'MQTT clients connected now',
      registers,
      collect() {
        this.set(broker.connectedClients);
      },
    });
    // Counters read from the broker's own tallies at each scrape (reset, then the running total).
    new Counter({
      name: 'broker_refusals_total',
      help: 'Connections, publishes and subscriptions the broker refused, by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(broker.refusals)) this.inc({ reason }, count);
      },
    });
    new Counter({
      name: 'broker_login_failures_total',
      help: 'Failed MQTT logins counted by the throttles (unknown user, wrong or missing password)',
      registers,
      collect() {
        this.reset();
        this.inc(guard.counters.failures);
      },
    });
    new Counter({
      name: 'broker_login_throttled_total',
      help: 'MQTT logins refused at once (CONNACK 3) because their user name or address is backing off',
      labelNames: ['by'],
      registers,
      collect() {
        this.reset();
        for (const by of BY) this.inc({ by }, guard.counters.throttled[by]);
      },
    });
    new Counter({
      name: 'broker_login_locks_total',
      help: 'Times a user name or address reached the login lock',
      labelNames: ['by'],
      registers,
      collect() {
        this.reset();
        for (const by of BY) this.inc({ by }, guard.counters.locks[by]);
      },
    });
    new Gauge({
      name: 'broker_login_blocked',
      help: 'User names and addresses whose logins are held back now',
      labelNames: ['by'],
      registers,
      collect() {
        const blocked = guard.blockedKeys();
        for (const by of BY) this.set({ by }, blocked[by]);
      },
    });
    new Counter({
      name: 'broker_secret_verifications_total',
      help: 'secretHash verifications (scrypt) run; refusals for a full queue are refusals{reason="auth-busy"}',
      registers,
      collect() {
        this.reset();
        this.inc(guard.counters.verifications);
      },
    });
    new Gauge({
      name: 'broker_secret_verifications',
      help: 'secretHash verifications running and waiting now',
      labelNames: ['state'],
      registers,
      collect() {
        const { active, queued } = guard.verifying;
        this.set({ state: 'running' }, active);
        this.set({ state: 'queued' }, queued);
      },
    });
  }

  /** Counts a refusal and logs it, at most once per client and reason per {@link LOG_EVERY_MS}. */
  #refuse(reason: RefusalReason, name: string, details: Record<string, unknown>): void {
    this.#refusals.set(reason, (this.#refusals.get(reason) ?? 0) + 1);
    const key = `${name}\0${reason}`;
    const now = this.#now();
    const last = this.#lastLogged.get(key);
    if (last && now - last.at < LOG_EVERY_MS) {
      last.suppressed += 1;
      return;
    }
    this.#lastLogged.set(key, { at: now, suppressed: 0 });
    // Names of refused logins come from the wire, so the map is bounded: old entries go first,
    // and a flood of fresh names within one period only costs extra log lines.
    if (this.#lastLogged.size > 10_000) {
      for (const [entry, value] of this.#lastLogged) {
        if (now - value.at >= LOG_EVERY_MS) this.#lastLogged.delete(entry);
      }
      if (this.#lastLogged.size > 10_000) this.#lastLogged.clear();
    }
    this.#log.warn(
      { reason, who: name, ...details, ...(last?.suppressed ? { suppressed: last.suppressed } : {}) },
      'refused',
    );
  }
}

/** aedes' persistence, as far as the broker reads it (aedes types it `any`). */
interface SessionStore {
  createRetainedStream(pattern: string): AsyncIterable<PublishPacket>;
  subscriptionsByClient(client: { id: string }): Promise<unknown[]>;
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
  outgoingStream(client: { id: string }): AsyncIterable<PublishPacket>;
  outgoingClearMessageId(client: { id: string }, packet: PublishPacket): Promise<unknown>;
}

function sessionStore(aedes: Aedes): SessionStore {
  return (aedes as unknown as { persistence: SessionStore }).persistence;
}

/**
 * Ends the stored session of `clientId` as a clean CONNECT of it would [MQTT-3.1.2-6]: its
 * subscriptions, and the messages queued for it. Returns how many subscriptions it had.
 */
async function dropSession(aedes: Aedes, clientId: string): Promise<number> {
  const store = sessionStore(aedes);
  const client = { id: clientId };
  const subscriptions = await store.subscriptionsByClient(client);
  if (subscriptions.length === 0) return 0;
  await store.cleanSubscriptions(client);
  const queued: PublishPacket[] = [];
  for await (const packet of store.outgoingStream(client)) queued.push(packet);
  for (const packet of queued) await store.outgoingClearMessageId(client, packet);
  return subscriptions.length;
}

/** The retained messages under `pattern`, topic and payload. */
async function retainedMessages(
  aedes: Aedes,
  pattern: string,
): Promise<Array<{ topic: string; payload: Uint8Array }>> {
  const out: Array<{ topic: string; payload: Uint8Array }> = [];
  for await (const packet of sessionStore(aedes).createRetainedStream(pattern)) {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
    out.push({ topic: packet.topic, payload });
  }
  return out;
}

/** A principal's name in logs: the device id or `service:{name}`. */
function who(principal: Principal): string {
  return isDevice(principal) ? principal.id : `service:${principal.service}`;
}

function defaultPersistence(dataDir: string | undefined): BrokerPersistence {
  if (dataDir === undefined) {
    throw new Error('broker: give a persistence, or a dataDir for the default LevelDB persistence');
  }
  return { kind: 'level', dir: join(dataDir, 'mqtt') };
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`broker ${name}: must be a positive integer`);
}

/** Service credentials must be usable and must not shadow a device (user names are one namespace). */
function checkServices(facility: Facility, services: readonly ServiceCredential[]): void {
  const devices = new Set([...facility.meters, ...facility.vehicles, ...facility.sensors].map((d) => d.id));
  const seen = new Set<string>();
  for (const service of services) {
    if (!service.username || !service.password) {
      throw new Error(`broker service credential "${service.service}": user name and password are required`);
    }
    if (devices.has(service.username)) {
      throw new Error(
        `broker service credential "${service.service}": user name "${service.username}" is a device id`,
      );
    }
    if (seen.has(service.username)) {
      throw new Error(`broker service credentials: user name "${service.username}" is given twice`);
    }
    seen.add(service.username);
  }
}

/** Listens and resolves with the bound port. */
async function listen(
  server: NetServer | TlsServer | HttpServer,
  host: string,
  port: number,
): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}
