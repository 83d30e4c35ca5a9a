/**
 * Deliberate corrections of stored readings (`POST /api/v1/corrections`): the way history is
 * changed on purpose, by an admin, with a reason, and audited — the telemetry stream itself may
 * only fill gaps past the late window (ingest/late.ts).
 *
 * A correction names a device, the time of a reading and the value(s) to set. The corrected
 * reading is the stored point at that time (if any) with the given fields set, decoded by the same
 * telemetry decoder as a device's message (so it meets every rule a reading meets: ranges, the
 * meter's `registerMax`, what a sensor measures), and written through the store the platform
 * writes to, so the rollups fold it again and cached answers touching it are dropped. The audit
 * entry keeps what was there before.
 *
 * Pure: the store and the audit log are the caller's.
 */
import type { Facility } from './facility/schema.ts';
import { type FieldValue, MEASUREMENTS, type Point } from './store.ts';
import { createTelemetryDecoder, DATA_CHANNEL, type DeviceKind, topicFor } from './telemetry.ts';

/** What an admin asks for. */
export interface CorrectionRequest {
  /** Device id; `kind` picks among devices of several kinds sharing it. */
  readonly device: string;
  readonly kind?: DeviceKind;
  /** The reading's time, epoch ms. */
  readonly time: number;
  /**
   * The value: a number sets `field` (default: a meter's `total`); an object sets several fields
   * of the reading at once (`{ "lat": …, "lon": … }`).
   */
  readonly value: unknown;
  readonly field?: string;
  readonly reason: string;
}

/** Who made a correction. */
export interface CorrectionActor {
  readonly name: string;
  readonly tokenId: string;
  readonly role: string;
}

/** An audit entry as written. */
export interface NewCorrection {
  /** When it was made, epoch ms. */
  readonly at: number;
  readonly by: CorrectionActor;
  readonly device: { readonly kind: DeviceKind; readonly id: string };
  /** The reading's time, epoch ms. */
  readonly time: number;
  /** The stored point's fields before, or null when there was none. */
  readonly previous: Readonly<Record<string, FieldValue>> | null;
  /** The fields of the point written. */
  readonly value: Readonly<Record<string, FieldValue>>;
  readonly reason: string;
}

export interface Correction extends NewCorrection {
  /** Increasing with insertion order. */
  readonly id: number;
}

export interface CorrectionQuery {
  /** Most entries, newest first. */
  readonly limit: number;
  /** Only entries with a smaller id (paging back). */
  readonly before?: number;
  readonly device?: string;
}

/** Where the audit entries are kept (storage/duckdb/corrections.ts). */
export interface CorrectionLog {
  add(entry: NewCorrection): Promise<Correction>;
  /** Takes back an entry whose correction could not be written. */
  remove(id: number): Promise<void>;
  list(query: CorrectionQuery): Promise<Correction[]>;
}

/** A correction that cannot be made as asked: `parameter` names the body field to fix. */
export class CorrectionError extends Error {
  readonly parameter: string;
  readonly status: 400 | 404;
  constructor(parameter: string, message: string, status: 400 | 404 = 400) {
    super(message);
    this.name = 'CorrectionError';
    this.parameter = parameter;
    this.status = status;
  }
}

/** The default field a bare number sets, per kind. */
const DEFAULT_FIELD: Readonly<Partial<Record<DeviceKind, string>>> = { meter: 'total' };

/** The device a correction names, by id (and kind when several kinds share the id). */
export function correctionDevice(
  facility: Facility,
  device: string,
  kind: DeviceKind | undefined,
): { readonly kind: DeviceKind; readonly id: string } {
  const found: DeviceKind[] = [];
  if (facility.meters.some((m) => m.id === device)) found.push('meter');
  if (facility.vehicles.some((v) => v.id === device)) found.push('vehicle');
  if (facility.sensors.some((s) => s.id === device)) found.push('sensor');
  const matching = kind === undefined ? found : found.filter((k) => k === kind);
  if (matching.length === 0) {
    throw new CorrectionError(
      'device',
      `no ${kind ?? 'meter, vehicle or sensor'} "${device}" in the facility file`,
      404,
    );
  }
  if (matching.length > 1) {
    throw new CorrectionError('kind', `"${device}" names a ${found.join(' and a ')}: give kind`);
  }
  return { kind: matching[0] as DeviceKind, id: device };
}

/**
 * The point a correction writes: the stored fields at that time with the asked ones set, decoded
 * as the device's own reading would be. Throws {@link CorrectionError} naming what to fix.
 */
export function correctedPoint(
  facility: Facility,
  device: { readonly kind: DeviceKind; readonly id: string },
  request: Pick<CorrectionRequest, 'time' | 'value' | 'field'>,
  stored: Readonly<Record<string, FieldValue>> | null,
  now: number,
): Point {
  let fields: Record<string, unknown>;
  if (request.value === undefined || request.value === null || Array.isArray(request.value)) {
    throw new CorrectionError('value', 'give a value (a number, true/false, a text) or an object of fields');
  }
  if (typeof request.value === 'object') {
    if (request.field !== undefined) {
      throw new CorrectionError('field', 'give field only with a single value, not with an object of fields');
    }
    fields = { ...request.value };
  } else {
    const field = request.field ?? DEFAULT_FIELD[device.kind];
    if (field === undefined) {
      const names = Object.keys(MEASUREMENTS[device.kind].fields).join(', ');
      throw new CorrectionError(
        'field',
        `a ${device.kind} has several values; name the one to set (${names})`,
      );
    }
    fields = { [field]: request.value };
  }
  if (Object.keys(fields).length === 0) throw new CorrectionError('value', 'give at least one field to set');
  const payload = JSON.stringify({ ...stored, ...fields, ts: request.time });
  const decoder = createTelemetryDecoder(facility, { maxAgeMs: Number.POSITIVE_INFINITY });
  const topic = topicFor(device.kind, facility.site.id, device.id, DATA_CHANNEL[device.kind]);
  const result = decoder.decode(topic, Buffer.from(payload), now);
  if (!result.ok) throw new CorrectionError('value', `the corrected reading is refused: ${result.detail}`);
  if (!('points' in result) || result.points.length !== 1) {
    throw new CorrectionError('value', 'the corrected reading does not make one point');
  }
  return result.points[0] as Point;
}

/** The fields of a stored row that hold a value. */
export function storedFields(
  values: Readonly<Record<string, FieldValue | null>>,
): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [field, value] of Object.entries(values)) if (value !== null) out[field] = value;
  return out;
}
