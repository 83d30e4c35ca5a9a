/**
 * The live simulator and load mode against the real embedded broker (FacilityBroker on a free
 * port, in-memory sessions): devices log in with their own credentials, say `online`, publish
 * readings a plain subscriber receives and the telemetry decoder accepts, and say `offline` when
 * stopped. An injected clock makes a few simulated minutes pass at once. With the showcase on,
 * the leak, the empty conditioned room and the car out of the service area are in what the
 * devices publish from the first simulated minute.
 */
import { readFileSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FacilityBroker } from '../../broker/broker.ts';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { type LonLat, pointInPolygon } from '../../core/facility/geometry.ts';
import { loadFacility } from '../../core/facility/load.ts';
import type { Facility } from '../../core/facility/schema.ts';
import {
  createTelemetryDecoder,
  type MeterReading,
  type SensorState,
  type VehicleGps,
} from '../../core/telemetry.ts';
import { LiveSimulator } from '../../simulators/live.ts';
import { loadDevices, loadTestFacility, runLoad } from '../../simulators/load.ts';
import { createSimulation } from '../../simulators/simulation.ts';

function demoFacility(): Facility {
  const result = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!result.ok) throw new Error('the demo facility does not load');
  return result.facility;
}

const SERVICE = { service: 'test', username: 'svc-test', password: 'test-password' };

async function startBroker(facility: Facility): Promise<FacilityBroker> {
  const broker = new FacilityBroker({
    facility,
    services: [SERVICE],
    host: '127.0.0.1',
    mqttPort: 0,
    persistence: { kind: 'memory' },
  });
  onTestFinished(() => broker.stop());
  await broker.start();
  return broker;
}

async function subscriber(
  url: string,
  filter: string,
): Promise<{ client: MqttClient; messages: Array<[string, Buffer]> }> {
  const client = await connectAsync(url, {
    clientId: 'sim-test-subscriber',
    username: SERVICE.username,
    password: SERVICE.password,
    reconnectPeriod: 0,
  });
  onTestFinished(() => client.endAsync(true));
  const messages: Array<[string, Buffer]> = [];
  client.on('message', (topic, payload) => messages.push([topic, payload]));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages };
}

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('live simulator', () => {
  it('publishes minutes of simulated readings at high speed as real devices', async () => {
    const demo = demoFacility();
    // One device with only a secretHash: it cannot be simulated and is skipped.
    const facility: Facility = {
      ...demo,
      sensors: demo.sensors.map((s) => {
        if (s.id !== 's-b4-canteen') return s;
        const { secret: _plain, ...rest } = s;
        return { ...rest, secretHash: 'scrypt:1024:8:1:AAAAAAAAAAAAAAAAAAAAAA==:AAAAAAAAAAAAAAAAAAAAAA==' };
      }),
    };
    const broker = await startBroker(facility);
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    const { messages } = await subscriber(url, 'fac/#');

    // ×600 from a past Wednesday 09:00 in Chengdu: a simulated minute every real 100 ms.
    const start = Date.UTC(2026, 10, 18, 1, 0, 0);
    const simulation = createSimulation(facility, { seed: 11 });
    const devices = ['b1-e-main', 'b1-w-main', 'v01', 'v02', 's-b1-m0301', 's-b1-z-finance', 's-b4-canteen'];
    const live = new LiveSimulator({
      simulation,
      brokerUrl: url,
      speed: 600,
      start,
      devices,
      tickMs: 100,
      maxLeadMs: Number.POSITIVE_INFINITY,
    });
    onTestFinished(() => live.stop());
    await live.start();
    await live.start(); // idempotent
    expect(live.stats()).toMatchObject({ devices: 6, connected: 6 });
    const running = devices.filter((id) => id !== 's-b4-canteen');
    const statuses = (payload: string) =>
      new Set(
        messages
          .filter(([t, p]) => t.endsWith('/status') && p.toString() === payload)
          .map(([t]) => t.split('/')[3]),
      );
    await until(() => statuses('online').size === 6);
    expect([...statuses('online')].sort()).toEqual([...running].sort());

    await until(() => live.stats().simulatedTime >= start + 10 * 60_000);
    await live.stop();
    await live.stop(); // idempotent
    const stats = live.stats();
    expect(stats.errors).toBe(0);
    expect(stats.acknowledged).toBe(stats.messages);
    await until(() => statuses('offline').size === 6);

    // Every published reading is valid, and they are exactly the simulation's readings.
    const decoder = createTelemetryDecoder(facility, { maxAgeMs: Number.POSITIVE_INFINITY });
    const received = new Map<string, unknown[]>();
    await until(() => messages.filter(([t]) => !t.endsWith('/status')).length === stats.messages);
    for (const [topic, payload] of messages) {
      if (topic.endsWith('/status')) continue;
      const body = JSON.parse(payload.toString()) as { ts: number } | Array<{ ts: number }>;
      const list = Array.isArray(body) ? body : [body];
      const result = decoder.decode(topic, payload, Math.max(...list.map((r) => r.ts)));
      expect(result.ok, `${topic}: ${JSON.stringify(result)}`).toBe(true);
      const id = topic.split('/')[3] as string;
      received.set(id, [...(received.get(id) ?? []), ...list]);
    }
    for (const device of simulation.devices().filter((d) => running.includes(d.id))) {
      const expected = simulation.readings(device.kind, device.id, start, stats.simulatedTime + 1);
      expect(received.get(device.id), device.id).toEqual(expected);
    }
    expect((received.get('b1-e-main') ?? []).length).toBeGreaterThanOrEqual(10);
    expect(stats.readings).toBe([...received.values()].reduce((n, list) => n + list.length, 0));
  });
});

