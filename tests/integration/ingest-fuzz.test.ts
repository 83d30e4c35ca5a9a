/**
 * Bad input, property-based (issue "Telemetry path", Must show: "Bad input"). A real
 * FacilityBroker (aedes over TCP on 127.0.0.1, LevelDB sessions in a temporary folder), an Ingest
 * into a real DuckDB store and its dead-letter table, and a LiveSimulator streaming valid readings
 * of eight demo devices at ×600, while fast-check throws thousands of messages at the broker from
 * six other demo devices (authenticated, so their messages reach the ingest), from a service
 * client (topics no device may use), and from clients that must not get in at all.
 *
 * Every generated case says, by construction and without asking the decoder, what must happen:
 *
 * | case | expected |
 * |---|---|
 * | valid reading, or gateway array of them | each reading stored once, with its values |
 * | one reading with one defect | dead-letter, the defect's reason |
 * | array mixing good and bad readings | dead-letter, the reason of the first bad one; none of its good readings stored (a message is all-or-nothing: core/telemetry/decode.ts) |
 * | broken JSON, bad UTF-8, empty, scalar, > 1,000 readings | dead-letter: not-json, empty, not-object, too-many-readings |
 * | `online`/`offline` on the status topic; anything else there | a status; dead-letter schema/empty |
 * | a service publishing on a topic of no known device | dead-letter: bad-topic, unknown-device, wrong-site, kind-mismatch |
 * | a device publishing outside its own topics (other device, `..`, empty level, `$SYS`, wildcards) | the broker closes the connection (publish-denied; wildcards are refused by aedes before the ACL), nothing stored or dead-lettered, the device reconnects |
 * | payload over 64 KiB | the broker closes the connection (payload-too-large), nothing stored, the device reconnects |
 * | unknown device, wrong secret, no credentials, another device's client id | CONNACK 4 (2 for the client id) |
 *
 * Each fast-check run publishes a batch of cases, waits until the ingest has dealt with them, and
 * checks the store (the exact points of each fuzzing device), the dead-letter entries of the
 * batch (reason, device, topic, size), the ingest's rejection counters and the broker's refusal
 * counters against the batch's expectations. At the end the simulated devices' series must equal
 * the simulation's readings exactly, and the broker and ingest must still be up and storing.
 *
 * The whole run is made twice: with the MQTT-client ingest (`facility ingest`) subscribed to the
 * broker, and with the in-process ingest as the broker's publish gate (`facility start`), which
 * share the decoding, dead-letter and counters; the expectations are the same.
 *
 * Refused publishes go out at QoS 0: a QoS 1 publish the broker refuses stays in mqtt.js'
 * outgoing store and would be sent again, and refused again, after every reconnection.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { expect, it, onTestFinished } from 'vitest';
import type { RefusalReason } from '../../broker/broker.ts';
import { FacilityBroker } from '../../broker/broker.ts';
import type { DeadLetterReason } from '../../core/dead-letter.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../../core/facility/index.ts';
import { DEFAULT_REGISTER_MAX } from '../../core/facility/meter-rules.ts';
import { type FieldValue, MEASUREMENTS, type Measurement } from '../../core/store.ts';
import { type DeviceKind, parseTimestamp } from '../../core/telemetry.ts';
import { BrokerIngest } from '../../ingest/broker-ingest.ts';
import { Ingest } from '../../ingest/ingest.ts';
import { LiveSimulator } from '../../simulators/live.ts';
import { createSimulation } from '../../simulators/simulation.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

/** fast-check's seed: change it to explore, keep it to reproduce. */
const SEED = 20_261_128;
/** Batches (fast-check runs) and cases per batch: about 2,400 cases in all. */
const RUNS = 30;
const CASES_PER_RUN = { minLength: 70, maxLength: 90 } as const;

const SITE = 'cd-compound';
const DAY = 86_400_000;
const MAX_AGE_MS = 30 * DAY;
const PAYLOAD_LIMIT = 64 * 1024;
const INGEST = { service: 'ingest', username: 'svc-ingest', password: 'ingest-password' };
const TESTER = { service: 'tester', username: 'svc-tester', password: 'tester-password' };
/** The whole time axis the store keeps (storage/duckdb/query-sql.ts MAX_TIME). */
const ALL_TIME = { from: -8.64e15, to: 8.64e15 } as const;

const facility: Facility = (() => {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error('the demo facility does not load');
  return loaded.facility;
})();

// ---------------------------------------------------------------------------------------------
// The devices
// ---------------------------------------------------------------------------------------------

type Profile = 'electricity' | 'water' | 'vehicle' | 'sensor' | 'sensor-basic';

interface FuzzDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly profile: Profile;
  /** Another device's data topic it will try to publish on. */
  readonly victim: string;
}

const topicOf = (kind: DeviceKind, id: string, channel: string, site = SITE) =>
  `fac/${site}/${kind}/${id}/${channel}`;
const CHANNEL: Readonly<Record<DeviceKind, string>> = { meter: 'reading', vehicle: 'gps', sensor: 'state' };

/** The devices fast-check publishes as; none of them is simulated. */
const FUZZ_DEVICES: readonly FuzzDevice[] = [
  {
    id: 'b3-e-main',
    kind: 'meter',
    profile: 'electricity',
    victim: topicOf('meter', 'b3-e-light', 'reading'),
  },
  {
    id: 'b3-e-light',
    kind: 'meter',
    profile: 'electricity',
    victim: topicOf('meter', 'b3-e-main', 'reading'),
  },
  { id: 'b3-w-main', kind: 'meter', profile: 'water', victim: topicOf('meter', 'b1-w-main', 'reading') },
  { id: 'v21', kind: 'vehicle', profile: 'vehicle', victim: topicOf('vehicle', 'v01', 'gps') },
  // Room b3-m301 has 20 seats: occupancy up to 40. It measures everything.
  { id: 's-b3-m301', kind: 'sensor', profile: 'sensor', victim: topicOf('sensor', 's-b1-z-policy', 'state') },
  // Room b1-z-policy has 150 seats: occupancy up to 300. No hvac, no lights.
  {
    id: 's-b1-z-policy',
    kind: 'sensor',
    profile: 'sensor-basic',
    victim: topicOf('sensor', 's-b3-m301', 'state'),
  },
];

/** The devices the live simulator streams. */
const SIM_DEVICES = [
  'b1-e-main',
  'b1-e-hvac',
  'b2-e-main',
  'b1-w-main',
  'v01',
  'v02',
  's-b1-m0301',
  's-b1-z-finance',
];

// ---------------------------------------------------------------------------------------------
// Readings as JSON text: [key, JSON text of the value] pairs, so that a value can be `1e400`,
// `NaN` or a duplicate key, which JSON.stringify cannot write.
// ---------------------------------------------------------------------------------------------

type Reading = ReadonlyArray<readonly [string, string]>;

