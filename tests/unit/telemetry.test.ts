/**
 * The telemetry contract: topics, payloads, decoding to store points. Tables of hand-written
 * cases against the demo facility (each reject reason with its exact detail, each valid message
 * with the exact points it yields), then fast-check properties: no topic or payload makes the
 * parser or decoder throw, and the decoder agrees with the published TypeBox schema.
 */
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { loadFacility } from '../../core/facility/load.ts';
import { DEFAULT_REGISTER_MAX } from '../../core/facility/meter-rules.ts';
import { type Facility, SENSOR_MEASURES } from '../../core/facility/schema.ts';
import { MEASUREMENTS, type Point, validatePoints } from '../../core/store.ts';
import {
  createTelemetryDecoder,
  DATA_CHANNEL,
  DEVICE_KINDS,
  type DecodeResult,
  decodeMessage,
  deviceTopicPrefix,
  MAX_TOPIC_LENGTH,
  MeterMessageSchema,
  parseTimestamp,
  parseTopic,
  REJECT_REASONS,
  type RejectReason,
  SensorStateSchema,
  TELEMETRY_TOPICS,
  topicFor,
  VehicleGpsSchema,
} from '../../core/telemetry.ts';

function demoFacility(): Facility {
  const result = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!result.ok) throw new Error('the demo facility does not load');
  return result.facility;
}

const FACILITY = demoFacility();
const DAY = 86_400_000;
/** 2026-11-25T09:00:00+08:00, a Wednesday morning in Chengdu. */
const NOW = Date.UTC(2026, 10, 25, 1, 0, 0);
const MAX_AGE = 30 * DAY;
const decoder = createTelemetryDecoder(FACILITY, { maxAgeMs: MAX_AGE });

const TS = '2026-11-25T09:00:00+08:00';
const METER = 'fac/cd-compound/meter/b1-e-main/reading';
const WATER = 'fac/cd-compound/meter/b1-w-main/reading';
const DEPT_METER = 'fac/cd-compound/meter/b1-e-finance/reading';
const CAR = 'fac/cd-compound/vehicle/v01/gps';
const EV = 'fac/cd-compound/vehicle/v13/gps';
const ROOM = 'fac/cd-compound/sensor/s-b1-m0301/state';
const OFFICE = 'fac/cd-compound/sensor/s-b1-z-genoffice/state';
const CANTEEN = 'fac/cd-compound/sensor/s-b4-canteen/state';

const METER_TAGS = {
  site: 'cd-compound',
  building: 'b1',
  department: '',
  meter: 'b1-e-main',
  kind: 'electricity',
  system: 'total',
};
const CAR_TAGS = { site: 'cd-compound', vehicle: 'v01', department: 'service-center' };
const ROOM_TAGS = { site: 'cd-compound', building: 'b1', room: 'b1-m0301', sensor: 's-b1-m0301' };