describe('live simulator started after a backfill', () => {
  it('keeps the simulated clock on the real one: the first round publishes what fell due meanwhile', async () => {
    const facility = demoFacility();
    const broker = await startBroker(facility);
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    const { messages } = await subscriber(url, 'fac/+/meter/b1-e-main/reading');
    // `start` read at 10:00:00; the backfill took 45 s; the simulator starts at 10:00:45.
    const start = Date.UTC(2026, 10, 18, 2, 0, 0);
    const real = start + 45_000;
    const live = new LiveSimulator({
      simulation: createSimulation(facility, { seed: 11 }),
      brokerUrl: url,
      start,
      realStart: start,
      devices: ['b1-e-main'],
      tickMs: 60_000,
      now: () => real,
    });
    onTestFinished(() => live.stop());
    await live.start();
    // The simulated clock is the real one (10:00:45), not 45 s behind it.
    await until(() => live.stats().simulatedTime === start + 45_000);
    await until(() => messages.length === 1);
    // b1-e-main reports every 60 s: the 10:00:00 reading, due during the backfill, went out at once.
    const first = JSON.parse((messages[0] as [string, Buffer])[1].toString()) as { ts: number };
    expect(first.ts).toBe(start);
  });
});

describe('live simulator with the showcase', () => {
  it('publishes a night leak, an empty room with HVAC on and a car out of the service area within the first minute', async () => {
    const facility = demoFacility();
    const broker = await startBroker(facility);
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    const { messages } = await subscriber(url, 'fac/#');

    // ×600 from 02:30 on a Thursday night in Chengdu (on the water meters' 5-minute grid).
    const start = Date.UTC(2026, 10, 18, 18, 30);
    const simulation = createSimulation(facility, { seed: 20_261_128 });
    const planted = simulation
      .withShowcase(start)
      .faults(start, start + 1)
      .filter((f) => f.showcase);
    const of = (kind: string) => planted.find((f) => f.kind === kind);
    const leak = of('water-leak');
    const room = of('hvac-empty-room');
    const car = of('out-of-area-trip');
    if (!leak || !room || !car) throw new Error(`showcase incomplete: ${JSON.stringify(planted)}`);
    const live = new LiveSimulator({
      simulation,
      brokerUrl: url,
      speed: 600,
      start,
      showcase: true,
      devices: [leak.device, room.device, car.device],
      tickMs: 100,
      maxLeadMs: Number.POSITIVE_INFINITY,
    });
    onTestFinished(() => live.stop());
    await live.start();
    expect(live.showcase()).toEqual(planted);
    await until(() => live.stats().simulatedTime >= start + 30 * 60_000);
    await live.stop();
    await until(() => messages.filter(([t]) => !t.endsWith('/status')).length === live.stats().messages);

    const published = (id: string) =>
      messages
        .filter(([topic]) => topic.split('/')[3] === id && !topic.endsWith('/status'))
        .flatMap(([, payload]) => {
          const body = JSON.parse(payload.toString()) as unknown;
          return (Array.isArray(body) ? body : [body]) as Array<{ ts: number }>;
        });
    const firstMinute = <T extends { ts: number }>(list: T[]) => list.filter((r) => r.ts < start + 60_000);

    // The room: HVAC on, nobody there, from the first reading.
    const states = firstMinute(published(room.device) as unknown as Array<SensorState & { ts: number }>);
    expect(states.length).toBeGreaterThan(0);
    for (const state of states) {
      expect(state.occupancy).toBe(0);
      expect(state.hvac).not.toBe('off');
    }
    // The car: driving outside the service area.
    const serviceArea = (facility.geofences.find((g) => g.id === 'service-area')?.polygon ?? []).map(
      ([lon, lat]) => [lon, lat] as LonLat,
    );
    const fixes = firstMinute(published(car.device) as unknown as Array<VehicleGps & { ts: number }>);
    expect(fixes.length).toBeGreaterThan(0);
    for (const fix of fixes) {
      expect(pointInPolygon([fix.lon, fix.lat], serviceArea), JSON.stringify(fix)).toBe(false);
      expect(fix.ignition).toBe(true);
    }
    // The water meter: its first reading at 02:30, then a flow that never stops, every 5 minutes
    // at least the leak's flow, several times the meter's usual night-time rate.
    const water = published(leak.device) as unknown as Array<MeterReading & { ts: number }>;
    expect(water[0]?.ts).toBe(start);
    expect(water.length).toBeGreaterThanOrEqual(7);
    const usual = simulation.readings('meter', leak.device, start, start + 35 * 60_000);
    const flow = leak.detail.flowM3h as number;
    for (let i = 1; i < water.length; i++) {
      const step = (water[i] as MeterReading).total - (water[i - 1] as MeterReading).total;
      const normal = (usual[i] as MeterReading).total - (usual[i - 1] as MeterReading).total;
      expect(step * 12).toBeGreaterThan(flow * 0.95); // m³/h over 5 minutes
      expect(step).toBeGreaterThan(3 * normal);
    }
  });
});