const text = (reading: Reading) => `{${reading.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const setField = (reading: Reading, key: string, value: string): Reading =>
  reading.some(([k]) => k === key)
    ? reading.map(([k, v]) => [k, k === key ? value : v] as const)
    : [...reading, [key, value] as const];
const dropField = (reading: Reading, key: string): Reading => reading.filter(([k]) => k !== key);

interface FieldSpec {
  readonly key: string;
  readonly required: boolean;
  /** Valid values, as JSON text. */
  readonly valid: fc.Arbitrary<string>;
  /** Bounds, for the range defects; none for booleans and enums. */
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

const json = (value: unknown) => JSON.stringify(value);
/** Any double in [min, max] (fast-check favours the extremes and tiny ones), or an everyday one. */
const number = (min: number, max: number) =>
  fc
    .oneof(
      fc.double({ min, max, noNaN: true, noDefaultInfinity: true }),
      fc
        .integer({ min: 0, max: 1_000_000 })
        .map((n) => Math.round((min + ((max - min) * n) / 1_000_000) * 1000) / 1000),
    )
    .map(json);
const bool = fc.boolean().map(json);

function numeric(
  key: string,
  required: boolean,
  min: number,
  max: number,
  valid = number(min, max),
): FieldSpec {
  return { key, required, valid, min, max };
}

const FIELDS: Readonly<Record<Profile, readonly FieldSpec[]>> = {
  electricity: [
    // `total` is bounded by the meter's registerMax (default 1e9): 1e9 itself is valid, if odd;
    // 1e308 and a 30-digit register are out of range.
    numeric(
      'total',
      true,
      0,
      DEFAULT_REGISTER_MAX,
      fc.oneof(
        { arbitrary: number(0, 1e7), weight: 8 },
        { arbitrary: fc.constantFrom('0', '1e9', '5e-324'), weight: 1 },
      ),
    ),
    numeric('power', false, 0, Number.POSITIVE_INFINITY, number(0, 1e4)),
  ],
  water: [numeric('total', true, 0, DEFAULT_REGISTER_MAX, number(0, 1e6))],
  vehicle: [
    numeric('lat', true, -90, 90),
    numeric('lon', true, -180, 180),
    numeric('speed', true, 0, 300),
    { key: 'ignition', required: true, valid: bool },
    numeric('heading', false, 0, 360),
    numeric('odometer', false, 0, Number.POSITIVE_INFINITY, number(0, 1e7)),
    numeric('fuel', false, 0, Number.POSITIVE_INFINITY, number(0, 500)),
  ],
  sensor: [
    { ...numeric('occupancy', false, 0, 40, fc.integer({ min: 0, max: 40 }).map(json)), integer: true },
    numeric('temperature', false, -40, 80),
    numeric('humidity', false, 0, 100),
    numeric('co2', false, 0, 10_000),
    { key: 'hvac', required: false, valid: fc.constantFrom('off', 'cool', 'heat', 'fan').map(json) },
    { key: 'lights', required: false, valid: bool },
  ],
  'sensor-basic': [
    { ...numeric('occupancy', false, 0, 300, fc.integer({ min: 0, max: 300 }).map(json)), integer: true },
    numeric('temperature', false, -40, 80),
    numeric('humidity', false, 0, 100),
    numeric('co2', false, 0, 10_000),
  ],
};

/** Every key of every payload schema: an "unknown field" is none of these. */
const KNOWN_KEYS = new Set(['ts', ...Object.values(FIELDS).flatMap((specs) => specs.map((s) => s.key))]);

/** How a valid `ts` is written. */
type TimeForm =
  | { readonly form: 'ms' }
  | { readonly form: 'iso'; readonly offset: number | 'Z'; readonly digits: 0 | 3 | 6 };

/** A valid reading before its `ts` is known: the time form and the fields it carries. */
interface Shape {
  readonly time: TimeForm;
  readonly fields: ReadonlyArray<readonly [string, string]>;
}

const timeForm: fc.Arbitrary<TimeForm> = fc.oneof(
  fc.constant({ form: 'ms' as const }),
  fc.record({
    form: fc.constant('iso' as const),
    offset: fc.oneof(fc.constant('Z' as const), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
    digits: fc.constantFrom(0 as const, 3 as const, 6 as const),
  }),
);

function shapeOf(profile: Profile): fc.Arbitrary<Shape> {
  const specs = FIELDS[profile];
  return fc
    .tuple(
      timeForm,
      fc.tuple(...specs.map((spec) => spec.valid)),
      fc.tuple(...specs.map((spec) => (spec.required ? fc.constant(true) : fc.boolean()))),
    )
    .map(([time, values, present]) => {
      const fields = specs.flatMap((spec, i) =>
        present[i] ? [[spec.key, values[i] as string] as const] : [],
      );
      // A sensor reading carries at least one measurement.
      const first = specs[0] as FieldSpec;
      return { time, fields: fields.length > 0 ? fields : [[first.key, values[0] as string] as const] };
    });
}

/** RFC 3339 of `ts` at a UTC offset (minutes), with 0, 3 or 6 fraction digits (beyond ms: cut). */
function iso(ts: number, offset: number | 'Z', digits: 0 | 3 | 6): string {
  const minutes = offset === 'Z' ? 0 : offset;
  const local = new Date(ts + minutes * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const ms = local.slice(20, 23);
  const fraction = digits === 3 ? `.${ms}` : digits === 6 ? `.${ms}417` : ms === '000' ? '' : `.${ms}`;
  const zone =
    offset === 'Z'
      ? 'Z'
      : `${offset < 0 ? '-' : '+'}${String(Math.trunc(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`;
  return `${local.slice(0, 19)}${fraction}${zone}`;
}

function readingOf(shape: Shape, ts: number): Reading {
  const time = shape.time.form === 'ms' ? json(ts) : json(iso(ts, shape.time.offset, shape.time.digits));
  return [['ts', time], ...shape.fields];
}

// ---------------------------------------------------------------------------------------------
// Defects: each makes exactly one problem in one reading, so its reason is known.
// ---------------------------------------------------------------------------------------------

type RejectReason = Exclude<DeadLetterReason, 'store-rejected'>;

interface DefectSpec {
  readonly reason: RejectReason;
  /** Profiles it applies to; all when absent. */
  readonly on?: readonly Profile[];
  readonly param: fc.Arbitrary<unknown>;
  apply(reading: Reading, param: unknown, ts: number, now: number, profile: Profile): Reading;
}

const NOW_AT_LOAD = Date.now();
/** Older than the ingest's 30-day retention, with a day to spare. */
const ANCIENT_MAX = NOW_AT_LOAD - MAX_AGE_MS - DAY;
const THIS_YEAR = new Date(NOW_AT_LOAD).getUTCFullYear();
const METERS: readonly Profile[] = ['electricity', 'water'];
const SENSORS: readonly Profile[] = ['sensor', 'sensor-basic'];

/** A field of `profile` with bounds, chosen by `pick` ∈ [0, 1). */
function boundedField(profile: Profile, pick: number): FieldSpec {
  const specs = FIELDS[profile].filter((spec) => spec.min !== undefined);
  return specs[Math.floor(pick * specs.length)] as FieldSpec;
}

const outside = fc.oneof(
  fc.double({ min: 1, max: 1e308, noNaN: true }),
  fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }),
);

const DEFECTS = {
  'ts-epoch-seconds': {
    reason: 'bad-time',
    param: fc.constant(null),
    apply: (r, _p, ts) => setField(r, 'ts', json(Math.floor(ts / 1000))),
  },
  'ts-no-offset': {
    reason: 'bad-time',
    param: fc.constantFrom(0 as const, 3 as const),
    apply: (r, p, ts) => setField(r, 'ts', json(iso(ts, 'Z', p as 0 | 3).slice(0, -1))),
  },
  'ts-not-a-date': {
    reason: 'bad-time',
    param: fc.constantFrom(
      '2026-02-30T10:00:00Z',
      '2025-02-29T10:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-06-01T24:00:00Z',
      '2026-06-01T10:60:00Z',
      '2026-06-01T10:00:60Z',
      '2026-06-01T10:00:00+24:00',
      '2026-06-01T10:00:00+08:60',
      'NaN',
      'Infinity',
      '-Infinity',
      '',
      'now',
      '1764300000000',
      '2026-11-28',
      '2026-11-28 10:00:00Z',
      '2026-11-28T10:00Z',
      '+02026-11-28T10:00:00Z',
      '2026-11-28T10:00:00+0800',
      '2026-11-28T10:00:00.Z',
      '2026-11-28T10:00:00.1234567890Z',
    ),
    apply: (r, p) => setField(r, 'ts', json(p)),
  },
  'ts-not-finite': {
    reason: 'bad-time',
    param: fc.constantFrom('1e400', '-1e400', '1E999'),
    apply: (r, p) => setField(r, 'ts', p as string),
  },
  'ts-fractional-ms': {
    reason: 'bad-time',
    param: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
    apply: (r, p, ts) => setField(r, 'ts', json(ts + (p as number))),
  },
  'ts-microseconds': {
    reason: 'bad-time',
    param: fc.constantFrom(1000, 1_000_000),
    apply: (r, p, ts) => setField(r, 'ts', json(ts * (p as number))),
  },
  'ts-too-small': {
    // Below 1e11 ms (1973): epoch seconds, or no time at all.
    reason: 'bad-time',
    param: fc.double({ min: -1e15, max: 99_999_999_999, noNaN: true, noDefaultInfinity: true }),
    apply: (r, p) => setField(r, 'ts', json(p)),
  },
  'ts-too-big': {
    // From 1e14 ms (year 5138) up: micro- or nanoseconds.
    reason: 'bad-time',
    param: fc.double({ min: 1e14, max: 1e308, noNaN: true, noDefaultInfinity: true }),
    apply: (r, p) => setField(r, 'ts', json(p)),
  },
  'ts-wrong-type': {
    reason: 'schema',
    param: fc.constantFrom('null', 'true', 'false', '{}', '[]', '[1764300000000]', '{"ms":1764300000000}'),
    apply: (r, p) => setField(r, 'ts', p as string),
  },
  'ts-missing': {
    reason: 'schema',
    param: fc.constant(null),
    apply: (r) => dropField(r, 'ts'),
  },
  'ts-future': {
    reason: 'future-time',
    // From an hour ahead to just before the year 5138, as epoch ms or RFC 3339.
    param: fc.tuple(fc.integer({ min: 1, max: 2_500_000 }), fc.boolean()),
    apply: (r, p, _ts, now) => {
      const [hours, asIso] = p as [number, boolean];
      const ts = now + hours * 36_000_000;
      return setField(r, 'ts', asIso ? json(new Date(ts).toISOString()) : json(ts));
    },
  },
  'ts-far-future-iso': {
    reason: 'future-time',
    param: fc.integer({ min: 5139, max: 9999 }),
    apply: (r, p) => setField(r, 'ts', json(`${p}-06-15T12:00:00+08:00`)),
  },
  'ts-ancient': {
    reason: 'too-old',
    param: fc.oneof(
      fc
        .integer({ min: 1, max: THIS_YEAR - 1 })
        .map((year) => `${String(year).padStart(4, '0')}-03-01T00:00:00Z`),
      fc.integer({ min: 100_000_000, max: Math.floor(ANCIENT_MAX / 1000) }).map((s) => s * 1000),
    ),
    apply: (r, p) => setField(r, 'ts', json(p)),
  },
  'unknown-field': {
    reason: 'schema',
    param: fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'temprature',
          'Total',
          'TS',
          'tS',
          ' ts',
          'ts ',
          '',
          '__proto__',
          'constructor',
          'toString',
          '0',
          '1e3',
        ),
        fc.string({ maxLength: 16 }).filter((key) => !KNOWN_KEYS.has(key)),
      ),
      fc.constantFrom('1', '"x"', 'null', 'true', '{}', '[]', '{"__proto__":{"admin":true}}'),
    ),
    apply: (r, p) => {
      const [key, value] = p as [string, string];
      return [...r, [key, value] as const];
    },
  },
  'number-wrong-type': {
    reason: 'schema',
    param: fc.tuple(
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.constantFrom('"1"', '"12.5"', '"NaN"', '"Infinity"', 'null', 'true', 'false', '{}', '[]', '[1]'),
    ),
    apply: (r, p, _ts, _now, profile) => {
      const [pick, value] = p as [number, string];
      return setField(r, boundedField(profile, pick).key, value);
    },
  },
  'number-not-finite': {
    // JSON.parse reads 1e400 as Infinity.
    reason: 'out-of-range',
    param: fc.tuple(
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.constantFrom('1e400', '-1e400', '1E999', '-1e309'),
    ),
    apply: (r, p, _ts, _now, profile) => {
      const [pick, value] = p as [number, string];
      return setField(r, boundedField(profile, pick).key, value);
    },
  },
  'number-out-of-range': {
    reason: 'out-of-range',
    param: fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.boolean(), outside),
    apply: (r, p, _ts, _now, profile) => {
      const [pick, wantAbove, by] = p as [number, boolean, number];
      // Meters' fields have no upper bound: go below instead.
      const above =
        wantAbove && FIELDS[profile].some((spec) => spec.min !== undefined && Number.isFinite(spec.max));
      const candidates = FIELDS[profile].filter(
        (spec) => spec.min !== undefined && (above ? Number.isFinite(spec.max) : Number.isFinite(spec.min)),
      );
      const spec = candidates[Math.floor(pick * candidates.length)] as FieldSpec;
      const bound = (above ? spec.max : spec.min) as number;
      let value = above ? bound + by : bound - by;
      // Past the bound by less than its rounding: step to the next representable number.
      if (above ? !(value > bound) : !(value < bound))
        value = above ? bound * (1 + 1e-12) + 1e-9 : bound - 1e-9 - Math.abs(bound) * 1e-12;
      if (spec.integer) value = above ? Math.ceil(value) : Math.floor(value);
      return setField(r, spec.key, json(value));
    },
  },
  'total-missing': {
    reason: 'schema',
    on: METERS,
    param: fc.constant(null),
    apply: (r) => dropField(r, 'total'),
  },
  'power-on-water-meter': {
    reason: 'not-measured',
    on: ['water'],
    // Refused for being there, whatever it holds.
    param: fc.constantFrom('1.5', '0', '-1', '"x"', 'null', '1e400'),
    apply: (r, p) => setField(r, 'power', p as string),
  },
  'vehicle-field-missing': {
    reason: 'schema',
    on: ['vehicle'],
    param: fc.constantFrom('lat', 'lon', 'speed', 'ignition'),
    apply: (r, p) => dropField(r, p as string),
  },
  'ignition-wrong-type': {
    reason: 'schema',
    on: ['vehicle'],
    param: fc.constantFrom('1', '0', '"true"', '"on"', 'null', '[]'),
    apply: (r, p) => setField(r, 'ignition', p as string),
  },
  'occupancy-fraction': {
    reason: 'schema',
    on: SENSORS,
    param: fc.double({ min: 0.01, max: 39.99, noNaN: true }).filter((n) => !Number.isInteger(n)),
    apply: (r, p) => setField(r, 'occupancy', json(p)),
  },
  'hvac-unknown': {
    reason: 'schema',
    on: ['sensor'],
    param: fc.constantFrom('"cold"', '"COOL"', '"auto"', '""', '"off "', '1', 'true', 'null'),
    apply: (r, p) => setField(r, 'hvac', p as string),
  },
  'lights-wrong-type': {
    reason: 'schema',
    on: ['sensor'],
    param: fc.constantFrom('"on"', '1', '0', 'null', '"true"'),
    apply: (r, p) => setField(r, 'lights', p as string),
  },
  'not-measured-field': {
    reason: 'not-measured',
    on: ['sensor-basic'],
    param: fc.constantFrom(['hvac', '"cool"'], ['lights', 'true'], ['hvac', '"nonsense"']),
    apply: (r, p) => {
      const [key, value] = p as [string, string];
      return setField(r, key, value);
    },
  },
  'only-ts': {
    reason: 'empty',
    on: SENSORS,
    param: fc.constant(null),
    apply: (r) => r.filter(([k]) => k === 'ts'),
  },
} satisfies Record<string, DefectSpec>;

type DefectName = keyof typeof DEFECTS;
interface Defect {
  readonly name: DefectName;
  readonly param: unknown;
}

function defectOf(profile: Profile): fc.Arbitrary<Defect> {
  const names = (Object.keys(DEFECTS) as DefectName[]).filter((name) => {
    const on = (DEFECTS[name] as DefectSpec).on;
    return on === undefined || on.includes(profile);
  });
  return fc.oneof(
    ...names.map((name) => (DEFECTS[name] as DefectSpec).param.map((param): Defect => ({ name, param }))),
  );
}

/** An element of a gateway array: a reading, possibly with one defect, or something that is no object. */
type Element = { readonly shape: Shape; readonly defect: Defect | null } | { readonly notObject: string };

const NOT_OBJECTS = ['1', '"x"', 'null', 'true', 'false', '[]', '[{}]', '"{\\"ts\\":1}"', '1e400'] as const;

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

type Raw =
  | { readonly raw: 'empty' }
  | { readonly raw: 'empty-array' }
  | { readonly raw: 'scalar'; readonly text: string }
  | { readonly raw: 'truncated'; readonly shapes: readonly Shape[]; readonly cut: number }
  | { readonly raw: 'bad-token'; readonly shape: Shape; readonly token: string }
  | { readonly raw: 'syntax'; readonly text: string }
  | { readonly raw: 'bad-utf8'; readonly shape: Shape; readonly bytes: readonly number[] }
  | { readonly raw: 'too-many'; readonly count: number };

type AclTopic =
  | 'other-device'
  | 'other-channel'
  | 'extra-level'
  | 'trailing-slash'
  | 'dotdot-id'
  | 'dotdot-channel'
  | 'empty-id'
  | 'empty-site'
  | 'leading-slash'
  | 'other-site'
  | 'sys'
  | 'share'
  | 'outside-root'
  | 'wildcard-plus'
  | 'wildcard-hash'
  | 'wildcard-in-level'
  | 'wildcard-own';

const WILDCARD_TOPICS: ReadonlySet<AclTopic> = new Set([
  'wildcard-plus',
  'wildcard-hash',
  'wildcard-in-level',
  'wildcard-own',
]);

type ForeignTopic = 'unknown-meter' | 'unknown-sensor' | 'wrong-site' | 'kind-mismatch' | BadTopic;
type BadTopic =
  | 'extra-level'
  | 'dotdot'
  | 'empty-level'
  | 'wrong-channel'
  | 'upper-case'
  | 'short'
  | 'long'
  | 'bad-kind';

type Login = 'unknown-user' | 'bad-password' | 'service-bad-password' | 'no-credentials' | 'client-id';

type Case =
  | {
      readonly type: 'valid';
      readonly device: number;
      readonly shapes: readonly Shape[];
      readonly array: boolean;
    }
  | { readonly type: 'bad'; readonly device: number; readonly shape: Shape; readonly defect: Defect }
  | { readonly type: 'mixed'; readonly device: number; readonly elements: readonly Element[] }
  | { readonly type: 'raw'; readonly device: number; readonly raw: Raw }
  | { readonly type: 'status'; readonly device: number; readonly payload: string }
  | { readonly type: 'foreign'; readonly topic: ForeignTopic; readonly shape: Shape }
  | { readonly type: 'acl'; readonly device: number; readonly topic: AclTopic; readonly shape: Shape }
  | { readonly type: 'oversize'; readonly device: number; readonly bytes: number; readonly shape: Shape }
  | { readonly type: 'login'; readonly login: Login; readonly secret: string };

const deviceIndex = fc.integer({ min: 0, max: FUZZ_DEVICES.length - 1 });
const profileOf = (device: number) => (FUZZ_DEVICES[device] as FuzzDevice).profile;

function elementOf(profile: Profile): fc.Arbitrary<Element> {
  return fc.oneof(
    { arbitrary: shapeOf(profile).map((shape): Element => ({ shape, defect: null })), weight: 3 },
    {
      arbitrary: fc
        .tuple(shapeOf(profile), defectOf(profile))
        .map(([shape, defect]): Element => ({ shape, defect })),
      weight: 2,
    },
    { arbitrary: fc.constantFrom(...NOT_OBJECTS).map((notObject): Element => ({ notObject })), weight: 1 },
  );
}

function rawOf(profile: Profile): fc.Arbitrary<Raw> {
  const shape = shapeOf(profile);
  return fc.oneof(
    fc.constant({ raw: 'empty' as const }),
    fc.constant({ raw: 'empty-array' as const }),
    fc
      .constantFrom('42', '"reading"', 'true', 'false', 'null', '1e400', '-0')
      .map((t) => ({ raw: 'scalar' as const, text: t })),
    fc.record({
      raw: fc.constant('truncated' as const),
      shapes: fc.array(shape, { minLength: 1, maxLength: 3 }),
      cut: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    }),
    fc.record({
      raw: fc.constant('bad-token' as const),
      shape,
      token: fc.constantFrom(
        'NaN',
        'Infinity',
        '-Infinity',
        '+1',
        '01',
        '.5',
        '1.',
        '0x10',
        '1e',
        '--1',
        'undefined',
        "'1'",
        'nan',
        'inf',
        'True',
        'None',
        '1_000',
        '',
      ),
    }),
    fc
      .constantFrom(
        '{ts: 1764300000000, total: 1}',
        "{'ts': 1764300000000}",
        '{"ts": 1764300000000,}',
        '[{"ts": 1764300000000},]',
        '{"ts" 1764300000000}',
        '{"ts":1764300000000}}',
        '{"ts":1764300000000}{"ts":1764300000001}',
        '{"ts":"a\u0001b"}',
        '   ',
        '\n\t',
        'online',
        '{',
        ']',
      )
      .map((t) => ({ raw: 'syntax' as const, text: t })),
    fc.record({
      raw: fc.constant('bad-utf8' as const),
      shape,
      bytes: fc.constantFrom(
        [0xff],
        [0xfe, 0xff],
        [0xc3, 0x28],
        [0xed, 0xa0, 0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0x80],
        [0xe2, 0x82],
      ),
    }),
    fc.integer({ min: 1001, max: 1500 }).map((count) => ({ raw: 'too-many' as const, count })),
  );
}

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  {
    weight: 24,
    arbitrary: deviceIndex.chain((device) =>
      fc
        .tuple(fc.array(shapeOf(profileOf(device)), { minLength: 1, maxLength: 12 }), fc.boolean())
        .map(
          ([shapes, array]): Case => ({ type: 'valid', device, shapes, array: array || shapes.length > 1 }),
        ),
    ),
  },
  {
    weight: 26,
    arbitrary: deviceIndex.chain((device) =>
      fc
        .tuple(shapeOf(profileOf(device)), defectOf(profileOf(device)))
        .map(([shape, defect]): Case => ({ type: 'bad', device, shape, defect })),
    ),
  },
  {
    weight: 12,
    arbitrary: deviceIndex.chain((device) =>
      fc
        .array(elementOf(profileOf(device)), { minLength: 2, maxLength: 8 })
        .filter((elements) => elements.some((e) => !('shape' in e) || e.defect !== null))
        .map((elements): Case => ({ type: 'mixed', device, elements })),
    ),
  },
  {
    weight: 14,
    arbitrary: deviceIndex.chain((device) =>
      rawOf(profileOf(device)).map((raw): Case => ({ type: 'raw', device, raw })),
    ),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        deviceIndex,
        fc.constantFrom(
          'online',
          'offline',
          'online',
          'offline',
          'ONLINE',
          'Online',
          'on',
          '1',
          '"online"',
          '{"status":"online"}',
          'online ',
          'offline\n',
          'onlin',
          '',
        ),
      )
      .map(([device, payload]): Case => ({ type: 'status', device, payload })),
  },
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.constantFrom<ForeignTopic>(
          'unknown-meter',
          'unknown-sensor',
          'wrong-site',
          'kind-mismatch',
          'extra-level',
          'dotdot',
          'empty-level',
          'wrong-channel',
          'upper-case',
          'short',
          'long',
          'bad-kind',
        ),
        shapeOf('electricity'),
      )
      .map(([topic, shape]): Case => ({ type: 'foreign', topic, shape })),
  },
  {
    weight: 6,
    arbitrary: deviceIndex.chain((device) =>
      fc
        .tuple(
          fc.constantFrom<AclTopic>(
            'other-device',
            'other-channel',
            'extra-level',
            'trailing-slash',
            'dotdot-id',
            'dotdot-channel',
            'empty-id',
            'empty-site',
            'leading-slash',
            'other-site',
            'sys',
            'share',
            'outside-root',
            'wildcard-plus',
            'wildcard-hash',
            'wildcard-in-level',
            'wildcard-own',
          ),
          shapeOf(profileOf(device)),
        )
        .map(([topic, shape]): Case => ({ type: 'acl', device, topic, shape })),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        deviceIndex,
        fc.oneof(
          // Refused whole by authorizePublish, after the broker read it…
          fc.integer({ min: PAYLOAD_LIMIT + 1, max: PAYLOAD_LIMIT + 3000 }),
          // …or cut off by the packet-size guard as soon as its header arrives.
          fc.integer({ min: 200_000, max: 1_000_000 }),
        ),
      )
      .chain(([device, bytes]) =>
        shapeOf(profileOf(device)).map((shape): Case => ({ type: 'oversize', device, bytes, shape })),
      ),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom<Login>(
          'unknown-user',
          'bad-password',
          'service-bad-password',
          'no-credentials',
          'client-id',
        ),
        fc.string({ maxLength: 24 }),
      )
      .map(([login, secret]): Case => ({ type: 'login', login, secret })),
  },
);

// ---------------------------------------------------------------------------------------------
// From a case to what is published and what must come of it
// ---------------------------------------------------------------------------------------------

/** A stored point as the test expects it: the store fields of the reading. */
type Fields = Readonly<Record<string, FieldValue>>;

type Outcome =
  | { readonly kind: 'stored'; readonly device: string; readonly points: ReadonlyMap<number, Fields> }
  | { readonly kind: 'dead'; readonly reason: RejectReason; readonly device: string | null }
  | { readonly kind: 'status' }
  | { readonly kind: 'refused'; readonly refusal: 'publish-denied' | 'payload-too-large' | 'aedes' }
  | { readonly kind: 'login'; readonly refusal: RefusalReason; readonly code: number };

type Actor = number | 'service' | 'login';

interface Built {
  readonly actor: Actor;
  readonly topic: string;
  readonly payload: Buffer;
  readonly outcome: Outcome;
  readonly login?: { readonly username?: string; readonly password?: string; readonly clientId: string };
}

/** Valid times of the fuzzing devices: one second apart from 20 days ago, never reused. */
const T0 = Math.floor((NOW_AT_LOAD - 20 * DAY) / 1000) * 1000;
let clock = 0;
const nextTs = () => T0 + 1000 * clock++;
let loginCounter = 0;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Test-data check: a case meant to be broken JSON must really be. */
function assertNotJson(bytes: Buffer): void {
  let parsed = true;
  try {
    JSON.parse(strictUtf8.decode(bytes));
  } catch {
    parsed = false;
  }
  if (parsed) throw new Error(`test data: meant to be broken JSON, but it parses: ${bytes.toString()}`);
}

function storeFields(kind: DeviceKind, reading: Reading): Fields {
  const fields: Record<string, FieldValue> = {};
  for (const [key, value] of reading) {
    if (Object.hasOwn(MEASUREMENTS[kind].fields, key)) fields[key] = JSON.parse(value) as FieldValue;
  }
  return fields;
}

function applyDefect(reading: Reading, defect: Defect, ts: number, now: number, profile: Profile): Reading {
  return (DEFECTS[defect.name] as DefectSpec).apply(reading, defect.param, ts, now, profile);
}

function build(c: Case, now: number): Built {
  const dead = (
    actor: Actor,
    topic: string,
    payload: Buffer,
    reason: RejectReason,
    device: string | null,
  ): Built => ({
    actor,
    topic,
    payload,
    outcome: { kind: 'dead', reason, device },
  });
  switch (c.type) {
    case 'valid': {
      const device = FUZZ_DEVICES[c.device] as FuzzDevice;
      const points = new Map<number, Fields>();
      const readings = c.shapes.map((shape) => {
        const ts = nextTs();
        const reading = readingOf(shape, ts);
        points.set(ts, storeFields(device.kind, reading));
        return text(reading);
      });
      const payload = c.array ? `[${readings.join(',')}]` : (readings[0] as string);
      return {
        actor: c.device,
        topic: topicOf(device.kind, device.id, CHANNEL[device.kind]),
        payload: Buffer.from(payload),
        outcome: { kind: 'stored', device: device.id, points },
      };
    }
    case 'bad': {
      const device = FUZZ_DEVICES[c.device] as FuzzDevice;
      const ts = nextTs();
      const reading = applyDefect(readingOf(c.shape, ts), c.defect, ts, now, device.profile);
      const reason = (DEFECTS[c.defect.name] as DefectSpec).reason;
      return dead(
        c.device,
        topicOf(device.kind, device.id, CHANNEL[device.kind]),
        Buffer.from(text(reading)),
        reason,
        device.id,
      );
    }
    case 'mixed': {
      const device = FUZZ_DEVICES[c.device] as FuzzDevice;
      let reason: RejectReason | undefined;
      const parts = c.elements.map((element) => {
        if (!('shape' in element)) {
          reason ??= 'not-object';
          return element.notObject;
        }
        const ts = nextTs();
        const reading = readingOf(element.shape, ts);
        if (element.defect === null) return text(reading);
        reason ??= (DEFECTS[element.defect.name] as DefectSpec).reason;
        return text(applyDefect(reading, element.defect, ts, now, device.profile));
      });
      if (reason === undefined) throw new Error('test data: a mixed array without a bad element');
      return dead(
        c.device,
        topicOf(device.kind, device.id, CHANNEL[device.kind]),
        Buffer.from(`[${parts.join(',')}]`),
        reason,
        device.id,
      );
    }
    case 'raw': {
      const device = FUZZ_DEVICES[c.device] as FuzzDevice;
      const topic = topicOf(device.kind, device.id, CHANNEL[device.kind]);
      const reading = (shape: Shape) => readingOf(shape, nextTs());
      const raw = c.raw;
      switch (raw.raw) {
        case 'empty':
          return dead(c.device, topic, Buffer.alloc(0), 'empty', device.id);
        case 'empty-array':
          return dead(c.device, topic, Buffer.from('[]'), 'empty', device.id);
        case 'scalar':
          return dead(c.device, topic, Buffer.from(raw.text), 'not-object', device.id);
        case 'too-many':
          return dead(
            c.device,
            topic,
            Buffer.from(`[${Array(raw.count).fill('{}').join(',')}]`),
            'too-many-readings',
            device.id,
          );
        case 'truncated': {
          const whole =
            raw.shapes.length === 1
              ? text(reading(raw.shapes[0] as Shape))
              : `[${raw.shapes.map((s) => text(reading(s))).join(',')}]`;
          const payload = Buffer.from(whole.slice(0, 1 + Math.floor(raw.cut * (whole.length - 1))));
          assertNotJson(payload);
          return dead(c.device, topic, payload, 'not-json', device.id);
        }
        case 'bad-token': {
          const r = reading(raw.shape);
          const [key] = r[1] as readonly [string, string];
          const payload = Buffer.from(text(setField(r, key, raw.token)));
          assertNotJson(payload);
          return dead(c.device, topic, payload, 'not-json', device.id);
        }
        case 'syntax': {
          const payload = Buffer.from(raw.text);
          assertNotJson(payload);
          return dead(c.device, topic, payload, 'not-json', device.id);
        }
        case 'bad-utf8': {
          const body = text(reading(raw.shape));
          const payload = Buffer.concat([
            Buffer.from(`${body.slice(0, -1)},"note":"`),
            Buffer.from(raw.bytes),
            Buffer.from('"}'),
          ]);
          assertNotJson(payload);
          return dead(c.device, topic, payload, 'not-json', device.id);
        }
      }
      throw new Error('unreachable');
    }
    case 'status': {
      const device = FUZZ_DEVICES[c.device] as FuzzDevice;
      const topic = topicOf(device.kind, device.id, 'status');
      const payload = Buffer.from(c.payload);
      if (c.payload === 'online' || c.payload === 'offline')
        return { actor: c.device, topic, payload, outcome: { kind: 'status' } };
      return dead(c.device, topic, payload, c.payload === '' ? 'empty' : 'schema', device.id);
    }
    case 'foreign': {
      const payload = Buffer.from(text(readingOf(c.shape, nextTs())));
      const known = 'b3-e-main';
      const foreign: Record<ForeignTopic, [string, RejectReason, string | null]> = {
        'unknown-meter': [topicOf('meter', 'no-such-meter', 'reading'), 'unknown-device', 'no-such-meter'],
        'unknown-sensor': [topicOf('sensor', 's-b9-ghost', 'state'), 'unknown-device', 's-b9-ghost'],
        'wrong-site': [topicOf('meter', known, 'reading', 'other-site'), 'wrong-site', known],
        'kind-mismatch': [topicOf('meter', 'v21', 'reading'), 'kind-mismatch', 'v21'],
        'extra-level': [`${topicOf('meter', known, 'reading')}/extra`, 'bad-topic', null],
        dotdot: [`fac/${SITE}/meter/../reading`, 'bad-topic', null],
        'empty-level': [`fac/${SITE}//${known}/reading`, 'bad-topic', null],
        'wrong-channel': [topicOf('meter', known, 'gps'), 'bad-topic', null],
        'upper-case': [topicOf('meter', 'B3-E-MAIN', 'reading'), 'bad-topic', null],
        short: ['fac/x', 'bad-topic', null],
        long: [`fac/${SITE}/meter/${'a'.repeat(300)}/reading`, 'bad-topic', null],
        'bad-kind': [`fac/${SITE}/meters/${known}/reading`, 'bad-topic', null],
      };
      const [topic, reason, device] = foreign[c.topic];
      return dead('service', topic, payload, reason, device);
    }
    case 'acl': {
      const device = FUZZ_DEVICES[c.device] as FuzzDevice;
      const own = topicOf(device.kind, device.id, CHANNEL[device.kind]);
      const otherChannel = device.kind === 'meter' ? 'gps' : 'reading';
      const topics: Record<AclTopic, string> = {
        'other-device': device.victim,
        'other-channel': topicOf(device.kind, device.id, otherChannel),
        'extra-level': `${own}/extra`,
        'trailing-slash': `${own}/`,
        'dotdot-id': `fac/${SITE}/${device.kind}/../${CHANNEL[device.kind]}`,
        'dotdot-channel': topicOf(device.kind, device.id, '..'),
        'empty-id': `fac/${SITE}/${device.kind}//${CHANNEL[device.kind]}`,
        'empty-site': `fac//${device.kind}/${device.id}/${CHANNEL[device.kind]}`,
        'leading-slash': `/${own}`,
        'other-site': topicOf(device.kind, device.id, CHANNEL[device.kind], 'other-site'),
        sys: '$SYS/broker/clients/connected',
        share: `$share/ingest/${own}`,
        'outside-root': `building/b3/${device.id}`,
        'wildcard-plus': `fac/${SITE}/${device.kind}/+/${CHANNEL[device.kind]}`,
        'wildcard-hash': 'fac/#',
        'wildcard-in-level': `fac/${SITE}/${device.kind}/${device.id}+x/${CHANNEL[device.kind]}`,
        'wildcard-own': `${topicOf(device.kind, device.id, '')}#`,
      };
      return {
        actor: c.device,
        topic: topics[c.topic],
        payload: Buffer.from(text(readingOf(c.shape, nextTs()))),
        outcome: { kind: 'refused', refusal: WILDCARD_TOPICS.has(c.topic) ? 'aedes' : 'publish-denied' },
      };
    }
    case 'oversize': {
      const device = FUZZ_DEVICES[c.device] as FuzzDevice;
      // Valid readings padded with blanks: stored if the broker let it through.
      const readings = Array.from({ length: 50 }, () => text(readingOf(c.shape, nextTs())));
      const body = readings.join(',');
      const payload = `[${' '.repeat(Math.max(0, c.bytes - body.length - 2))}${body}]`;
      return {
        actor: c.device,
        topic: topicOf(device.kind, device.id, CHANNEL[device.kind]),
        payload: Buffer.from(payload),
        outcome: { kind: 'refused', refusal: 'payload-too-large' },
      };
    }
    case 'login': {
      const n = loginCounter++;
      const clientId = `intruder-${n}`;
      const logins: Record<Login, [Built['login'], RefusalReason, number]> = {
        'unknown-user': [{ username: `ghost-${n}`, password: c.secret, clientId }, 'unknown-user', 4],
        'bad-password': [{ username: 'b3-e-main', password: `${c.secret}!`, clientId }, 'bad-password', 4],
        'service-bad-password': [
          { username: INGEST.username, password: `${c.secret}?`, clientId },
          'bad-password',
          4,
        ],
        'no-credentials': [{ clientId }, 'no-credentials', 4],
        // Right secret, but another device's client id: it could take over that device's session.
        'client-id': [
          { username: 'b4-g-boiler', password: 'demo-b4-g-boiler', clientId: 'b4-g-kitchen' },
          'client-id',
          2,
        ],
      };
      const [login, refusal, code] = logins[c.login];
      return {
        actor: 'login',
        topic: '',
        payload: Buffer.alloc(0),
        outcome: { kind: 'login', refusal, code },
        ...(login ? { login } : {}),
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------------

/** Rejects with `what` when `promise` takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** The next `connect` or `close` of a client. */
function nextEvent(client: MqttClient, event: 'connect' | 'close'): Promise<void> {
  return new Promise((resolve) => client.once(event, () => resolve()));
}

interface Publisher {
  readonly device: FuzzDevice;
  readonly client: MqttClient;
  /** Connections closed by the broker, and reconnections. */
  closes: number;
  reconnects: number;
}

async function connectDevice(url: string, device: FuzzDevice): Promise<Publisher> {
  const client = mqtt.connect(url, {
    clientId: device.id,
    username: device.id,
    password: `demo-${device.id}`,
    clean: true,
    reconnectPeriod: 20,
    connectTimeout: 5000,
  });
  onTestFinished(() => client.endAsync(true));
  // The broker cutting a 1 MB write short is an ECONNRESET/EPIPE here; the client reconnects.
  client.on('error', () => undefined);
  const publisher: Publisher = { device, client, closes: 0, reconnects: -1 };
  client.on('close', () => publisher.closes++);
  client.on('connect', () => publisher.reconnects++);
  await within(nextEvent(client, 'connect'), 5000, `${device.id} to connect`);
  return publisher;
}

async function publishAs(publisher: Publisher, built: Built): Promise<void> {
  const { client } = publisher;
  if (built.outcome.kind !== 'refused') {
    await within(
      client.publishAsync(built.topic, built.payload, { qos: 1 }),
      5000,
      `PUBACK on ${built.topic}`,
    );
    return;
  }
  const closed = nextEvent(client, 'close');
  client.publish(built.topic, built.payload, { qos: 0 });
  await within(
    closed,
    5000,
    `the broker to close ${publisher.device.id} after a publish on ${JSON.stringify(built.topic)}`,
  );
  await within(nextEvent(client, 'connect'), 5000, `${publisher.device.id} to reconnect`);
}

async function attemptLogin(url: string, built: Built): Promise<number | undefined> {
  const login = built.login as NonNullable<Built['login']>;
  try {
    const client = await mqtt.connectAsync(url, {
      clientId: login.clientId,
      ...(login.username === undefined ? {} : { username: login.username }),
      ...(login.password === undefined ? {} : { password: login.password }),
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    await client.endAsync(true);
    return 0;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

type Tally = Map<string, number>;
const add = (tally: Tally, key: string, n = 1) => tally.set(key, (tally.get(key) ?? 0) + n);
const sorted = (tally: Tally) =>
  Object.fromEntries([...tally].filter(([, n]) => n !== 0).sort(([a], [b]) => a.localeCompare(b)));

function sameValue(a: FieldValue | null | undefined, b: FieldValue | null | undefined): boolean {
  // The store keeps doubles: -0 and 0 are the same reading.
  return a === b || (typeof a === 'number' && typeof b === 'number' && a === b) || (a === 0 && b === 0);
}

for (const path of ['mqtt-client', 'in-process'] as const) {
  it(`thousands of malformed messages, topics and logins: valid data stored exactly once, every bad message dead-lettered with its reason, nothing crashes (${path} ingest)`, {
    timeout: 180_000,
  }, async () => {
    const folder = await mkdtemp(join(tmpdir(), 'sfp-fuzz-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));

    const store = new DuckDbStore({ path: join(folder, 'store.duckdb') });
    onTestFinished(() => store.stop());
    await store.start();
    const deadLetters = new DuckDbDeadLetterSink({ database: store });
    onTestFinished(() => deadLetters.stop());
    await deadLetters.start();

    // The in-process ingest is the broker's publish gate, started before it (as in `facility
    // start`); the MQTT-client ingest subscribes once the broker listens.
    const inProcess =
      path === 'in-process'
        ? new BrokerIngest({
            facility,
            store,
            deadLetters,
            maxAgeMs: MAX_AGE_MS,
            batch: { maxDelayMs: 20 },
            deadLetter: { maxDelayMs: 20 },
          })
        : undefined;
    if (inProcess) {
      onTestFinished(() => inProcess.stop());
      await inProcess.start();
    }
    const broker = new FacilityBroker({
      facility,
      services: [INGEST, TESTER],
      host: '127.0.0.1',
      mqttPort: 0,
      persistence: { kind: 'level', dir: join(folder, 'mqtt') },
      // Not what this test is about: no device should be cut off for its rate.
      rateLimit: { perSecond: 100_000, burst: 100_000 },
      // Nor throttled for the bad logins it sends from one address (broker-login-guard.test.ts).
      loginGuard: {
        free: { user: 1_000_000, address: 1_000_000 },
        maxInFlight: { user: 1000, address: 1000 },
      },
      ...(inProcess ? { gate: inProcess } : {}),
    });
    onTestFinished(() => broker.stop());
    await broker.start();
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;

    const ingest =
      inProcess ??
      new Ingest({
        facility,
        store,
        deadLetters,
        maxAgeMs: MAX_AGE_MS,
        batch: { maxDelayMs: 20 },
        deadLetter: { maxDelayMs: 20 },
        mqtt: { url, clientId: 'ingest-fuzz', username: INGEST.username, password: INGEST.password },
      });
    if (!inProcess) {
      onTestFinished(() => ingest.stop());
      await ingest.start();
    }

    // The valid stream: eight devices two days back, a simulated minute every 100 ms.
    const simulation = createSimulation(facility, { seed: 7 });
    const simStart = Math.floor((Date.now() - 2 * DAY) / 60_000) * 60_000;
    const live = new LiveSimulator({
      simulation,
      brokerUrl: url,
      speed: 600,
      start: simStart,
      devices: SIM_DEVICES,
      tickMs: 100,
    });
    onTestFinished(() => live.stop());
    await live.start();
    expect(live.stats()).toMatchObject({ devices: SIM_DEVICES.length, connected: SIM_DEVICES.length });

    const publishers = await Promise.all(FUZZ_DEVICES.map((device) => connectDevice(url, device)));
    const service = await mqtt.connectAsync(url, {
      clientId: 'fuzz-service',
      username: TESTER.username,
      password: TESTER.password,
      reconnectPeriod: 0,
    });
    onTestFinished(() => service.endAsync(true));

    // What must be in the store for the fuzzing devices, and the counts so far.
    const expectedPoints = new Map<string, Map<number, Fields>>(FUZZ_DEVICES.map((d) => [d.id, new Map()]));
    const totals = {
      cases: 0,
      byCase: new Map() as Tally,
      dead: new Map() as Tally,
      refusals: new Map() as Tally,
      stored: { messages: 0, points: 0 },
      status: 0,
      reachedIngest: 0,
    };
    let deadLetterMaxId = 0;

    async function storedFuzz(): Promise<Map<string, Map<number, Record<string, FieldValue | null>>>> {
      const out = new Map<string, Map<number, Record<string, FieldValue | null>>>();
      for (const measurement of ['meter', 'vehicle', 'sensor'] as const satisfies readonly Measurement[]) {
        const key = MEASUREMENTS[measurement].key;
        const ids = FUZZ_DEVICES.filter((d) => d.kind === measurement).map((d) => d.id);
        const series = await store.query({
          measurement,
          fields: Object.keys(MEASUREMENTS[measurement].fields),
          where: { [key]: ids },
          groupBy: [key],
          ...ALL_TIME,
        });
        for (const s of series) {
          const points = new Map<number, Record<string, FieldValue | null>>();
          for (const row of s.rows) points.set(row.time, row.values);
          out.set(s.tags[key] as string, points);
        }
      }
      return out;
    }

    const countPoints = (points: Map<string, Map<number, unknown>>) =>
      [...points.values()].reduce((n, m) => n + m.size, 0);

    /** One fast-check run: publish a batch of cases, wait for the ingest, check everything it did. */
    async function runBatch(cases: readonly Case[]): Promise<void> {
      const now = Date.now();
      const built = cases.map((c) => build(c, now));
      const refusalsBefore = broker.refusals;
      const rejectedBefore = ingest.stats().rejectedByReason;

      const byActor = new Map<Actor, Built[]>();
      for (const b of built) byActor.set(b.actor, [...(byActor.get(b.actor) ?? []), b]);
      const loginCodes: Array<[Built, number | undefined]> = [];
      await Promise.all(
        [...byActor].map(async ([actor, queue]) => {
          for (const b of queue) {
            if (actor === 'login') loginCodes.push([b, await attemptLogin(url, b)]);
            else if (actor === 'service')
              await within(
                service.publishAsync(b.topic, b.payload, { qos: 1 }),
                5000,
                `PUBACK on ${b.topic}`,
              );
            else await publishAs(publishers[actor] as Publisher, b);
          }
        }),
      );

      // What the batch must have done.
      const dead = new Map<string, number>();
      const deadByReason: Tally = new Map();
      const refusals: Tally = new Map();
      for (const b of built) {
        const o = b.outcome;
        add(
          totals.byCase,
          o.kind === 'dead'
            ? `dead:${o.reason}`
            : o.kind === 'refused'
              ? `refused:${o.refusal}`
              : o.kind === 'login'
                ? `login:${o.refusal}`
                : o.kind,
        );
        if (o.kind === 'stored') {
          const points = expectedPoints.get(o.device) as Map<number, Fields>;
          for (const [ts, fields] of o.points) points.set(ts, fields);
          totals.stored.messages++;
          totals.stored.points += o.points.size;
          totals.reachedIngest++;
        } else if (o.kind === 'dead') {
          add(dead, `${o.reason} ${o.device ?? '-'} ${b.topic} ${b.payload.length}`);
          add(deadByReason, o.reason);
          totals.reachedIngest++;
        } else if (o.kind === 'status') {
          totals.status++;
          totals.reachedIngest++;
        } else if (o.kind === 'refused') {
          if (o.refusal !== 'aedes') add(refusals, o.refusal);
        } else {
          add(refusals, o.refusal);
        }
      }
      totals.cases += built.length;
      for (const [reason, n] of deadByReason) add(totals.dead, reason, n);
      for (const [reason, n] of refusals) add(totals.refusals, reason, n);
      const expectedDead = [...totals.dead.values()].reduce((a, b) => a + b, 0);
      const expectedStored = countPoints(expectedPoints);

      // Wait for the ingest: rejections are counted at once, dead letters and points once committed.
      await until(
        async () =>
          ingest.stats().messages.deadLettered >= expectedDead &&
          countPoints(await storedFuzz()) >= expectedStored,
        10_000,
      );

      // Logins: refused with the right CONNACK code.
      for (const [b, code] of loginCodes) {
        expect(code, `CONNACK of ${JSON.stringify(b.login)}`).toBe((b.outcome as { code: number }).code);
      }
      // Broker refusals of this batch, by reason.
      const refusalsAfter = broker.refusals;
      const refusalDelta: Tally = new Map();
      for (const reason of Object.keys(refusalsAfter) as RefusalReason[]) {
        add(refusalDelta, reason, refusalsAfter[reason] - refusalsBefore[reason]);
      }
      expect(sorted(refusalDelta), 'broker refusals of the batch').toEqual(sorted(refusals));

      // The ingest's rejection counters, by reason.
      const rejectedAfter = ingest.stats().rejectedByReason;
      const rejectedDelta: Tally = new Map();
      for (const [reason, n] of Object.entries(rejectedAfter)) {
        add(rejectedDelta, reason, n - (rejectedBefore[reason as DeadLetterReason] ?? 0));
      }
      expect(sorted(rejectedDelta), 'ingest rejections of the batch, by reason').toEqual(
        sorted(deadByReason),
      );

      // The dead-letter entries of the batch: reason, device, topic and size of each message.
      const entries = (await deadLetters.list({ limit: 100_000 })).filter((e) => e.id > deadLetterMaxId);
      deadLetterMaxId = Math.max(deadLetterMaxId, ...entries.map((e) => e.id));
      const actual: Tally = new Map();
      for (const e of entries) {
        add(actual, `${e.reason} ${e.device?.id ?? '-'} ${e.topic} ${e.size}`);
        expect(e.detail.length, `detail of ${e.reason} ${e.topic}`).toBeGreaterThan(10);
      }
      expect(sorted(actual), 'dead-letter entries of the batch').toEqual(sorted(dead));

      // The store holds exactly the valid readings of the fuzzing devices, with their values.
      const stored = await storedFuzz();
      for (const device of FUZZ_DEVICES) {
        const want = expectedPoints.get(device.id) as Map<number, Fields>;
        const have = stored.get(device.id) ?? new Map();
        const missing = [...want.keys()].filter((ts) => !have.has(ts));
        const extra = [...have.keys()].filter((ts) => !want.has(ts));
        expect({ device: device.id, missing, extra }).toEqual({ device: device.id, missing: [], extra: [] });
        for (const [ts, fields] of want) {
          const row = have.get(ts) as Record<string, FieldValue | null>;
          for (const field of Object.keys(MEASUREMENTS[device.kind].fields)) {
            if (!sameValue(row[field], fields[field] ?? null)) {
              expect({ device: device.id, ts, field, stored: row[field] }).toEqual({
                device: device.id,
                ts,
                field,
                stored: fields[field] ?? null,
              });
            }
          }
        }
      }
    }

    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(caseArb, CASES_PER_RUN), async (cases) => {
        await runBatch(cases);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const fuzzSeconds = (performance.now() - started) / 1000;

    // Still up, still ingesting: one more valid reading from each fuzzing device is stored.
    await runBatch(
      FUZZ_DEVICES.map(
        (_, device): Case => ({
          type: 'valid',
          device,
          shapes: fc.sample(shapeOf(profileOf(device)), { seed: SEED, numRuns: 1 }),
          array: false,
        }),
      ),
    );
    const streaming = live.stats().acknowledged;
    expect(
      await until(() => live.stats().acknowledged > streaming + 20, 5000),
      'the simulator still streaming',
    ).toBe(true);
    for (const publisher of publishers) expect(publisher.client.connected, publisher.device.id).toBe(true);

    // The valid stream: every simulated reading published is in the store once, with its values.
    await live.stop();
    const sim = live.stats();
    expect(sim).toMatchObject({ errors: 0, acknowledged: sim.messages });
    const expectedSim = new Map(
      simulation
        .devices()
        .filter((d) => SIM_DEVICES.includes(d.id))
        .map((d) => [
          d.id,
          {
            kind: d.kind,
            readings: simulation.readings(d.kind, d.id, simStart, sim.simulatedTime + 1) as unknown as Array<
              Record<string, unknown>
            >,
          },
        ]),
    );
    const simPoints = [...expectedSim.values()].reduce((n, d) => n + d.readings.length, 0);
    expect(simPoints).toBe(sim.readings);
    // Everything that reached the ingest: simulator readings and statuses (online at start,
    // offline at stop), and what the fuzzer published that the broker let through.
    const received = sim.messages + 2 * SIM_DEVICES.length + totals.reachedIngest;
    await until(
      () => ingest.stats().messages.received >= received && ingest.stats().backlog.messages === 0,
      10_000,
    );
    await ingest.flush();
    for (const [id, { kind, readings }] of expectedSim) {
      const key = MEASUREMENTS[kind].key;
      const series = await store.query({
        measurement: kind,
        fields: Object.keys(MEASUREMENTS[kind].fields),
        where: { [key]: id },
        ...ALL_TIME,
      });
      const rows = series.flatMap((s) => s.rows);
      expect(
        rows.map((r) => r.time),
        `${id}: times stored`,
      ).toEqual(readings.map((r) => parseTimestamp(r.ts)));
      rows.forEach((row, i) => {
        const reading = readings[i] as Record<string, unknown>;
        for (const field of Object.keys(MEASUREMENTS[kind].fields)) {
          if (!sameValue(row.values[field], (reading[field] ?? null) as FieldValue | null)) {
            expect({ id, time: row.time, field, stored: row.values[field] }).toEqual({
              id,
              time: row.time,
              field,
              stored: reading[field] ?? null,
            });
          }
        }
      });
    }

    // The ingest never lost its connection nor a message, and counted exactly what it got.
    const stats = ingest.stats();
    const expectedDead = [...totals.dead.values()].reduce((a, b) => a + b, 0);
    expect(stats.connected).toBe(true);
    expect(stats.connections).toBe(path === 'mqtt-client' ? 1 : 0);
    expect(stats.messages).toEqual({
      received,
      stored: sim.messages + totals.stored.messages,
      // Every valid message has a time of its own: no copies.
      duplicates: 0,
      spooled: 0,
      status: 2 * SIM_DEVICES.length + totals.status,
      rejected: expectedDead,
      deadLettered: expectedDead,
      deadLetterFailed: 0,
      deadLetterDeferred: 0,
      dropped: 0,
      failed: 0,
    });
    expect(stats.points.stored).toBe(sim.readings + totals.stored.points);
    expect(stats.rejections.filter((r) => r.device !== null && SIM_DEVICES.includes(r.device))).toEqual([]);
    expect(stats.backlog).toEqual({ messages: 0, points: 0, deadLetters: 0 });
    expect(totals.cases).toBeGreaterThanOrEqual(2000);

    const refusals = broker.refusals;
    const counts = {
      seed: SEED,
      runs: RUNS,
      seconds: Math.round(fuzzSeconds * 10) / 10,
      cases: totals.cases,
      outcomes: sorted(totals.byCase),
      deadLettered: { total: expectedDead, byReason: sorted(totals.dead) },
      brokerRefusals: Object.fromEntries(Object.entries(refusals).filter(([, n]) => n > 0)),
      reconnections: Object.fromEntries(publishers.map((p) => [p.device.id, p.reconnects])),
      fuzzStored: totals.stored,
      simulator: { messages: sim.messages, readings: sim.readings },
      ingest: {
        received: stats.messages.received,
        pointsStored: stats.points.stored,
        batches: stats.batches.count,
      },
    };
    console.log(`ingest fuzz (${path}): ${JSON.stringify(counts, null, 2)}`);
    // The fuzzing devices, the service client and, on the MQTT path, the ingest.
    expect(broker.connectedClients).toBeGreaterThanOrEqual(
      FUZZ_DEVICES.length + (path === 'mqtt-client' ? 2 : 1),
    );
  });
}
