/**
 * Every QoS 1 message the broker acknowledges reaches a connected persistent subscriber, with
 * the default LevelDB persistence, while several devices publish at once. Stock aedes skips some
 * of them (moscajs/aedes#955: its `dedupe` assumes deliveries in counter order, which concurrent
 * publishes racing through LevelDB break); see `deliverOutOfOrder` in broker/broker.ts.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FacilityBroker } from '../../broker/broker.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../../core/facility/index.ts';
import { ReadingStream } from '../setup/reading-stream.ts';

const SITE = 'cd-compound';
const METERS = ['b1-e-main', 'b2-e-main', 'b3-e-main', 'b4-e-main'];
const INGEST = { service: 'ingest', username: 'svc-ingest', password: 'ingest-password' };
const PER_METER = 250;

const facility: Facility = (() => {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error('the demo facility does not load');
  return loaded.facility;
})();

describe('broker: QoS 1 delivery on LevelDB', () => {
  it('delivers every acknowledged message of concurrent publishers to a persistent subscriber', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'sfp-delivery-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));
    const broker = new FacilityBroker({
      facility,
      services: [INGEST],
      mqttPort: 0,
      persistence: { kind: 'level', dir: join(folder, 'mqtt') },
      rateLimit: { perSecond: 10_000, burst: 10_000 },
    });
    onTestFinished(() => broker.stop());
    await broker.start();
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;

    const subscriber = await connectAsync(url, {
      clientId: 'svc-ingest-delivery',
      username: INGEST.username,
      password: INGEST.password,
      clean: false,
      reconnectPeriod: 0,
    });
    onTestFinished(() => subscriber.endAsync(true));
    const received = new Set<string>();
    subscriber.on('message', (topic, payload) => received.add(`${topic} ${payload}`));
    await subscriber.subscribeAsync('fac/#', { qos: 1 });

    const stream = await ReadingStream.connect({
      url,
      site: SITE,
      meters: METERS,
      ratePerMeter: 200,
      start: Date.now() - 60 * 60_000,
      countPerMeter: PER_METER,
    });
    onTestFinished(() => stream.close());
    await stream.run();
    expect(stream.errors).toEqual([]);
    expect(stream.ackedCount).toBe(METERS.length * PER_METER);

    const expected = METERS.flatMap((meter) =>
      Array.from({ length: PER_METER }, (_, n) => `fac/${SITE}/meter/${meter}/reading ${stream.payload(n)}`),
    );
    const deadline = Date.now() + 10_000;
    while (received.size < expected.length && Date.now() < deadline) await sleep(20);
    expect(expected.filter((key) => !received.has(key))).toEqual([]);
    expect(received.size).toBe(expected.length);
  });
});
