/**
 * One MQTT login from a chosen loopback address (127.0.0.2, 127.0.0.3, … are all this host on
 * Linux), so tests can be "another client address" without another machine.
 */
import { createConnection } from 'node:net';
import { MqttClient } from 'mqtt';

export interface Login {
  readonly port: number;
  /** Source address, e.g. `127.0.0.7`. */
  readonly from: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
}

/**
 * Tries one login; resolves with the CONNACK return code (0: accepted, then disconnected at once)
 * and how long the answer took, ms.
 */
export function loginFrom(login: Login): Promise<{ code: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const client = new MqttClient(
      () => createConnection({ host: '127.0.0.1', port: login.port, localAddress: login.from }),
      {
        clientId: login.clientId,
        ...(login.username === undefined ? {} : { username: login.username }),
        ...(login.password === undefined ? {} : { password: login.password }),
        reconnectPeriod: 0,
        connectTimeout: 60_000,
      },
    );
    const finish = (code: number) => {
      const ms = performance.now() - started;
      client.end(true, () => resolve({ code, ms }));
    };
    client.once('connect', () => finish(0));
    client.once('error', (error: Error & { code?: number | string }) => {
      if (typeof error.code === 'number') finish(error.code);
      else {
        client.end(true);
        reject(error);
      }
    });
  });
}