function bytes(payload: string | unknown): Buffer {
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

function decode(topic: string, payload: string | unknown, now = NOW): DecodeResult {
  return decoder.decode(topic, bytes(payload), now);
}

// ---------------------------------------------------------------------------------------------
// Topics
// ---------------------------------------------------------------------------------------------

describe('parseTopic', () => {
  it.each([
    ['fac/cd-compound/meter/b1-e-main/reading', 'meter', 'b1-e-main', 'reading'],
    ['fac/cd-compound/meter/b1-e-main/status', 'meter', 'b1-e-main', 'status'],
    ['fac/cd-compound/vehicle/v01/gps', 'vehicle', 'v01', 'gps'],
    ['fac/cd-compound/vehicle/v01/status', 'vehicle', 'v01', 'status'],
    ['fac/cd-compound/sensor/s-b1-m0301/state', 'sensor', 's-b1-m0301', 'state'],
    ['fac/cd-compound/sensor/a.b_c-d/status', 'sensor', 'a.b_c-d', 'status'],
  ])('%s', (topic, kind, id, channel) => {
    expect(parseTopic(topic)).toEqual({ ok: true, site: 'cd-compound', kind, id, channel });
  });

  const ID_RULE =
    'lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 characters';
  it.each([
    ['', 'topic is empty'],
    ['x'.repeat(257), 'topic is 257 characters long; the longest accepted is 256'],
    ['fac/cd/meter/m1\u0000/reading', 'topic contains the control character U+0000 at position 15'],
    ['fac/cd/meter/m1/reading\n', 'topic contains the control character U+000A at position 23'],
    ['fac/cd/meter/m1\u0085/reading', 'topic contains the control character U+0085 at position 15'],
    ['$SYS/broker/clients', 'topics starting with "$" are reserved for the broker'],
    ['$share/ingest/fac/cd/meter/m1/reading', 'topics starting with "$" are reserved for the broker'],
    [
      'fac/+/meter/m1/reading',
      'topic contains the wildcard "+" at position 4; a topic name must not contain + or #',
    ],
    [
      'fac/cd/meter/#',
      'topic contains the wildcard "#" at position 13; a topic name must not contain + or #',
    ],
    [
      'factory/cd/meter/m1/reading',
      'topic must start with "fac/" (fac/{site}/{kind}/{id}/{channel}), got "factory/cd/meter/m1/reading"',
    ],
    [
      '/fac/cd/meter/m1/reading',
      'topic must start with "fac/" (fac/{site}/{kind}/{id}/{channel}), got "/fac/cd/meter/m1/reading"',
    ],
    ['fac/cd/meter/m1', 'topic has 4 levels; expected 5, fac/{site}/{kind}/{id}/{channel}'],
    ['fac/cd/meter/m1/reading/', 'topic has 6 levels; expected 5, fac/{site}/{kind}/{id}/{channel}'],
    ['fac/cd/meter/m1/reading/x', 'topic has 6 levels; expected 5, fac/{site}/{kind}/{id}/{channel}'],
    ['fac//meter/m1/reading', 'level 2 ({site}) is empty'],
    ['fac/cd/meter//reading', 'level 4 ({id}) is empty'],
    ['fac/cd/meter/../reading', 'level 4 ({id}) is ".."; relative levels are not allowed'],
    ['fac/./meter/m1/reading', 'level 2 ({site}) is "."; relative levels are not allowed'],
    [
      'fac/cd/metre/m1/reading',
      'unknown device kind "metre" (did you mean "meter"?); expected meter, vehicle or sensor',
    ],
    ['fac/cd/door/d1/state', 'unknown device kind "door"; expected meter, vehicle or sensor'],
    ['fac/cd/meter/m1/gps', 'a meter does not publish on "gps"; a meter publishes reading or status'],
    [
      'fac/cd/vehicle/v1/reading',
      'a vehicle does not publish on "reading"; a vehicle publishes gps or status',
    ],
    ['fac/cd/sensor/s1/gps', 'a sensor does not publish on "gps"; a sensor publishes state or status'],
    [
      'fac/cd/meter/m1/readings',
      'unknown channel "readings" (did you mean "reading"?); a meter publishes reading or status',
    ],
    ['fac/CD/meter/m1/reading', `site "CD" is not a valid id (${ID_RULE})`],
    ['fac/cd/meter/m 1/reading', `device id "m 1" is not a valid id (${ID_RULE})`],
    ['fac/cd/meter/-m1/reading', `device id "-m1" is not a valid id (${ID_RULE})`],
    ['fac/cd/meter/电表/reading', `device id "电表" is not a valid id (${ID_RULE})`],
    [
      `fac/cd/meter/${'m'.repeat(65)}/reading`,
      `device id "${'m'.repeat(40)}…" is not a valid id (${ID_RULE})`,
    ],
  ])('refuses %j', (topic, reason) => {
    expect(parseTopic(topic)).toEqual({ ok: false, reason });
  });

  it('accepts the longest valid topic, which is within MAX_TOPIC_LENGTH', () => {
    const topic = `fac/${'s'.repeat(64)}/vehicle/${'v'.repeat(64)}/status`;
    expect(topic.length).toBe(148);
    expect(topic.length).toBeLessThan(MAX_TOPIC_LENGTH);
    expect(parseTopic(topic).ok).toBe(true);
  });

  it('says why a non-string is refused instead of throwing', () => {
    expect(parseTopic(undefined as unknown as string)).toEqual({
      ok: false,
      reason: 'topic must be a string, got undefined',
    });
  });
});

describe('topicFor and deviceTopicPrefix', () => {
  it('build the topics of a device', () => {
    expect(topicFor('meter', 'cd-compound', 'b1-e-main', 'reading')).toBe(METER);
    expect(topicFor('vehicle', 'cd-compound', 'v01', 'status')).toBe('fac/cd-compound/vehicle/v01/status');
    expect(deviceTopicPrefix('cd-compound', 'vehicle', 'v1')).toBe('fac/cd-compound/vehicle/v1/');
    // The trailing slash keeps v1's prefix from matching v10's topics.
    expect(
      'fac/cd-compound/vehicle/v10/gps'.startsWith(deviceTopicPrefix('cd-compound', 'vehicle', 'v1')),
    ).toBe(false);
  });

  it('refuses to build a topic that parseTopic would refuse', () => {
    expect(() => topicFor('meter', 'cd-compound', 'a/b', 'reading')).toThrow(
      'topicFor(meter, cd-compound, a/b, reading): topic has 6 levels; expected 5, fac/{site}/{kind}/{id}/{channel}',
    );
    // A channel of another kind is a type error, and a run-time one.
    expect(() => topicFor('meter', 'cd-compound', 'm1', 'gps' as 'reading')).toThrow(RangeError);
  });

  it('the topic map names one data channel per kind, plus status', () => {
    expect(Object.keys(TELEMETRY_TOPICS)).toEqual([
      'fac/{site}/meter/{id}/reading',
      'fac/{site}/vehicle/{id}/gps',
      'fac/{site}/sensor/{id}/state',
      'fac/{site}/{kind}/{id}/status',
    ]);
    for (const kind of DEVICE_KINDS) {
      expect(
        TELEMETRY_TOPICS[`fac/{site}/${kind}/{id}/${DATA_CHANNEL[kind]}` as keyof typeof TELEMETRY_TOPICS]
          .kind,
      ).toBe(kind);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Payloads: valid messages and the points they yield
// ---------------------------------------------------------------------------------------------

describe('valid messages', () => {
  interface Valid {
    name: string;
    topic: string;
    payload: unknown;
    points: Point[];
  }
  const cases: Valid[] = [
    {
      name: 'electricity meter, ISO time with +08:00',
      topic: METER,
      payload: { ts: TS, total: 123456.7, power: 88.2 },
      points: [
        { measurement: 'meter', tags: METER_TAGS, fields: { total: 123456.7, power: 88.2 }, time: NOW },
      ],
    },
    {
      name: 'department meter: the department tag is set',
      topic: DEPT_METER,
      payload: { ts: NOW, total: 0 },
      points: [
        {
          measurement: 'meter',
          tags: {
            site: 'cd-compound',
            building: 'b1',
            department: 'finance',
            meter: 'b1-e-finance',
            kind: 'electricity',
            system: 'department',
          },
          fields: { total: 0 },
          time: NOW,
        },
      ],
    },
    {
      name: 'water meter, epoch milliseconds',
      topic: WATER,
      payload: { ts: NOW - 300_000, total: 5021.25 },
      points: [
        {
          measurement: 'meter',
          tags: { ...METER_TAGS, meter: 'b1-w-main', kind: 'water' },
          fields: { total: 5021.25 },
          time: NOW - 300_000,
        },
      ],
    },
    {
      name: 'vehicle: heading is checked but not stored (the store has no such field)',
      topic: CAR,
      payload: {
        ts: '2026-11-25T01:00:00Z',
        lat: 30.657,
        lon: 104.066,
        speed: 42.5,
        ignition: true,
        heading: 270,
        odometer: 18234.6,
        fuel: 31.5,
      },
      points: [
        {
          measurement: 'vehicle',
          tags: CAR_TAGS,
          fields: { lat: 30.657, lon: 104.066, speed: 42.5, ignition: true, odometer: 18234.6, fuel: 31.5 },
          time: NOW,
        },
      ],
    },
    {
      name: 'vehicle at the bounds: lat ±90, lon ±180, speed 0 and 300, heading 360',
      topic: CAR,
      payload: [
        { ts: NOW - 2000, lat: -90, lon: -180, speed: 0, ignition: false, heading: 0 },
        { ts: NOW - 1000, lat: 90, lon: 180, speed: 300, ignition: true, heading: 360 },
      ],
      points: [
        {
          measurement: 'vehicle',
          tags: CAR_TAGS,
          fields: { lat: -90, lon: -180, speed: 0, ignition: false },
          time: NOW - 2000,
        },
        {
          measurement: 'vehicle',
          tags: CAR_TAGS,
          fields: { lat: 90, lon: 180, speed: 300, ignition: true },
          time: NOW - 1000,
        },
      ],
    },
    {
      name: 'sensor with every measure',
      topic: ROOM,
      payload: {
        ts: TS,
        occupancy: 12,
        temperature: 25.5,
        humidity: 55,
        co2: 820,
        hvac: 'cool',
        lights: true,
      },
      points: [
        {
          measurement: 'sensor',
          tags: ROOM_TAGS,
          fields: { occupancy: 12, temperature: 25.5, humidity: 55, co2: 820, hvac: 'cool', lights: true },
          time: NOW,
        },
      ],
    },
    {
      name: 'sensor with some measures; occupancy at twice the seats',
      topic: ROOM,
      payload: { ts: TS, occupancy: 40, hvac: 'off' },
      points: [{ measurement: 'sensor', tags: ROOM_TAGS, fields: { occupancy: 40, hvac: 'off' }, time: NOW }],
    },
    {
      name: 'office sensor, building from its room',
      topic: 'fac/cd-compound/sensor/s-b2-z-energy/state',
      payload: { ts: TS, temperature: -40, humidity: 0, co2: 10_000 },
      points: [
        {
          measurement: 'sensor',
          tags: { site: 'cd-compound', building: 'b2', room: 'b2-z-energy', sensor: 's-b2-z-energy' },
          fields: { temperature: -40, humidity: 0, co2: 10_000 },
          time: NOW,
        },
      ],
    },
    {
      name: 'gateway batch: one point per reading, in order',
      topic: METER,
      payload: [
        { ts: '2026-11-25T08:58:00+08:00', total: 100 },
        { ts: '2026-11-25T08:59:00+08:00', total: 100.5, power: 30 },
        { ts: '2026-11-25T01:00:00Z', total: 101 },
      ],
      points: [
        { measurement: 'meter', tags: METER_TAGS, fields: { total: 100 }, time: NOW - 120_000 },
        { measurement: 'meter', tags: METER_TAGS, fields: { total: 100.5, power: 30 }, time: NOW - 60_000 },
        { measurement: 'meter', tags: METER_TAGS, fields: { total: 101 }, time: NOW },
      ],
    },
  ];

  it.each(cases)('$name', ({ topic, payload, points }) => {
    const result = decode(topic, payload);
    expect(result).toEqual({ ok: true, device: parseTopicOk(topic), points });
    if ('points' in result) expect(() => validatePoints(result.points)).not.toThrow();
  });

  it.each([
    ['online', 'online'],
    ['offline', 'offline'],
  ])('status %s, no points', (payload, status) => {
    const topic = 'fac/cd-compound/vehicle/v01/status';
    expect(decode(topic, payload)).toEqual({ ok: true, device: parseTopicOk(topic), status });
  });

  it('every device of the demo facility decodes, with the tags of its measurement in order', () => {
    const minimal: Record<string, unknown> = {
      meter: { ts: NOW, total: 1 },
      vehicle: { ts: NOW, lat: 30, lon: 104, speed: 0, ignition: false },
      sensor: { ts: NOW, temperature: 21 },
    };
    const devices = [
      ...FACILITY.meters.map((d) => ['meter', d.id] as const),
      ...FACILITY.vehicles.map((d) => ['vehicle', d.id] as const),
      ...FACILITY.sensors.map((d) => ['sensor', d.id] as const),
    ];
    expect(devices.length).toBe(32 + 24 + 21);
    for (const [kind, id] of devices) {
      const result = decode(topicFor(kind, 'cd-compound', id, DATA_CHANNEL[kind]), minimal[kind]);
      if (!('points' in result)) throw new Error(`${kind} ${id}: ${JSON.stringify(result)}`);
      const tags = result.points[0]?.tags ?? {};
      expect(Object.keys(tags)).toEqual(MEASUREMENTS[kind].tags);
      expect(
        Object.values(tags).every((value, i) => value !== '' || MEASUREMENTS[kind].tags[i] === 'department'),
      ).toBe(true);
    }
  });
});

function parseTopicOk(topic: string) {
  const parsed = parseTopic(topic);
  if (!parsed.ok) throw new Error(parsed.reason);
  const { ok: _, ...device } = parsed;
  return device;
}

describe('ts', () => {
  it.each([
    ['2026-11-25T09:00:00+08:00', NOW],
    ['2026-11-25T01:00:00Z', NOW],
    ['2026-11-24T20:00:00-05:00', NOW],
    ['2026-11-25T06:30:00+05:30', NOW],
    ['2026-11-25T01:00:00-00:00', NOW],
    ['2026-11-25T09:00:00.1239+08:00', NOW + 123],
    ['2026-11-25T09:00:00.5+08:00', NOW + 500],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['0050-01-01T00:00:00Z', -60_589_296_000_000],
    [1795568400000, NOW],
  ])('%j is %d', (ts, ms) => {
    expect(parseTimestamp(ts)).toBe(ms);
  });

  it('the offset is applied: 09:00 in Chengdu is 01:00 UTC', () => {
    expect(parseTimestamp('2026-11-25T09:00:00+08:00')).toBe(1_795_568_400_000);
    expect(parseTimestamp('2026-11-25T09:00:00+08:00')).toBe(Date.UTC(2026, 10, 25, 1));
  });

  it.each([
    ['exactly maxFutureMs ahead', NOW + 300_000, true],
    ['1 ms more', NOW + 300_001, false],
    ['exactly maxAgeMs old', NOW - MAX_AGE, true],
    ['1 ms older', NOW - MAX_AGE - 1, false],
  ])('%s', (_, ts, ok) => {
    expect(decode(METER, { ts, total: 1 }).ok).toBe(ok);
  });

  it('is judged against the injected now', () => {
    const later = NOW + 10 * DAY;
    expect(decode(METER, { ts: NOW + 10 * DAY, total: 1 }).ok).toBe(false);
    expect(decode(METER, { ts: NOW + 10 * DAY, total: 1 }, later).ok).toBe(true);
    expect(decode(METER, { ts: NOW - 29 * DAY, total: 1 }, later).ok).toBe(false);
  });

  it('honours maxFutureMs', () => {
    const strict = createTelemetryDecoder(FACILITY, { maxAgeMs: MAX_AGE, maxFutureMs: 1000 });
    expect(strict.decode(METER, bytes({ ts: NOW + 1001, total: 1 }), NOW)).toMatchObject({
      ok: false,
      reason: 'future-time',
      detail:
        'ts: 2026-11-25T01:00:01.001Z is 1.1 s ahead of the ingest clock (at most 1 s accepted); check the device clock',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Rejections: every reason, with its exact detail
// ---------------------------------------------------------------------------------------------

interface Reject {
  topic: string;
  payload: string | Uint8Array | unknown;
  reason: RejectReason;
  detail: string;
}

const _ELEC = '(kWh)';
/** How the decoder names the range of an electricity meter's total (its registerMax). */
const ELEC_TOTAL = '(kWh; the registerMax of the meter)';
const RFC =
  'an RFC 3339 time with an offset ("2026-11-25T09:00:00+08:00" or "2026-11-25T01:00:00Z") or epoch milliseconds';
const ok = (extra: object) => ({ ts: TS, total: 1, ...extra });
const gps = (extra: object) => ({ ts: TS, lat: 30.6, lon: 104.1, speed: 30, ignition: true, ...extra });
const room = (extra: object) => ({ ts: TS, ...extra });

const rejects: Record<string, Reject> = {
  'bad-topic: channel of another kind': {
    topic: 'fac/cd-compound/meter/b1-e-main/gps',
    payload: ok({}),
    reason: 'bad-topic',
    detail: 'a meter does not publish on "gps"; a meter publishes reading or status',
  },
  'bad-topic: wildcard': {
    topic: 'fac/cd-compound/meter/+/reading',
    payload: ok({}),
    reason: 'bad-topic',
    detail: 'topic contains the wildcard "+" at position 22; a topic name must not contain + or #',
  },
  'bad-topic: $SYS': {
    topic: '$SYS/broker/uptime',
    payload: '12 seconds',
    reason: 'bad-topic',
    detail: 'topics starting with "$" are reserved for the broker',
  },
  'bad-topic: ..': {
    topic: 'fac/cd-compound/meter/../reading',
    payload: ok({}),
    reason: 'bad-topic',
    detail: 'level 4 ({id}) is ".."; relative levels are not allowed',
  },
  'wrong-site': {
    topic: 'fac/bj-compound/meter/b1-e-main/reading',
    payload: ok({}),
    reason: 'wrong-site',
    detail: 'topic is for site "bj-compound"; this facility is site "cd-compound"',
  },
  'unknown-device, with a suggestion': {
    topic: 'fac/cd-compound/meter/b1-e-mian/reading',
    payload: ok({}),
    reason: 'unknown-device',
    detail: 'no meter "b1-e-mian" in the facility (did you mean "b1-e-main"?)',
  },
  'unknown-device': {
    topic: 'fac/cd-compound/vehicle/truck-7/status',
    payload: 'online',
    reason: 'unknown-device',
    detail: 'no vehicle "truck-7" in the facility',
  },
  'kind-mismatch': {
    topic: 'fac/cd-compound/meter/v01/reading',
    payload: ok({}),
    reason: 'kind-mismatch',
    detail: '"v01" is a vehicle, not a meter; it publishes on fac/cd-compound/vehicle/v01/gps',
  },
  'empty: no bytes': {
    topic: METER,
    payload: '',
    reason: 'empty',
    detail: 'payload is empty; expected a meter reading as a JSON object, or an array of them',
  },
  'empty: empty array': {
    topic: METER,
    payload: '[]',
    reason: 'empty',
    detail: 'payload is an empty array; a gateway batch needs at least one meter reading',
  },
  'empty: a sensor state with only ts': {
    topic: OFFICE,
    payload: room({}),
    reason: 'empty',
    detail:
      'payload: no measurement; a sensor state needs at least one of occupancy, temperature, humidity, co2',
  },
  'empty: status': {
    topic: 'fac/cd-compound/meter/b1-e-main/status',
    payload: '',
    reason: 'empty',
    detail: 'status payload is empty; expected online or offline',
  },
  'not-json: plain text': {
    topic: METER,
    payload: 'online',
    reason: 'not-json',
    detail: `payload is not valid JSON (Unexpected token 'o', "online" is not valid JSON)`,
  },
  'not-json: cut short': {
    topic: METER,
    payload: '{"ts":',
    reason: 'not-json',
    detail: 'payload is not valid JSON (Unexpected end of JSON input)',
  },
  'not-json: control characters are escaped in the detail': {
    topic: METER,
    payload: '\u0001{}',
    reason: 'not-json',
    detail: `payload is not valid JSON (Unexpected token '\\u0001', "\\u0001{}" is not valid JSON)`,
  },
  'not-json: not UTF-8': {
    topic: METER,
    payload: new Uint8Array([0x7b, 0xff, 0x7d]),
    reason: 'not-json',
    detail: 'payload is not UTF-8 text, so not JSON',
  },
  'not-object: a number': {
    topic: METER,
    payload: '42',
    reason: 'not-object',
    detail: 'payload must be a JSON object or an array of them, got 42',
  },
  'not-object: null': {
    topic: METER,
    payload: 'null',
    reason: 'not-object',
    detail: 'payload must be a JSON object or an array of them, got null',
  },
  'not-object: a string': {
    topic: CAR,
    payload: '"30.6,104.1"',
    reason: 'not-object',
    detail: 'payload must be a JSON object or an array of them, got "30.6,104.1"',
  },
  'not-object: an element of a batch': {
    topic: METER,
    payload: [ok({}), [1]],
    reason: 'not-object',
    detail: '[1]: must be a JSON object, got an array',
  },
  'schema: the brief’s example': {
    topic: METER,
    payload: [ok({}), ok({}), ok({}), { ts: TS, total: 'abc' }],
    reason: 'schema',
    detail: `[3].total: must be a number from 0 to 1,000,000,000 ${ELEC_TOTAL}, got "abc"`,
  },
  'schema: total of a water meter is in m³': {
    topic: WATER,
    payload: { ts: TS, total: null },
    reason: 'schema',
    detail: 'total: must be a number from 0 to 1,000,000,000 (m³; the registerMax of the meter), got null',
  },
  'schema: unknown field, with a suggestion': {
    topic: METER,
    payload: ok({ totl: 2 }),
    reason: 'schema',
    detail: 'totl: unknown field (did you mean "total"?); a meter reading has ts, total, power',
  },
  'schema: unknown field of a water meter': {
    topic: WATER,
    payload: { ts: TS, total: 1, seq: 7 },
    reason: 'schema',
    detail: 'seq: unknown field; a meter reading has ts, total',
  },
  'schema: unknown field with an odd name': {
    topic: ROOM,
    payload: room({ temperature: 20, 'temp C': 20 }),
    reason: 'schema',
    detail:
      '["temp C"]: unknown field; a sensor state has ts, occupancy, temperature, humidity, co2, hvac, lights',
  },
  'schema: required field missing': {
    topic: CAR,
    payload: { ts: TS, lat: 30.6, lon: 104.1, speed: 30 },
    reason: 'schema',
    detail: 'ignition: required field is missing (a vehicle GPS report needs ts, lat, lon, speed, ignition)',
  },
  'schema: ts missing, in a batch': {
    topic: METER,
    payload: [ok({}), { total: 5 }],
    reason: 'schema',
    detail: '[1].ts: required field is missing (a meter reading needs ts, total)',
  },
  'schema: a boolean as text': {
    topic: CAR,
    payload: gps({ ignition: 'on' }),
    reason: 'schema',
    detail: 'ignition: must be true or false, got "on"',
  },
  'schema: a number as text': {
    topic: CAR,
    payload: gps({ speed: '30' }),
    reason: 'schema',
    detail: 'speed: must be a number from 0 to 300 (km/h), got "30"',
  },
  'schema: hvac mode, with a suggestion': {
    topic: ROOM,
    payload: room({ hvac: 'Cool' }),
    reason: 'schema',
    detail: 'hvac: must be one of off, cool, heat, fan, got "Cool" (did you mean "cool"?)',
  },
  'schema: occupancy is a whole number': {
    topic: ROOM,
    payload: room({ occupancy: 3.5 }),
    reason: 'schema',
    detail:
      'occupancy: must be a whole number from 0 to 40 (people: twice the 20 seats of room b1-m0301), got 3.5',
  },
  'schema: ts of the wrong type': {
    topic: METER,
    payload: { ts: true, total: 1 },
    reason: 'schema',
    detail: `ts: must be ${RFC}, got true`,
  },
  'schema: status text': {
    topic: 'fac/cd-compound/sensor/s-b1-m0301/status',
    payload: 'ONLINE',
    reason: 'schema',
    detail: 'status payload must be online or offline (plain text), got "ONLINE"',
  },
  'schema: status as JSON': {
    topic: 'fac/cd-compound/sensor/s-b1-m0301/status',
    payload: '"online"',
    reason: 'schema',
    detail: 'status payload must be online or offline (plain text), got "\\"online\\""',
  },
  'not-measured: power from a water meter': {
    topic: WATER,
    payload: { ts: TS, total: 1, power: 0 },
    reason: 'not-measured',
    detail: 'power: meter b1-w-main is a water meter; only electricity meters report power (kW)',
  },
  'not-measured: a measure the sensor does not list': {
    topic: OFFICE,
    payload: room({ temperature: 22, lights: true }),
    reason: 'not-measured',
    detail:
      'lights: sensor s-b1-z-genoffice does not measure lights; its facility entry lists occupancy, temperature, humidity, co2',
  },
  'out-of-range: negative total': {
    topic: METER,
    payload: ok({ total: -1 }),
    reason: 'out-of-range',
    detail: `total: must be a number from 0 to 1,000,000,000 ${ELEC_TOTAL}, got -1`,
  },
  'out-of-range: a number too large for a double': {
    topic: METER,
    payload: `{"ts":"${TS}","total":1e400}`,
    reason: 'out-of-range',
    detail: `total: must be a number from 0 to 1,000,000,000 ${ELEC_TOTAL}, got Infinity`,
  },
  'out-of-range: negative power': {
    topic: METER,
    payload: ok({ power: -0.5 }),
    reason: 'out-of-range',
    detail: 'power: must be a finite number ≥ 0 (kW), got -0.5',
  },
  'out-of-range: latitude': {
    topic: CAR,
    payload: gps({ lat: 91 }),
    reason: 'out-of-range',
    detail: 'lat: must be a number from -90 to 90 (°), got 91',
  },
  'out-of-range: longitude': {
    topic: CAR,
    payload: gps({ lon: -180.5 }),
    reason: 'out-of-range',
    detail: 'lon: must be a number from -180 to 180 (°), got -180.5',
  },
  'out-of-range: speed': {
    topic: CAR,
    payload: gps({ speed: 301 }),
    reason: 'out-of-range',
    detail: 'speed: must be a number from 0 to 300 (km/h), got 301',
  },
  'out-of-range: heading': {
    topic: CAR,
    payload: gps({ heading: 361 }),
    reason: 'out-of-range',
    detail: 'heading: must be a number from 0 to 360 (°), got 361',
  },
  'out-of-range: odometer': {
    topic: CAR,
    payload: gps({ odometer: -3 }),
    reason: 'out-of-range',
    detail: 'odometer: must be a finite number ≥ 0 (km), got -3',
  },
  'out-of-range: fuel of a car is in litres': {
    topic: CAR,
    payload: gps({ fuel: -1 }),
    reason: 'out-of-range',
    detail: 'fuel: must be a finite number ≥ 0 (L), got -1',
  },
  'out-of-range: energy of an EV is in kWh': {
    topic: EV,
    payload: gps({ fuel: -1 }),
    reason: 'out-of-range',
    detail: 'fuel: must be a finite number ≥ 0 (kWh), got -1',
  },
  'out-of-range: occupancy above twice the seats': {
    topic: ROOM,
    payload: room({ occupancy: 41 }),
    reason: 'out-of-range',
    detail:
      'occupancy: must be a whole number from 0 to 40 (people: twice the 20 seats of room b1-m0301), got 41',
  },
  'out-of-range: occupancy of the canteen': {
    topic: CANTEEN,
    payload: room({ occupancy: 1201 }),
    reason: 'out-of-range',
    detail:
      'occupancy: must be a whole number from 0 to 1200 (people: twice the 600 seats of room b4-canteen), got 1201',
  },
  'out-of-range: negative occupancy': {
    topic: ROOM,
    payload: room({ occupancy: -1 }),
    reason: 'out-of-range',
    detail:
      'occupancy: must be a whole number from 0 to 40 (people: twice the 20 seats of room b1-m0301), got -1',
  },
  'out-of-range: temperature': {
    topic: ROOM,
    payload: room({ temperature: 80.1 }),
    reason: 'out-of-range',
    detail: 'temperature: must be a number from -40 to 80 (°C), got 80.1',
  },
  'out-of-range: humidity': {
    topic: ROOM,
    payload: room({ humidity: 101 }),
    reason: 'out-of-range',
    detail: 'humidity: must be a number from 0 to 100 (%RH), got 101',
  },
  'out-of-range: co2': {
    topic: ROOM,
    payload: room({ co2: 65535 }),
    reason: 'out-of-range',
    detail: 'co2: must be a number from 0 to 10000 (ppm), got 65535',
  },
  'bad-time: no offset': {
    topic: METER,
    payload: { ts: '2026-11-25T09:00:00', total: 1 },
    reason: 'bad-time',
    detail:
      'ts: "2026-11-25T09:00:00" has no UTC offset, so the instant is ambiguous; add "Z" or an offset such as "+08:00"',
  },
  'bad-time: epoch seconds': {
    topic: METER,
    payload: { ts: 1795568400, total: 1 },
    reason: 'bad-time',
    detail:
      'ts: 1795568400 looks like epoch seconds (2026-11-25T01:00:00.000Z); send epoch milliseconds, 1795568400000',
  },
  'bad-time: epoch microseconds': {
    topic: METER,
    payload: { ts: 1795568400000000, total: 1 },
    reason: 'bad-time',
    detail:
      'ts: 1795568400000000 is after the year 5000 in epoch milliseconds; it looks like microseconds or nanoseconds',
  },
  'bad-time: zero': {
    topic: METER,
    payload: { ts: 0, total: 1 },
    reason: 'bad-time',
    detail: 'ts: 0 is not a time in epoch milliseconds (it would be before 1973-03-03)',
  },
  'bad-time: fractional milliseconds': {
    topic: METER,
    payload: { ts: 1795568400000.5, total: 1 },
    reason: 'bad-time',
    detail: 'ts: epoch milliseconds must be a whole number, got 1795568400000.5',
  },
  'bad-time: 30 February': {
    topic: METER,
    payload: { ts: '2026-02-30T09:00:00+08:00', total: 1 },
    reason: 'bad-time',
    detail: 'ts: "2026-02-30T09:00:00+08:00" is not a real date and time (day 30 of 2026-02)',
  },
  'bad-time: hour 24': {
    topic: METER,
    payload: { ts: '2026-11-24T24:00:00Z', total: 1 },
    reason: 'bad-time',
    detail: 'ts: "2026-11-24T24:00:00Z" is not a real date and time (hour 24)',
  },
  'bad-time: a space for the T': {
    topic: METER,
    payload: { ts: '2026-11-25 09:00:00+08:00', total: 1 },
    reason: 'bad-time',
    detail: `ts: must be ${RFC}, got "2026-11-25 09:00:00+08:00"`,
  },
  'bad-time: an offset without its colon': {
    topic: METER,
    payload: { ts: '2026-11-25T09:00:00+0800', total: 1 },
    reason: 'bad-time',
    detail: `ts: must be ${RFC}, got "2026-11-25T09:00:00+0800"`,
  },
  'future-time': {
    topic: METER,
    payload: { ts: '2026-11-25T10:00:00+08:00', total: 1 },
    reason: 'future-time',
    detail:
      'ts: 2026-11-25T02:00:00.000Z is 60 min ahead of the ingest clock (at most 5 min accepted); check the device clock',
  },
  'future-time: far future': {
    topic: METER,
    payload: { ts: '2099-01-01T00:00:00Z', total: 1 },
    reason: 'future-time',
    detail:
      'ts: 2099-01-01T00:00:00.000Z is 26335 days ahead of the ingest clock (at most 5 min accepted); check the device clock',
  },
  'too-old': {
    topic: METER,
    payload: { ts: NOW - 31 * DAY, total: 1 },
    reason: 'too-old',
    detail: 'ts: 2026-10-25T01:00:00.000Z is 31 days old (at most 30 days accepted)',
  },
  'several problems: the first decides the reason; three are told': {
    topic: METER,
    payload: `[{"ts":1795568400,"total":"abc"},{"ts":"2026-11-25T09:00:00","total":-1},{"tss":1,"total":1e400}]`,
    reason: 'bad-time',
    detail:
      '[0].ts: 1795568400 looks like epoch seconds (2026-11-25T01:00:00.000Z); send epoch milliseconds, 1795568400000; ' +
      `[0].total: must be a number from 0 to 1,000,000,000 ${ELEC_TOTAL}, got "abc"; ` +
      '[1].ts: "2026-11-25T09:00:00" has no UTC offset, so the instant is ambiguous; add "Z" or an offset such as "+08:00"; ' +
      'and 4 more',
  },
  'all-or-nothing: one bad reading refuses the batch': {
    topic: METER,
    payload: [ok({}), ok({ total: 2 }), ok({ total: -3 }), ok({ total: 4 })],
    reason: 'out-of-range',
    detail: `[2].total: must be a number from 0 to 1,000,000,000 ${ELEC_TOTAL}, got -3`,
  },
};

describe('rejected messages', () => {
  it.each(Object.entries(rejects))('%s', (_, { topic, payload, reason, detail }) => {
    const result = decoder.decode(topic, payload instanceof Uint8Array ? payload : bytes(payload), NOW);
    const parsed = parseTopic(topic);
    const device = parsed.ok ? { device: parseTopicOk(topic) } : {};
    expect(result).toEqual({ ok: false, reason, detail, ...device });
  });

  it('covers every reject reason', () => {
    const covered = new Set([
      ...Object.values(rejects).map((r) => r.reason),
      'too-many-readings', // below: needs a decoder with a small maxReadings
    ]);
    expect([...covered].sort()).toEqual(Object.keys(REJECT_REASONS).sort());
  });

  it('too-many-readings', () => {
    const payload = bytes([ok({}), ok({}), ok({})]);
    expect(decodeMessage(FACILITY, METER, payload, { now: NOW, maxAgeMs: MAX_AGE, maxReadings: 2 })).toEqual({
      ok: false,
      reason: 'too-many-readings',
      detail: 'payload holds 3 readings; a message may hold at most 2',
      device: parseTopicOk(METER),
    });
    const big = bytes(Array.from({ length: 1001 }, () => ok({})));
    expect(decoder.decode(METER, big, NOW)).toMatchObject({ reason: 'too-many-readings' });
  });
});

describe('decodeMessage and options', () => {
  it('gives the same answers as a decoder', () => {
    for (const { topic, payload } of Object.values(rejects)) {
      const raw = payload instanceof Uint8Array ? payload : bytes(payload);
      expect(decodeMessage(FACILITY, topic, raw, { now: NOW, maxAgeMs: MAX_AGE })).toEqual(
        decoder.decode(topic, raw, NOW),
      );
    }
    expect(decodeMessage(FACILITY, METER, bytes(ok({})), { now: NOW, maxAgeMs: MAX_AGE })).toEqual(
      decoder.decode(METER, bytes(ok({})), NOW),
    );
  });

  it.each([
    [{ maxAgeMs: -1 }, 'maxAgeMs must be ≥ 0 ms, got -1'],
    [{ maxAgeMs: Number.NaN }, 'maxAgeMs must be ≥ 0 ms, got NaN'],
    [{ maxAgeMs: 1, maxFutureMs: -5 }, 'maxFutureMs must be ≥ 0 ms, got -5'],
    [{ maxAgeMs: 1, maxReadings: 0 }, 'maxReadings must be a whole number ≥ 1, got 0'],
    [{ maxAgeMs: 1, maxReadings: 1.5 }, 'maxReadings must be a whole number ≥ 1, got 1.5'],
  ])('refuses options %j', (options, message) => {
    expect(() => createTelemetryDecoder(FACILITY, options)).toThrow(message);
  });

  it('accepts any age with maxAgeMs Infinity', () => {
    const forever = createTelemetryDecoder(FACILITY, { maxAgeMs: Number.POSITIVE_INFINITY });
    expect(forever.decode(METER, bytes({ ts: '1990-01-01T00:00:00Z', total: 1 }), NOW).ok).toBe(true);
  });
});

describe('schemas', () => {
  it('a sensor state carries exactly the measures the facility file can list', () => {
    expect(Object.keys(SensorStateSchema.properties).filter((key) => key !== 'ts')).toEqual([
      ...SENSOR_MEASURES,
    ]);
  });

  it('every store field has a payload key; heading is the only payload key the store lacks', () => {
    const payloadKeys = {
      meter: Object.keys(MeterMessageSchema.anyOf[0].properties),
      vehicle: Object.keys(VehicleGpsSchema.properties),
      sensor: Object.keys(SensorStateSchema.properties),
    };
    for (const kind of DEVICE_KINDS) {
      const fields = Object.keys(MEASUREMENTS[kind].fields);
      expect(fields.filter((field) => !payloadKeys[kind].includes(field))).toEqual([]);
      expect(payloadKeys[kind].filter((key) => key !== 'ts' && !fields.includes(key))).toEqual(
        kind === 'vehicle' ? ['heading'] : [],
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const REASONS = new Set(Object.keys(REJECT_REASONS));

const level = fc.oneof(
  fc.constantFrom('', '.', '..', '+', '#', '$SYS', 'fac', 'cd-compound', 'b1-e-main', 'v01', 's-b1-m0301'),
  fc.constantFrom(...DEVICE_KINDS, 'reading', 'gps', 'state', 'status'),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const topicArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.array(level, { minLength: 1, maxLength: 7 }).map((levels) => levels.join('/')),
  fc
    .tuple(fc.constantFrom(...DEVICE_KINDS), level, level)
    .map(([kind, id, channel]) => `fac/cd-compound/${kind}/${id}/${channel}`),
  fc.constantFrom(METER, WATER, CAR, EV, ROOM, OFFICE, 'fac/cd-compound/meter/b1-e-main/status'),
);
const value = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(NOW, NOW - 1000, NOW + 1e6, 1795568400, TS, '2026-11-25T09:00:00', 'cool', 'x'),
  fc.constantFrom([], {}, [1]),
);
const key = fc.constantFrom(
  'ts',
  'total',
  'power',
  'lat',
  'lon',
  'speed',
  'ignition',
  'heading',
  'odometer',
  'fuel',
  'occupancy',
  'temperature',
  'humidity',
  'co2',
  'hvac',
  'lights',
  '__proto__',
  'constructor',
  'x',
);
const readingLike = fc.dictionary(key, value, { maxKeys: 8 });
const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.json().map((text) => Buffer.from(text)),
  fc.string({ unit: 'binary', maxLength: 50 }).map((text) => Buffer.from(text)),
  readingLike.map((r) => Buffer.from(JSON.stringify(r))),
  fc.array(readingLike, { maxLength: 5 }).map((r) => Buffer.from(JSON.stringify(r))),
  fc.constantFrom('online', 'offline', '', '[]', '{}').map((text) => Buffer.from(text)),
);

describe('properties', () => {
  it('parseTopic never throws; it returns parts that rebuild the topic, or a reason', () => {
    fc.assert(
      fc.property(topicArb, (topic) => {
        const parsed = parseTopic(topic);
        if (parsed.ok) {
          expect(topicFor(parsed.kind, parsed.site, parsed.id, parsed.channel as never)).toBe(topic);
        } else {
          expect(typeof parsed.reason).toBe('string');
          expect(parsed.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('decode never throws; it returns storable points, a status, or a reason and a detail', () => {
    fc.assert(
      fc.property(topicArb, payloadArb, (topic, payload) => {
        const result = decoder.decode(topic, payload, NOW);
        if (!result.ok) {
          expect(REASONS.has(result.reason)).toBe(true);
          expect(result.detail.length).toBeGreaterThan(0);
          // Detail is one printable line, whatever the input.
          expect(result.detail).not.toMatch(/[\u0000-\u001f]/);
        } else if ('points' in result) {
          expect(result.points.length).toBeGreaterThan(0);
          validatePoints(result.points);
          for (const point of result.points) {
            expect(point.time).toBeGreaterThanOrEqual(NOW - MAX_AGE);
            expect(point.time).toBeLessThanOrEqual(NOW + 300_000);
          }
        } else {
          expect(['online', 'offline']).toContain(result.status);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('on an electricity meter, the decoder accepts exactly what the TypeBox schema accepts', () => {
    // ts inside the window, so only the schema (not the clock) decides.
    const reading = fc.dictionary(
      fc.constantFrom('ts', 'total', 'power', 'x'),
      fc.oneof(
        fc.double(),
        fc.integer(),
        fc.constant(NOW),
        fc.constant(TS),
        fc.string({ maxLength: 3 }),
        fc.boolean(),
      ),
    );
    fc.assert(
      fc.property(fc.oneof(reading, fc.array(reading, { maxLength: 3 })), (message) => {
        const text = JSON.stringify(message);
        const accepted = decoder.decode(METER, Buffer.from(text), NOW).ok;
        const parsed: unknown = JSON.parse(text);
        const times = (Array.isArray(parsed) ? parsed : [parsed]).map((r: { ts?: unknown }) => r.ts);
        fc.pre(times.every((ts) => ts === NOW || ts === TS || typeof ts !== 'number' || ts < 1e11));
        // Besides the schema, a total may not pass the meter's registerMax (default 1e9).
        const totals = (Array.isArray(parsed) ? parsed : [parsed]).map((r: { total?: unknown }) => r.total);
        const withinRegister = totals.every((t) => typeof t !== 'number' || t <= DEFAULT_REGISTER_MAX);
        expect(accepted).toBe(Value.Check(MeterMessageSchema, parsed) && withinRegister);
      }),
      { numRuns: 3000 },
    );
  });
});
