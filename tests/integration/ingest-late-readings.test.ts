/**
 * History is not silently rewritten (issue "Figures an operator can sign"): the in-process ingest
 * of a real FacilityBroker over TCP into a real DuckDB store, a real device publishing with MQTT.js.
 *
 * Worked by hand. Meter b1-e-main has readings stored three days before now, one a minute:
 * T0 + k min → 100 + k kWh, k = 0…4. The late window is the default 48 h, so each reading below
 * (three days old) is late:
 *
 * - T0 + 2 min, 102 again: the stored point again, idempotent — stored, nothing refused;
 * - T0 + 2 min, 169,968: would change the stored 102 — refused as `conflict`, the store keeps 102
 *   (before the rule, this turned a day's 137 kWh into 169,968 kWh);
 * - T0 + 10 min, 110: no point there — fills the gap, stored;
 * - a reading one hour old (inside the window) sent again with another value: the later write
 *   wins, as it always did.
 *
 * With `site.lateWindow: 1` (hour), a reading two hours old that changes a stored point is refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FacilityBroker } from '../../broker/broker.ts';
import type { Facility } from '../../core/facility/index.ts';
import type { Point } from '../../core/store.ts';
import { BrokerIngest } from '../../ingest/broker-ingest.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { demoFacility, until } from '../setup/wait.ts';

const DAY = 86_400_000;
const MINUTE = 60_000;
const METER = 'b1-e-main';
const TOPIC = `fac/cd-compound/meter/${METER}/reading`;
const demo = demoFacility();

async function rig(facility: Facility) {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-late-'));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  const store = new DuckDbStore({ path: join(folder, 'store.duckdb') });
  await store.start();
  const deadLetters = new DuckDbDeadLetterSink({ database: store });
  await deadLetters.start();
  const ingest = new BrokerIngest({
    facility,
    store,
    deadLetters,
    maxAgeMs: 30 * DAY,
    deadLetter: { maxDelayMs: 20 },
    batch: { maxDelayMs: 100 },
  });
  await ingest.start();
  const broker = new FacilityBroker({
    facility,
    services: [],
    mqttPort: 0,
    persistence: { kind: 'memory' },
    rateLimit: { perSecond: 100_000, burst: 100_000 },
    gate: ingest,
  });
  await broker.start();
  onTestFinished(async () => {
    await broker.stop();
    await ingest.stop();
    await deadLetters.stop();
    await store.stop();
  });
  const client: MqttClient = await connectAsync(`mqtt://127.0.0.1:${broker.ports.mqtt}`, {
    clientId: METER,
    username: METER,
    password: `demo-${METER}`,
    reconnectPeriod: 0,
  });
  onTestFinished(() => client.endAsync(true));
  const meter = facility.meters.find((m) => m.id === METER);
  if (!meter) throw new Error(`no ${METER}`);
  const point = (time: number, total: number): Point => ({
    measurement: 'meter',
    tags: {
      site: facility.site.id,
      building: meter.building,
      meter: METER,
      kind: meter.kind,
      system: 'total',
    },
    fields: { total },
    time,
  });
  const send = (time: number, total: number) =>
    client.publishAsync(TOPIC, JSON.stringify({ ts: time, total }), { qos: 1 });
  const totals = async (from: number, to: number) =>
    (
      await store.query({ measurement: 'meter', fields: ['total'], where: { meter: METER }, from, to })
    ).flatMap((s) => s.rows.map((row) => [row.time, row.values.total]));
  const conflicts = () => deadLetters.list({ limit: 10, reason: 'conflict' });
  return { store, ingest, client, point, send, totals, conflicts };
}

describe('late readings: past the late window a reading fills gaps and never changes a stored point', () => {
  it('keeps an identical re-send idempotent, refuses a changed one as conflict, fills a gap', async () => {
    const { store, ingest, point, send, totals, conflicts } = await rig(demo);
    const t0 = Math.floor((Date.now() - 3 * DAY) / MINUTE) * MINUTE;
    await store.write([0, 1, 2, 3, 4].map((k) => point(t0 + k * MINUTE, 100 + k)));

    await send(t0 + 2 * MINUTE, 102);
    expect(await conflicts()).toEqual([]);
    expect(ingest.stats().points.stored).toBe(1);

    await send(t0 + 2 * MINUTE, 169_968);
    // The PUBACK came once the dead-letter entry was committed.
    const [refused, ...more] = await conflicts();
    expect(more).toEqual([]);
    expect(refused).toMatchObject({ reason: 'conflict', device: { kind: 'meter', id: METER }, topic: TOPIC });
    expect(refused?.detail).toContain('total 102 → 169968');
    expect(refused?.detail).toContain('late window (48 h)');
    expect(refused?.detail).toContain('POST /api/v1/corrections');
    expect(ingest.stats().rejectedByReason).toMatchObject({ conflict: 1 });

    await send(t0 + 10 * MINUTE, 110);
    expect(await totals(t0, t0 + 11 * MINUTE)).toEqual([
      [t0, 100],
      [t0 + MINUTE, 101],
      [t0 + 2 * MINUTE, 102],
      [t0 + 3 * MINUTE, 103],
      [t0 + 4 * MINUTE, 104],
      [t0 + 10 * MINUTE, 110],
    ]);
  });

  it('lets the later write win inside the window', async () => {
    const { store, point, send, totals, conflicts } = await rig(demo);
    const hourAgo = Math.floor((Date.now() - 3_600_000) / MINUTE) * MINUTE;
    await store.write([point(hourAgo, 500)]);
    await send(hourAgo, 501);
    expect(await totals(hourAgo, hourAgo + 1)).toEqual([[hourAgo, 501]]);
    expect(await conflicts()).toEqual([]);
  });

  it('refuses only the conflicting message of a batch, and takes the window from site.lateWindow', async () => {
    const facility: Facility = { ...demo, site: { ...demo.site, lateWindow: 1 } };
    const { store, ingest, point, send, totals, conflicts } = await rig(facility);
    const twoHoursAgo = Math.floor((Date.now() - 2 * 3_600_000) / MINUTE) * MINUTE;
    await store.write([point(twoHoursAgo, 700)]);
    // Sent together, so that both are in one store write: the batch is split, the gap is filled.
    await Promise.all([send(twoHoursAgo, 650), send(twoHoursAgo + MINUTE, 701)]);
    await until(async () => (await conflicts()).length === 1, 'the conflict listed', 5_000);
    expect((await conflicts())[0]?.detail).toContain('total 700 → 650');
    expect((await conflicts())[0]?.detail).toContain('late window (1 h)');
    expect(await totals(twoHoursAgo, twoHoursAgo + 2 * MINUTE)).toEqual([
      [twoHoursAgo, 700],
      [twoHoursAgo + MINUTE, 701],
    ]);
    expect(ingest.stats().points.stored).toBe(1);
  });
});
