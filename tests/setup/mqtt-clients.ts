/**
 * MQTT.js clients for broker tests: connect and end with the test, the CONNACK code a refused
 * connection gets, a recorder of received messages, the SUBACK code of one filter.
 */
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { onTestFinished } from 'vitest';

/** Connects (no automatic reconnect) and ends the client when the test ends. */
export async function connectClient(url: string, options: IClientOptions): Promise<MqttClient> {
  const mqtt = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  onTestFinished(() => mqtt.endAsync(true));
  return mqtt;
}

/** The CONNACK return code (MQTT 5: reason code) a connection attempt is refused with. */
export async function refusedWith(url: string, options: IClientOptions): Promise<number> {
  try {
    const mqtt = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    await mqtt.endAsync(true);
  } catch (error) {
    return (error as { code: number }).code;
  }
  throw new Error('the connection was accepted');
}

export interface Received {
  readonly topic: string;
  readonly payload: string;
}

/** Records every message a client receives; `until` waits for the log to satisfy a predicate. */
export function record(mqtt: MqttClient) {
  const messages: Received[] = [];
  const waiters: Array<() => void> = [];
  mqtt.on('message', (topic, payload) => {
    messages.push({ topic, payload: payload.toString() });
    for (const wake of waiters.splice(0)) wake();
  });
  const until = async (predicate: (all: readonly Received[]) => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(messages)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received ${JSON.stringify(messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return { messages, until };
}

/**
 * Resolves when the client's connection closes. The broker may cut it mid-write, which the
 * client reports as an error (ECONNRESET, EPIPE): expected here.
 */
export function closed(mqtt: MqttClient): Promise<void> {
  mqtt.on('error', () => {});
  if (!mqtt.connected) return Promise.resolve();
  return new Promise((resolve) => mqtt.once('close', () => resolve()));
}

/** The CONNACK of a client being connected by `connect()`. */
export function connack(mqtt: MqttClient): Promise<{ sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    mqtt.once('connect', (packet) => resolve({ sessionPresent: packet.sessionPresent }));
    mqtt.once('error', reject);
  });
}

/** The SUBACK return code for one filter: the granted QoS, or 0x80 (128) for a refusal. */
export async function grant(mqtt: MqttClient, filter: string, qos: 0 | 1): Promise<number> {
  try {
    const [granted] = await mqtt.subscribeAsync(filter, { qos });
    return granted?.qos ?? -1;
  } catch (error) {
    // MQTT.js rejects on a 0x80 and carries the SUBACK.
    const packet = (error as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted?.length === 1) return packet.granted[0] ?? -1;
    throw error;
  }
}