describe('load mode', () => {
  it('publishes M virtual meters at R messages a second, single readings and gateway arrays', async () => {
    const facility = loadTestFacility(demoFacility(), 20);
    const broker = await startBroker(facility);
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    const { messages } = await subscriber(url, 'fac/+/meter/+/reading');
    const decoder = createTelemetryDecoder(facility, { maxAgeMs: Number.POSITIVE_INFINITY });

    const single = await runLoad({
      brokerUrl: url,
      site: facility.site.id,
      devices: loadDevices(20),
      rate: 400,
      durationMs: 1000,
    });
    expect(single.devices).toBe(20);
    expect(single.messages).toBeGreaterThanOrEqual(380);
    expect(single.messages).toBeLessThanOrEqual(410);
    expect(single.acknowledged).toBe(single.messages);
    expect(single.readings).toBe(single.messages);
    await until(() => messages.length === single.messages);

    const gateway = await runLoad({
      brokerUrl: url,
      site: facility.site.id,
      devices: loadDevices(20),
      rate: 100,
      batch: 10,
      durationMs: 500,
    });
    expect(gateway.readings).toBe(gateway.messages * 10);
    await until(() => messages.length === single.messages + gateway.messages);
    const now = Date.now() + 60_000;
    for (const [topic, payload] of messages) {
      const result = decoder.decode(topic, payload, now);
      expect(result.ok, `${topic}: ${JSON.stringify(result)}`).toBe(true);
    }
    expect(broker.refusals['rate-limited']).toBe(0);
  });
});
