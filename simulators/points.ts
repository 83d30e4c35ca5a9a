/**
 * Readings to store points, with exactly the tags and fields the ingest's decoder gives the same
 * payload (`core/telemetry/decode.ts`), so history written by the backfill and data that came
 * through MQTT are one series. The simulator tests check the two agree.
 */
import type { Facility } from '../core/facility/schema.ts';
import type { FieldValue, Point } from '../core/store.ts';
import type { DeviceKind, ReadingOfKind } from '../core/telemetry.ts';

/** Stored fields of each kind, in payload order (`heading` is validated but not stored). */
const STORED: Readonly<Record<DeviceKind, readonly string[]>> = {
  meter: ['total', 'power'],
  vehicle: ['lat', 'lon', 'speed', 'ignition', 'odometer', 'fuel'],
  sensor: ['occupancy', 'temperature', 'humidity', 'co2', 'hvac', 'lights'],
};

/** Builds store points from readings of one facility's devices. */
export class PointMaker {
  readonly #tags = new Map<string, Readonly<Record<string, string>>>();

  constructor(facility: Facility) {
    const site = facility.site.id;
    const rooms = new Map(facility.rooms.map((room) => [room.id, room]));
    // Tags in MEASUREMENTS order; '' for an absent department, as the decoder writes them.
    for (const meter of facility.meters) {
      this.#tags.set(
        `meter/${meter.id}`,
        Object.freeze({
          site,
          building: meter.building,
          department: meter.department ?? '',
          meter: meter.id,
          kind: meter.kind,
          system: meter.system,
        }),
      );
    }
    for (const vehicle of facility.vehicles) {
      this.#tags.set(
        `vehicle/${vehicle.id}`,
        Object.freeze({ site, vehicle: vehicle.id, department: vehicle.department }),
      );
    }
    for (const sensor of facility.sensors) {
      this.#tags.set(
        `sensor/${sensor.id}`,
        Object.freeze({
          site,
          building: rooms.get(sensor.room)?.building ?? '',
          room: sensor.room,
          sensor: sensor.id,
        }),
      );
    }
  }

  /**
   * Points of readings of device `id` (numeric `ts`, as the simulators produce them), appended
   * to `out`.
   */
  append<K extends DeviceKind>(
    kind: K,
    id: string,
    readings: readonly ReadingOfKind[K][],
    out: Point[],
  ): void {
    const tags = this.#tags.get(`${kind}/${id}`);
    if (!tags) throw new RangeError(`no ${kind} "${id}" in the facility`);
    const keys = STORED[kind];
    for (const reading of readings) {
      const record = reading as unknown as Readonly<Record<string, FieldValue | undefined>>;
      const fields: Record<string, FieldValue> = {};
      for (const key of keys) {
        const value = record[key];
        if (value !== undefined) fields[key] = value;
      }
      out.push({ measurement: kind, tags, fields, time: record.ts as number });
    }
  }
}
