/**
 * Backfill into a real DuckDB file in a temporary folder: the store holds exactly what the
 * simulation generates, by device, and the registers read back give the true consumption.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { loadFacility } from '../../core/facility/load.ts';
import type { Facility } from '../../core/facility/schema.ts';
import type { Point, TimeSeriesStore } from '../../core/store.ts';
import { backfill } from '../../simulators/backfill.ts';
import { createSimulation } from '../../simulators/simulation.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

function demoFacility(): Facility {
  const result = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!result.ok) throw new Error('the demo facility does not load');
  return result.facility;
}

const FACILITY = demoFacility();
const DAY = 86_400_000;
/** 2026-11-18 00:00 in Chengdu (UTC+8). */
const FROM = Date.UTC(2026, 10, 17, 16);

async function startedStore(): Promise<DuckDbStore> {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-sim-'));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  const store = new DuckDbStore({ path: join(folder, 'store.duckdb') });
  onTestFinished(() => store.stop());
  await store.start();
  return store;
}

describe('backfill', () => {
  it('writes one day of every device into DuckDB, exactly the generated readings', async () => {
    const store = await startedStore();
    const simulation = createSimulation(FACILITY, { seed: 7 });
    const expected = { meter: 0, vehicle: 0, sensor: 0 };
    for (const device of simulation.devices()) {
      expected[device.kind] += simulation.readings(device.kind, device.id, FROM, FROM + DAY).length;
    }
    const progress: number[] = [];
    const result = await backfill({
      store,
      simulation,
      from: FROM,
      to: FROM + DAY,
      batchSize: 20_000,
      onProgress: ({ fraction }) => progress.push(fraction),
    });
    // 26 electricity meters at 1 min, 6 water/gas at 5 min, 21 sensors at 1 min, 24 cars.
    expect(expected.meter).toBe(26 * 1440 + 6 * 288 - silentReadings(simulation));
    expect(expected.sensor).toBe(21 * 1440);
    expect(result.byKind).toEqual(expected);
    expect(result.points).toBe(expected.meter + expected.vehicle + expected.sensor);
    expect(result.aborted).toBe(false);
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    for (const measurement of ['meter', 'vehicle', 'sensor'] as const) {
      const field = measurement === 'meter' ? 'total' : measurement === 'vehicle' ? 'lat' : 'temperature';
      const series = await store.query({
        measurement,
        fields: [field],
        from: FROM,
        to: FROM + DAY,
        aggregate: 'count',
      });
      expect(series[0]?.rows[0]?.values[field], measurement).toBe(expected[measurement]);
    }
    // The registers read back: last − first = what the simulation says was consumed.
    const [main] = await store.query({
      measurement: 'meter',
      fields: ['total'],
      where: { meter: 'b1-e-main' },
      from: FROM,
      to: FROM + DAY,
    });
    const rows = main?.rows ?? [];
    const used = (rows.at(-1)?.values.total as number) - (rows[0]?.values.total as number);
    const truth = simulation.meterEnergy('b1-e-main', FROM, FROM + DAY - 60_000);
    expect(used).toBeCloseTo(truth, 1);

    function silentReadings(sim: typeof simulation): number {
      let missing = 0;
      for (const fault of sim.faults(FROM, FROM + DAY).filter((f) => f.kind === 'meter-silent')) {
        const step = (FACILITY.meters.find((m) => m.id === fault.device)?.interval ?? 60) * 1000;
        const from = Math.max(fault.from, FROM);
        const to = Math.min(fault.to, FROM + DAY);
        missing += Math.ceil(to / step) - Math.ceil(from / step);
      }
      return missing;
    }
  });

  it('stops between batches when aborted, keeping what was committed', async () => {
    const writes: number[] = [];
    const controller = new AbortController();
    // The real DuckDB store; the first committed batch aborts the backfill.
    const inner = await startedStore();
    const store: TimeSeriesStore = Object.assign(Object.create(inner) as DuckDbStore, {
      write: async (points: readonly Point[]) => {
        await inner.write(points);
        writes.push(points.length);
        controller.abort();
      },
    });
    const result = await backfill({
      store,
      simulation: createSimulation(FACILITY, { seed: 7 }),
      from: FROM,
      to: FROM + 3 * DAY,
      devices: ['b1-e-main', 'v01'],
      batchSize: 500,
      signal: controller.signal,
    });
    expect(result.aborted).toBe(true);
    expect(result.points).toBe(writes.reduce((a, b) => a + b, 0));
    expect(result.points).toBeLessThan(3 * 1440);
    const stored = await inner.query({
      measurement: 'meter',
      fields: ['total'],
      from: FROM,
      to: FROM + 3 * DAY,
    });
    const storedVehicle = await inner.query({
      measurement: 'vehicle',
      fields: ['speed'],
      from: FROM,
      to: FROM + 3 * DAY,
    });
    const rows = [...stored, ...storedVehicle].reduce((n, series) => n + series.rows.length, 0);
    expect(rows).toBe(result.points);
  });

  it('refuses unknown devices and bad ranges', async () => {
    const simulation = createSimulation(FACILITY, { seed: 7 });
    const store = {} as TimeSeriesStore;
    await expect(
      backfill({ store, simulation, from: FROM, to: FROM + DAY, devices: ['nope'] }),
    ).rejects.toThrow(/no device nope/);
    await expect(backfill({ store, simulation, from: FROM + DAY, to: FROM })).rejects.toThrow(/bad range/);
  });
});
