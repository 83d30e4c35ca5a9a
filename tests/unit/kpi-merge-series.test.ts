/**
 * The raw reads of the KPI data (core/kpi/data.ts) take points column by column (`queryColumns`)
 * and merge a device's series by time themselves. When a car changed department, or a room has several
 * sensors, the figures must be those of the pure functions over the points merged the plain way:
 * concatenated series, then a stable sort by time (equal times keep the series order).
 */
import { describe, expect, it } from 'vitest';
import { readFacilityFile } from '../../cli/read-facility.ts';
import { facilityCalendar } from '../../core/facility/calendar.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { rawData } from '../../core/kpi/data.ts';
import { DEFAULT_ROOM_RULES, monthEdges, type RoomSample, roomFigures } from '../../core/kpi/room.ts';
import { roomUtilization } from '../../core/kpi/room-service.ts';
import type { KpiContext } from '../../core/kpi/types.ts';
import { DEFAULT_VEHICLE_RULES, type VehicleFix, vehicleFigures } from '../../core/kpi/vehicle.ts';
import { vehicleUtilization } from '../../core/kpi/vehicle-service.ts';
import type { Query, Series, TimeSeriesStore } from '../../core/store.ts';

const MIN = 60_000;
const FROM = Date.UTC(2026, 10, 1, 16); // Monday 2026-11-02 00:00 +08:00
const TO = FROM + 86_400_000;

async function demo(): Promise<Facility> {
  const loaded = await readFacilityFile(undefined);
  if (!loaded.result.ok) throw new Error('the demo facility does not load');
  return loaded.result.facility;
}

/** A context reading every number raw (core/kpi/data.ts `rawData`), as the reference does. */
function raw(facility: Facility, store: TimeSeriesStore): KpiContext {
  return { facility, store, data: rawData({ facility, store }) };
}

/** A store of fixed series answering raw queries only (no `queryColumns`: the fallback path). */
function storeOf(answer: (query: Query) => Series[]): TimeSeriesStore {
  const unused = () => Promise.reject(new Error('not in this test'));
  return {
    name: 'fixed',
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    write: unused,
    latest: unused,
    writeRollups: unused,
    readRollups: unused,
    sumRollups: unused,
    lastRollups: unused,
    query: (query) => Promise.resolve(answer(query)),
  };
}

