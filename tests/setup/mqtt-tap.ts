/**
 * A TCP relay in front of an MQTT 3.1.1 broker that reads the traffic of the clients going
 * through it: each QoS 1 PUBLISH the broker delivers (topic, payload, packet id) and each PUBACK
 * the client sends back, per connection. So a test sees, on the wire, which messages a
 * subscriber has acknowledged, without asking the subscriber or the broker. Only for clients
 * that subscribe: the client's own PUBLISH packets are not followed.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/** One QoS 1 PUBLISH the broker sent to a client. */
export interface Delivery {
  /** `topic payload`, the message's identity in the test. */
  readonly key: string;
  /** 1 for the first connection through the tap, then 2, … */
  readonly connection: number;
  /** `performance.now()` when the tap passed it on. */
  readonly at: number;
  /** Whether the client acknowledged it on this connection (as far as the tap saw). */
  acked: boolean;
}

/** MQTT control packet types (MQTT 3.1.1 §2.2.1). */
const PUBLISH = 3;
const PUBACK = 4;

/** See the module comment. */
export class MqttTap {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #deliveries: Delivery[] = [];
  #connections = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on a free port of 127.0.0.1 and relays each connection to `brokerPort`. */
  static async start(brokerPort: number): Promise<MqttTap> {
    const server = createServer();
    const tap = new MqttTap(server);
    server.on('connection', (client) => tap.#relay(client, brokerPort));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return tap;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Connections relayed so far. */
  get connections(): number {
    return this.#connections;
  }

  /** Every QoS 1 delivery, in order. */
  get deliveries(): readonly Delivery[] {
    return this.#deliveries;
  }

  /** Keys of the messages the client acknowledged, on any connection. */
  ackedKeys(): Set<string> {
    return new Set(this.#deliveries.filter((d) => d.acked).map((d) => d.key));
  }

  /** Deliveries of the latest connection not acknowledged (yet). */
  outstanding(): Delivery[] {
    return this.#deliveries.filter((d) => d.connection === this.#connections && !d.acked);
  }

  /** Closes the listener and every relayed connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #relay(client: Socket, brokerPort: number): void {
    const connection = ++this.#connections;
    const upstream = tcpConnect(brokerPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    /** Packet id → delivery awaiting its PUBACK, on this connection. */
    const waiting = new Map<number, Delivery>();
    upstream.on(
      'data',
      packets((type, flags, body) => {
        if (type !== PUBLISH || ((flags >> 1) & 3) !== 1) return;
        const topicLength = body.readUInt16BE(0);
        const topic = body.toString('utf8', 2, 2 + topicLength);
        const packetId = body.readUInt16BE(2 + topicLength);
        const payload = body.toString('utf8', 4 + topicLength);
        const delivery: Delivery = {
          key: `${topic} ${payload}`,
          connection,
          at: performance.now(),
          acked: false,
        };
        this.#deliveries.push(delivery);
        waiting.set(packetId, delivery);
      }),
    );
    client.on(
      'data',
      packets((type, _flags, body) => {
        if (type !== PUBACK) return;
        const packetId = body.readUInt16BE(0);
        const delivery = waiting.get(packetId);
        if (delivery) delivery.acked = true;
        waiting.delete(packetId);
      }),
    );
    upstream.pipe(client);
    client.pipe(upstream);
  }
}

/** A `data` listener that cuts a byte stream into MQTT packets (fixed header §2.2). */
function packets(onPacket: (type: number, flags: number, body: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      // Remaining length: a varint of up to 4 bytes after the first byte (§2.2.3).
      let length = 0;
      let multiplier = 1;
      let at = 1;
      let complete = false;
      while (at < pending.length && at <= 4) {
        const byte = pending[at] as number;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        at++;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || pending.length < at + length) return;
      const first = pending[0] as number;
      onPacket(first >> 4, first & 0x0f, pending.subarray(at, at + length));
      pending = pending.subarray(at + length);
    }
  };
}
