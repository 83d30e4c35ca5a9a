/**
 * A check, at start, of the mqtt.js behaviour the ingest's acknowledgements rest on (see the
 * module comment of ingest.ts), none of which mqtt.js documents:
 *
 * 1. when `handleMessage` answers a QoS 1 PUBLISH with an error, mqtt.js goes on to the next
 *    packet **without** sending the PUBACK (`handlers/publish.js`, QoS 1 branch);
 * 2. the private `MqttClient._sendPacket` sends a PUBACK later, by packet id.
 *
 * The probe runs a real `MqttClient` over an in-memory stream, plays the broker's side with raw
 * packets (MQTT 3.1.1: CONNACK §3.2, PUBLISH §3.3, PUBACK §3.4), and watches what the client
 * writes. It takes a few milliseconds and needs no network. package.json pins the mqtt version it
 * was verified with; another version that behaves the same passes.
 */
import { Duplex } from 'node:stream';
import { MQTTJS_VERSION, MqttClient } from 'mqtt';

/** The mqtt.js version the ingest was verified with (package.json pins it). */
export const VERIFIED_MQTTJS = '5.16.0';

// CONNACK, session not present, accepted [MQTT-3.2.2].
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
// PUBLISH, QoS 1, topic "probe", packet id 7, payload "x": 2 + 5 + 2 + 1 = 10 bytes remaining.
const PUBLISH = Buffer.from([0x32, 0x0a, 0x00, 0x05, ...Buffer.from('probe'), 0x00, 0x07, 0x78]);
// PUBACK of packet id 7 [MQTT-3.4].
const PUBACK = Buffer.from([0x40, 0x02, 0x00, 0x07]);

/** What went wrong, or undefined when mqtt.js behaves as the ingest needs (`Client`: tests only). */
export async function probeMqttAcknowledgements(
  Client: typeof MqttClient = MqttClient,
  timeoutMs = 2000,
): Promise<string | undefined> {
  let written = Buffer.alloc(0);
  let answered = false;
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written = Buffer.concat([written, chunk]);
      // The client's first bytes are its CONNECT (written in pieces): accept it.
      if (!answered) {
        answered = true;
        setImmediate(() => stream.push(CONNACK));
      }
      callback();
    },
  });
  const client = new Client(() => stream, {
    clientId: 'ingest-probe',
    protocolVersion: 4,
    reconnectPeriod: 0,
    keepalive: 0,
    connectTimeout: timeoutMs,
  });
  client.on('error', () => {});
  try {
    let handled: () => void = () => {};
    const gotMessage = new Promise<void>((resolve) => {
      handled = resolve;
    });
    client.handleMessage = (_packet, callback) => {
      callback(new Error('withheld'));
      handled();
    };
    const connected = new Promise<void>((resolve) => client.once('connect', () => resolve()));
    if (!(await within(connected, timeoutMs))) return 'it did not connect over a stream';
    written = Buffer.alloc(0);
    stream.push(PUBLISH);
    if (!(await within(gotMessage, timeoutMs))) return 'handleMessage was not called for a QoS 1 PUBLISH';
    // Whatever mqtt.js would write in answer is written within a few turns of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (written.length > 0) {
      return `it sent ${written.toString('hex')} after handleMessage answered with an error, where nothing was due`;
    }
    const sender = (client as unknown as { _sendPacket?: (packet: object, callback?: () => void) => void })
      ._sendPacket;
    if (typeof sender !== 'function') return 'MqttClient has no _sendPacket';
    sender.call(client, { cmd: 'puback', messageId: 7 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (!written.equals(PUBACK)) {
      return `_sendPacket({ cmd: 'puback', messageId: 7 }) wrote ${written.toString('hex') || 'nothing'}, not ${PUBACK.toString('hex')}`;
    }
    return undefined;
  } finally {
    client.end(true);
    stream.destroy();
  }
}

let probed: Promise<void> | undefined;

/**
 * Throws, naming the library and its version, when the installed mqtt.js does not behave as the
 * ingest needs. Probed once per process.
 */
export function checkMqttAcknowledgements(): Promise<void> {
  probed ??= probeMqttAcknowledgements().then((problem) => {
    if (problem !== undefined) throw mqttProbeError(problem);
  });
  return probed;
}

/** The start-up error for a failed probe: the library, its version, what is wrong, what to do. */
export function mqttProbeError(problem: string): Error {
  return new Error(
    `ingest: mqtt.js ${MQTTJS_VERSION} does not withhold and later send PUBACKs as the ingest needs ` +
      `(${problem}). The ingest acknowledges a message only once the store committed it, through ` +
      `behaviour of mqtt.js that is not public API, verified with mqtt ${VERIFIED_MQTTJS}; install ` +
      'that version (package.json pins it) or adapt ingest/ingest.ts.',
  );
}

async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