describe('merging series by time in the services', () => {
  it('merges the two sensors of a room, a tie keeping the series order, each with its own hold', async () => {
    const facility = await demo();
    const room = facility.rooms[0];
    const sensor = facility.sensors.find((s) => s.room === room?.id);
    if (!room || !sensor) throw new Error('the demo facility has no room with a sensor');
    // The known sensor every 10 min; an unknown one (300 s interval assumed) at odd times and on a tie.
    const known: Series = {
      tags: { sensor: sensor.id },
      rows: Array.from({ length: 60 }, (_, i) => ({
        time: FROM + 9 * 60 * MIN + i * 10 * MIN,
        values: {
          occupancy: i % 4,
          temperature: 24 + (i % 5),
          co2: 700 + 30 * i,
          hvac: 'cool',
          lights: i % 2 === 0,
        },
      })),
    };
    const unknown: Series = {
      tags: { sensor: 'zz-gone' },
      rows: [
        {
          time: FROM + 9 * 60 * MIN + 35 * MIN,
          values: { occupancy: 7, temperature: null, co2: null, hvac: 'off', lights: null },
        },
        {
          time: FROM + 9 * 60 * MIN + 60 * MIN,
          values: { occupancy: 0, temperature: 29, co2: 1500, hvac: 'heat', lights: true },
        },
        {
          time: FROM + 15 * 60 * MIN + 3 * MIN,
          values: { occupancy: 2, temperature: 17, co2: null, hvac: null, lights: false },
        },
      ],
    };
    const store = storeOf((query) =>
      query.measurement === 'sensor' && [query.where?.room].flat().includes(room.id)
        ? [known, unknown].map((series) => ({ ...series, tags: { room: room.id, ...series.tags } }))
        : [],
    );
    const result = await roomUtilization(raw(facility, store), { from: FROM, to: TO });

    const samples: RoomSample[] = [known, unknown].flatMap(({ tags, rows }) =>
      rows.map(({ time, values }) => ({
        time,
        holdMs: 3 * (tags.sensor === sensor.id ? sensor.interval : 300) * 1000,
        occupancy: values.occupancy as number | null,
        temperature: values.temperature as number | null,
        co2: values.co2 as number | null,
        hvac: values.hvac as string | null,
        lights: values.lights as boolean | null,
      })),
    );
    samples.sort((a, b) => a.time - b.time);
    const period = { from: FROM, to: TO };
    const f = roomFigures(samples, period, {
      calendar: facilityCalendar(facility),
      capacity: room.capacity,
      rules: DEFAULT_ROOM_RULES,
      months: monthEdges(period, facility.site.timezone),
    });
    const item = result.items.find((x) => x.id === room.id);
    const hours = (ms: number) => Math.round((ms / 3_600_000) * 10_000) / 10_000;
    expect(f.occupiedMs).toBeGreaterThan(0);
    expect(item).toMatchObject({
      occupiedHours: hours(f.occupiedMs),
      occupiedWorkingHours: hours(f.occupiedWorkMs),
      conditionedEmptyHours: hours(f.conditionedEmptyMs),
      setpointViolationHours: hours(f.setpointViolationMs),
      co2OverHours: hours(f.co2OverMs),
      reportedHours: hours(f.occupancyKnownMs),
    });
  });

  it("merges a car's series from two departments by time, dropping points without the required fields", async () => {
    const facility = await demo();
    const vehicle = facility.vehicles[0];
    if (!vehicle) throw new Error('the demo facility has no vehicle');
    const fix = (
      time: number,
      speed: number,
      lat: number,
      extra: Record<string, number | boolean | null> = {},
    ) => ({
      time,
      values: {
        lat,
        lon: 104.06,
        speed,
        ignition: speed > 0,
        odometer: null,
        fuel: 10 + time / 3_600_000 / 1e6,
        ...extra,
      },
    });
    const start = FROM + 10 * 60 * MIN;
    const before: Series = {
      tags: {},
      rows: [
        fix(start, 0, 30.65),
        fix(start + MIN, 30, 30.651),
        fix(start + 2 * MIN, 40, 30.66),
        fix(start + 20 * MIN, 0, 30.7),
      ],
    };
    const after: Series = {
      tags: {},
      rows: [
        fix(start + 2 * MIN, 90, 30.662), // same time as a fix of the other series: comes after it
        fix(start + 3 * MIN, 85, 30.67, { lat: null }), // no position: not a fix
        fix(start + 4 * MIN, 50, 30.68),
        fix(start + 30 * MIN, 0, 30.7),
      ],
    };
    const store = storeOf((query) =>
      query.measurement === 'vehicle' && query.where?.vehicle === vehicle.id ? [before, after] : [],
    );
    const result = await vehicleUtilization(raw(facility, store), { from: FROM, to: TO });

    const fixes: VehicleFix[] = [before, after]
      .flatMap(({ rows }) => rows)
      .filter(({ values }) => typeof values.lat === 'number')
      .map(({ time, values }) => ({
        time,
        lat: values.lat as number,
        lon: values.lon as number,
        speed: values.speed as number,
        ignition: values.ignition as boolean,
        odometer: null,
        fuel: values.fuel as number,
      }));
    fixes.sort((a, b) => a.time - b.time);
    const area = facility.geofences.find((g) => g.id === 'service-area');
    const f = vehicleFigures(
      fixes,
      { from: FROM, to: TO },
      {
        calendar: facilityCalendar(facility),
        serviceArea: area?.polygon,
        rules: DEFAULT_VEHICLE_RULES,
      },
    );
    expect(f.trips).toHaveLength(1);
    expect(result.items.find((x) => x.id === vehicle.id)).toMatchObject({
      trips: f.trips.length,
      distanceKm: Math.round(f.distanceKm * 1000) / 1000,
      speedingEvents: f.speeding.length,
      drivingHours: Math.round((f.drivingMs / 3_600_000) * 10_000) / 10_000,
      idleHours: Math.round((f.idleMs / 3_600_000) * 10_000) / 10_000,
    });
  });
});
