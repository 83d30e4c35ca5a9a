/**
 * The live feed across api processes through the socket.io Redis adapter, on Debian's real
 * `redis-server`: a `facility broker`, and two `facility api` processes sharing one Redis (alerts
 * kept there, alert events fanned out through the adapter), the first with the alert engine. A
 * socket.io client on each. A car publishes 96 km/h: the engine in api A raises the speeding alert
 * and both clients see it; an operator acknowledges it through api B and the client on A sees
 * that; each api lists the same alert.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { FacilityProcess } from '../setup/facility-process.ts';
import { freePorts } from '../setup/influxd-process.ts';
import { RedisProcess } from '../setup/redis-process.ts';
import { until } from '../setup/wait.ts';

const SERVICE_SECRET = 'live-redis-service-secret';
const ADMIN_TOKEN = 'live-redis-admin-token-0123456789';
const SESSION_SECRET = 'live-redis-session-secret-0123456789abcdef';
const CAR = { id: 'v01', secret: 'demo-v01' };

interface AlertEvent {
  readonly id: string;
  readonly rule: string;
  readonly state: string;
  readonly subject: { readonly id: string };
  readonly acknowledgedBy: string | null;
}

async function tempFolder(prefix: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

async function api(
  name: string,
  facility: string,
  brokerUrl: string,
  redisUrl: string,
  engine: boolean,
): Promise<string> {
  const child = await FacilityProcess.start({
    args: [
      ...['api', '--facility', facility, '--data', await tempFolder(`sfp-live-redis-${name}-`)],
      ...['--http-port', '0', '--broker-url', brokerUrl, '--redis-url', redisUrl, '--log-level', 'warn'],
      ...(engine ? ['--alert-engine'] : []),
    ],
    env: {
      FACILITY_SERVICE_SECRET: SERVICE_SECRET,
      FACILITY_ADMIN_TOKEN: ADMIN_TOKEN,
      FACILITY_SESSION_SECRET: SESSION_SECRET,
    },
    ready: /^api: admin token/m,
  });
  onTestFinished(() => child.stop());
  const url = /^api: (http:\/\/127\.0\.0\.1:\d+)\/api\/v1/m.exec(child.stdout)?.[1];
  if (!url) throw new Error(`no address in\n${child.output}`);
  expect(child.stdout).toContain(`alerts in redis${engine ? ', alert engine here' : ''}`);
  return url;
}

async function client(url: string): Promise<{ socket: Socket; alerts: AlertEvent[] }> {
  const socket = io(url, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'], reconnection: false });
  onTestFinished(() => {
    socket.close();
  });
  const alerts: AlertEvent[] = [];
  socket.on('alert', (alert: AlertEvent) => alerts.push(alert));
  const ack = (await socket.timeout(10_000).emitWithAck('subscribe', { rooms: ['alerts'] })) as {
    rooms: string[];
  };
  expect(ack.rooms).toEqual(['alerts']);
  return { socket, alerts };
}

describe('the live feed across two api processes through redis-server', () => {
  it('shows an alert raised in one api to the clients of both, and its acknowledgement in the other', async () => {
    const redis = await RedisProcess.start();
    onTestFinished(() => redis.dispose());
    // The demo facility; speeding alerts at once (the default waits 30 s of speeding).
    const folder = await tempFolder('sfp-live-redis-');
    const facility = join(folder, 'facility.yaml');
    await writeFile(
      facility,
      `${await readFile(DEMO_FACILITY_PATH, 'utf8')}\nalerts:\n  rules:\n    - { id: vehicle-speeding, type: vehicle-speeding, forMinutes: 0 }\n`,
    );
    const [mqttPort] = await freePorts(1);
    const broker = await FacilityProcess.start({
      args: [
        ...['broker', '--facility', facility, '--data', await tempFolder('sfp-live-redis-broker-')],
        ...['--mqtt-port', String(mqttPort), '--log-level', 'warn'],
      ],
      env: { FACILITY_SERVICE_SECRET: SERVICE_SECRET },
      ready: /^MQTT broker/m,
    });
    onTestFinished(() => broker.stop());
    const brokerUrl = `mqtt://127.0.0.1:${mqttPort}`;
    const [a, b] = await Promise.all([
      api('a', facility, brokerUrl, redis.url, true),
      api('b', facility, brokerUrl, redis.url, false),
    ]);
    const [onA, onB] = await Promise.all([client(a), client(b)]);

    // The car, as a device, publishes a fix at 96 km/h (limit 80).
    const car = await connectAsync(brokerUrl, {
      clientId: CAR.id,
      username: CAR.id,
      password: CAR.secret,
      reconnectPeriod: 0,
    });
    onTestFinished(() => car.endAsync(true));
    const fix = { lat: 30.6586, lon: 104.0647, speed: 96, ignition: true, heading: 90 };
    const topic = `fac/cd-compound/vehicle/${CAR.id}/gps`;
    // Again every second until the engine has it (the api processes follow the broker on their own).
    const firing = (alerts: AlertEvent[]) =>
      alerts.find((x) => x.rule === 'vehicle-speeding' && x.subject.id === CAR.id && x.state === 'firing');
    await until(
      async () => {
        await car.publishAsync(topic, JSON.stringify({ ts: Date.now(), ...fix }), { qos: 1 });
        return firing(onA.alerts) !== undefined && firing(onB.alerts) !== undefined;
      },
      'the speeding alert on both clients',
      20_000,
      1000,
    );
    const alert = firing(onA.alerts) as AlertEvent;
    expect(firing(onB.alerts)?.id).toBe(alert.id);

    // An admin acknowledges it through api B (which runs no engine): the client on A sees it.
    const ack = await fetch(`${b}/api/v1/alerts/${alert.id}/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: '司机已提醒 driver told' }),
    });
    expect(ack.status).toBe(200);
    await until(
      () => onA.alerts.some((x) => x.id === alert.id && x.state === 'acknowledged'),
      'the acknowledgement on the client of api A',
      10_000,
    );
    // One alert, the same in both processes (one rule and subject: one open alert).
    for (const url of [a, b]) {
      const response = await fetch(`${url}/api/v1/alerts?state=open`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const { alerts } = (await response.json()) as { alerts: AlertEvent[] };
      expect(alerts.filter((x) => x.rule === 'vehicle-speeding')).toMatchObject([
        { id: alert.id, state: 'acknowledged', acknowledgedBy: 'bootstrap admin' },
      ]);
    }
  }, 90_000);
});
