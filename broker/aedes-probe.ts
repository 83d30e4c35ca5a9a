/**
 * A check, at start, of the aedes behaviour `deliverOutOfOrder` (broker.ts) rests on, which aedes
 * does not document: each client keeps the last broker counter it was sent, per broker, in
 * `client.duplicates`, and skips a delivery whose counter is not above it (`dedupe` in
 * aedes/lib/client.js, moscajs/aedes#955). The broker replaces that record with one that is always
 * empty, so a message reordered by an asynchronous persistence is still delivered.
 *
 * The probe runs a throwaway aedes (memory persistence) with one real MQTT client connected over
 * an in-memory stream, applies the replacement to its server-side client, and delivers two
 * messages of one broker with counters 2 then 1 — the order an asynchronous persistence can
 * produce. Both must arrive; stock aedes drops the second. No network; a few milliseconds.
 * package.json pins the aedes version it was verified with.
 */
import { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import { MqttClient } from 'mqtt';

/** The aedes version the broker was verified with (package.json pins it). */
export const VERIFIED_AEDES = '1.2.0';

/** Two in-memory streams, each writing into the other. */
function streamPair(): [Duplex, Duplex] {
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        peer().push(chunk);
        callback();
      },
      final(callback) {
        peer().push(null);
        callback();
      },
    });
  const a: Duplex = make(() => b);
  const b: Duplex = make(() => a);
  return [a, b];
}

/**
 * What went wrong, or undefined when aedes behaves as the broker needs. `apply` is the broker's
 * replacement of the client's delivery record.
 */
export async function probeAedesDelivery(
  apply: (client: Client) => void,
  timeoutMs = 2000,
): Promise<string | undefined> {
  const aedes = await Aedes.createBroker();
  aedesVersion = (aedes as unknown as { version?: string }).version ?? aedesVersion;
  const [server, device] = streamPair();
  let client: MqttClient | undefined;
  try {
    const ready = new Promise<Client>((resolve) => aedes.once('clientReady', resolve));
    aedes.handle(server);
    client = new MqttClient(() => device, {
      clientId: 'aedes-probe',
      protocolVersion: 4,
      reconnectPeriod: 0,
      keepalive: 0,
      connectTimeout: timeoutMs,
    });
    client.on('error', () => {});
    const received: string[] = [];
    client.on('message', (_topic, payload) => received.push(payload.toString()));
    const serverClient = await Promise.race([ready, timeout(timeoutMs)]);
    if (!serverClient) return 'no client became ready over a stream';
    const record = (serverClient as unknown as { duplicates?: unknown }).duplicates;
    if (record === null || typeof record !== 'object') return 'its clients have no `duplicates` record';
    apply(serverClient);
    const deliver = (serverClient as unknown as { deliver0?: (packet: object, done: () => void) => void })
      .deliver0;
    if (typeof deliver !== 'function') return 'its clients have no deliver0';
    for (const counter of [2, 1]) {
      await new Promise<void>((resolve) =>
        deliver.call(
          serverClient,
          {
            cmd: 'publish',
            topic: 'probe',
            payload: Buffer.from(String(counter)),
            qos: 0,
            retain: false,
            dup: false,
            brokerId: 'probe-broker',
            brokerCounter: counter,
          },
          () => resolve(),
        ),
      );
    }
    const deadline = Date.now() + timeoutMs;
    while (received.length < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 2));
    if (received.join(',') !== '2,1') {
      return `of two messages with broker counters 2 then 1, the client got ${received.length === 0 ? 'none' : received.join(' then ')}`;
    }
    return undefined;
  } finally {
    client?.end(true);
    server.destroy();
    device.destroy();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
}

let probed: Promise<void> | undefined;
let aedesVersion = 'of unknown version';

/**
 * Throws, naming the library and its version, when the installed aedes does not behave as the
 * broker needs. Probed once per process.
 */
export function checkAedesDelivery(apply: (client: Client) => void): Promise<void> {
  probed ??= probeAedesDelivery(apply).then((problem) => {
    if (problem !== undefined) throw aedesProbeError(problem, aedesVersion);
  });
  return probed;
}

/** The start-up error for a failed probe: the library, its version, what is wrong, what to do. */
export function aedesProbeError(problem: string, version: string): Error {
  return new Error(
    `broker: aedes ${version} does not let the broker deliver messages out of counter order (${problem}). ` +
      'Without it, QoS 1 messages that LevelDB or Redis reorder are acknowledged but not delivered ' +
      `(moscajs/aedes#955). Verified with aedes ${VERIFIED_AEDES}; install that version (package.json ` +
      'pins it) or adapt deliverOutOfOrder in broker/broker.ts.',
  );
}

function timeout(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
