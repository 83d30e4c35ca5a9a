/**
 * Decoding telemetry: topic and payload bytes in, store points (or a device status) out, or a
 * reason code and a sentence saying what to fix. Pure and synchronous; never throws on any
 * topic or payload.
 *
 * The checks are derived once from the TypeBox schemas of `payload.ts` (types, bounds, units,
 * required keys), then narrowed per device from the facility (a water meter may not send
 * `power`, a sensor only what it `measures`, occupancy at most twice the room's seats). They are
 * hand-run rather than `TypeCompiler` code because the messages must name the field, the index,
 * the bound and the unit, and tell a type error (`schema`) from a range error (`out-of-range`).
 *
 * A message is all-or-nothing: if any reading of a gateway batch is bad, none is stored, so a
 * redelivered message has the same outcome, and the dead-letter holds the whole message.
 */
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import { DEFAULT_REGISTER_MAX } from '../facility/meter-rules.ts';
import type { Facility, Meter, Room, Sensor, Vehicle } from '../facility/schema.ts';
import { UNITS } from '../facility/schema.ts';
import { didYouMean } from '../facility/suggest.ts';
import { type FieldValue, MEASUREMENTS, type Point } from '../store.ts';
import {
  DEFAULT_MAX_READINGS,
  type DeviceStatus,
  MAX_OCCUPANCY,
  MeterReadingSchema,
  SensorStateSchema,
  VehicleGpsSchema,
} from './payload.ts';
import { show } from './text.ts';
import { checkWindow, parseTimestamp } from './time.ts';
import {
  type Channel,
  DATA_CHANNEL,
  type DeviceKind,
  type DeviceTopic,
  parseTopic,
  STATUS_CHANNEL,
  topicFor,
} from './topic.ts';

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/** Why a message was refused: a small closed set of machine codes, for counters and alerts. */
export type RejectReason =
  | 'bad-topic'
  | 'wrong-site'
  | 'unknown-device'
  | 'kind-mismatch'
  | 'empty'
  | 'not-json'
  | 'not-object'
  | 'too-many-readings'
  | 'schema'
  | 'not-measured'
  | 'out-of-range'
  | 'bad-time'
  | 'future-time'
  | 'too-old';

/** Every {@link RejectReason} with what it means (for counters, dashboards, the API's docs). */
export const REJECT_REASONS: Readonly<Record<RejectReason, string>> = {
  'bad-topic': 'The topic is not fac/{site}/{kind}/{id}/{channel} with a channel of that kind.',
  'wrong-site': 'The topic names another site than the facility this ingest serves.',
  'unknown-device': 'No device of that kind and id in the facility file.',
  'kind-mismatch': 'The id is a device of another kind (a vehicle publishing under meter/).',
  empty: 'Nothing to store: an empty payload, an empty array, or a reading with only ts.',
  'not-json': 'The payload is not UTF-8 JSON.',
  'not-object': 'The payload (or an element of its array) is not a JSON object.',
  'too-many-readings': 'A gateway batch holds more readings than one message may.',
  schema: 'A field is unknown, missing, or of the wrong type.',
  'not-measured': 'The device sends a field its facility entry does not allow (sensor measures, power).',
  'out-of-range': 'A number is outside its sane range (or not finite).',
  'bad-time': 'ts is not RFC 3339 with an offset nor whole epoch milliseconds (e.g. epoch seconds).',
  'future-time': 'ts is further ahead of the ingest clock than allowed: a device clock is wrong.',
  'too-old': 'ts is older than the store keeps.',
};

/** Readings of a device, as store points (one per reading, in payload order). */
export interface DecodedPoints {
  readonly ok: true;
  readonly device: DeviceTopic;
  readonly points: Point[];
}

/** A status message (`…/status`): no points. */
export interface DecodedStatus {
  readonly ok: true;
  readonly device: DeviceTopic;
  readonly status: DeviceStatus;
}

/** A refused message. */
export interface Rejected {
  readonly ok: false;
  readonly reason: RejectReason;
  /**
   * What is wrong, for a person, naming the field and index: `[3].total: must be a finite
   * number ≥ 0 (kWh), got "abc"`. Up to 3 problems, `; `-separated, then `; and N more`.
   */
  readonly detail: string;
  /** The device the topic names, when the topic is well-formed (even if the device is unknown). */
  readonly device?: DeviceTopic;
}

/** Outcome of decoding one MQTT message. Use `'points' in result` / `'status' in result`. */
export type DecodeResult = DecodedPoints | DecodedStatus | Rejected;

/** Limits of a decoder; they do not depend on the message. */
export interface DecoderOptions {
  /** How far behind `now` a reading's `ts` may be, ms: the store's retention. May be `Infinity`. */
  readonly maxAgeMs: number;
  /** How far ahead of `now` a reading's `ts` may be, ms. Default 5 minutes. */
  readonly maxFutureMs?: number;
  /** Readings a gateway batch may hold. Default {@link DEFAULT_MAX_READINGS}. */
  readonly maxReadings?: number;
}

/** {@link DecoderOptions} and the clock, for {@link decodeMessage}. */
export interface DecodeOptions extends DecoderOptions {
  /** The ingest's clock, epoch ms. */
  readonly now: number;
}

/** Default of {@link DecoderOptions.maxFutureMs}: 5 minutes. */
export const DEFAULT_MAX_FUTURE_MS = 5 * 60_000;

/** A decoder bound to one facility, its devices indexed once. */
export interface TelemetryDecoder {
  /**
   * Decodes one MQTT message. O(1) in the number of devices; never throws on any topic or
   * payload.
   *
   * @param topic The MQTT topic name.
   * @param payload The payload bytes (a Node `Buffer` is a `Uint8Array`).
   * @param now The ingest's clock, epoch ms; `ts` is checked against it.
   */
  decode(topic: string, payload: Uint8Array, now: number): DecodeResult;
}

// ---------------------------------------------------------------------------------------------
// Rules: the checks of one field, derived from the schema
// ---------------------------------------------------------------------------------------------

interface Rule {
  readonly key: string;
  readonly type: 'time' | 'number' | 'integer' | 'boolean' | 'enum';
  readonly required: boolean;
  readonly min: number;
  readonly max: number;
  readonly values: readonly string[];
  /** The store field the value goes to; `undefined` for `ts` and for fields the store lacks. */
  readonly store: string | undefined;
  /** What the value must be, for messages: `a number from 0 to 300 (km/h)`. */
  readonly expect: string;
  /** Set when this device may not send the field: the sentence saying why. */
  readonly refusal: string | undefined;
}

interface RuleSet {
  /** `meter reading`, `vehicle GPS report`, `sensor state`. */
  readonly noun: string;
  /** Rules by payload key; a null-prototype object, so `__proto__` is just an unknown key. */
  readonly byKey: Readonly<Record<string, Rule | undefined>>;
  readonly keys: readonly string[];
  readonly required: readonly Rule[];
  /** The keys this device may send, for messages. */
  readonly allowed: string;
  /** The stored fields this device may send, for the `empty` message. */
  readonly measurements: string;
}

function expectText(type: Rule['type'], min: number, max: number, unit: string, values: readonly string[]) {
  if (type === 'boolean') return 'true or false';
  if (type === 'enum') return `one of ${values.join(', ')}`;
  const noun = type === 'integer' ? 'whole number' : 'number';
  const suffix = unit === '' ? '' : ` (${unit})`;
  if (Number.isFinite(min) && Number.isFinite(max)) return `a ${noun} from ${min} to ${max}${suffix}`;
  if (Number.isFinite(min)) return `a finite ${noun} ≥ ${min}${suffix}`;
  return `a finite ${noun}${suffix}`;
}

function ruleFor(key: string, schema: TSchema, required: boolean, storeFields: object): Rule {
  const kind = schema[Kind] as string;
  const base = { key, required, values: [] as string[], refusal: undefined };
  if (key === 'ts') {
    return { ...base, type: 'time', min: Number.NaN, max: Number.NaN, store: undefined, expect: 'a time' };
  }
  const store = Object.hasOwn(storeFields, key) ? key : undefined;
  const unit = typeof schema.unit === 'string' ? schema.unit : '';
  if (
    (kind === 'Number' || kind === 'Integer') &&
    !('exclusiveMinimum' in schema || 'exclusiveMaximum' in schema)
  ) {
    const type = kind === 'Number' ? 'number' : 'integer';
    const min = typeof schema.minimum === 'number' ? schema.minimum : Number.NEGATIVE_INFINITY;
    const max = typeof schema.maximum === 'number' ? schema.maximum : Number.POSITIVE_INFINITY;
    return { ...base, type, min, max, store, expect: expectText(type, min, max, unit, []) };
  }
  if (kind === 'Boolean') {
    return { ...base, type: 'boolean', min: 0, max: 0, store, expect: expectText('boolean', 0, 0, unit, []) };
  }
  if (kind === 'Union' && Array.isArray(schema.anyOf)) {
    const values = (schema.anyOf as TSchema[]).map((option) => option.const);
    if (values.every((value): value is string => typeof value === 'string')) {
      return {
        ...base,
        type: 'enum',
        min: 0,
        max: 0,
        values,
        store,
        expect: expectText('enum', 0, 0, '', values),
      };
    }
  }
  // A schema change the decoder does not understand must fail loudly at start-up, not per message.
  throw new Error(`telemetry decoder: no check for field "${key}" of kind ${kind}`);
}

function rulesOf(schema: TObject, storeFields: object): Rule[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([key, property]) =>
    ruleFor(key, property, required.has(key), storeFields),
  );
}

const BASE_RULES: Readonly<Record<DeviceKind, readonly Rule[]>> = {
  meter: rulesOf(MeterReadingSchema, MEASUREMENTS.meter.fields),
  vehicle: rulesOf(VehicleGpsSchema, MEASUREMENTS.vehicle.fields),
  sensor: rulesOf(SensorStateSchema, MEASUREMENTS.sensor.fields),
};

const NOUNS: Readonly<Record<DeviceKind, string>> = {
  meter: 'meter reading',
  vehicle: 'vehicle GPS report',
  sensor: 'sensor state',
};

function ruleSet(kind: DeviceKind, change: (rule: Rule) => Rule = (rule) => rule): RuleSet {
  const rules = BASE_RULES[kind].map(change);
  const byKey: Record<string, Rule | undefined> = Object.create(null);
  for (const rule of rules) byKey[rule.key] = rule;
  const allowed = rules.filter((rule) => rule.refusal === undefined);
  const required = rules.filter((rule) => rule.required);
  return {
    noun: NOUNS[kind],
    byKey,
    keys: rules.map((rule) => rule.key),
    required,
    allowed: allowed.map((rule) => rule.key).join(', '),
    measurements: allowed
      .filter((rule) => rule.store !== undefined)
      .map((rule) => rule.key)
      .join(', '),
  };
}

function withUnit(rule: Rule, unit: string): Rule {
  return { ...rule, expect: expectText(rule.type, rule.min, rule.max, unit, rule.values) };
}

function meterRules(meter: Meter): RuleSet {
  const unit = UNITS[meter.kind];
  // Above its registerMax no register can read (core/facility/meter-rules.ts).
  const registerMax = meter.registerMax ?? DEFAULT_REGISTER_MAX;
  return ruleSet('meter', (rule) => {
    if (rule.key === 'total') {
      return {
        ...rule,
        max: registerMax,
        expect: `a number from ${rule.min} to ${registerMax.toLocaleString('en-US')} (${unit}; the registerMax of the meter)`,
      };
    }
    if (rule.key === 'power' && meter.kind !== 'electricity') {
      return {
        ...rule,
        refusal: `meter ${meter.id} is a ${meter.kind} meter; only electricity meters report power (kW)`,
      };
    }
    return rule;
  });
}

function vehicleRules(vehicle: Vehicle): RuleSet {
  const unit = vehicle.energy === 'electric' ? 'kWh' : 'L';
  return ruleSet('vehicle', (rule) => (rule.key === 'fuel' ? withUnit(rule, unit) : rule));
}

function sensorRules(sensor: Sensor, room: Room | undefined): RuleSet {
  const measures: readonly string[] = sensor.measures;
  return ruleSet('sensor', (rule) => {
    if (rule.key === 'ts') return rule;
    if (!measures.includes(rule.key)) {
      return {
        ...rule,
        refusal: `sensor ${sensor.id} does not measure ${rule.key}; its facility entry lists ${measures.join(', ')}`,
      };
    }
    if (rule.key === 'occupancy' && room !== undefined) {
      const max = Math.min(MAX_OCCUPANCY, 2 * room.capacity);
      return {
        ...rule,
        max,
        expect: `a whole number from 0 to ${max} (people: twice the ${room.capacity} seats of room ${room.id})`,
      };
    }
    return rule;
  });
}

// ---------------------------------------------------------------------------------------------
// The device index
// ---------------------------------------------------------------------------------------------

interface DeviceEntry {
  readonly kind: DeviceKind;
  readonly id: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly rules: RuleSet;
}

interface TopicEntry {
  readonly device: DeviceEntry;
  readonly topic: DeviceTopic;
}

interface DeviceIndex {
  readonly site: string;
  readonly byId: ReadonlyMap<string, DeviceEntry>;
  /** Every valid topic of every device: the whole fast path is one lookup here. */
  readonly byTopic: ReadonlyMap<string, TopicEntry>;
  readonly idsOfKind: Readonly<Record<DeviceKind, readonly string[]>>;
  /**
   * "Did you mean" per unknown `kind/id`, remembered: the edit distances cost ~100 µs, and a
   * misconfigured device repeats its topic at its full rate. Bounded by {@link MAX_SUGGESTIONS}.
   */
  readonly suggestions: Map<string, string>;
}

function buildIndex(facility: Facility): DeviceIndex {
  const site = facility.site.id;
  const rooms = new Map(facility.rooms.map((room) => [room.id, room]));
  const entries: DeviceEntry[] = [
    // Tags in MEASUREMENTS order; '' for an absent department, as the store stores absent tags.
    ...facility.meters.map((meter) => ({
      kind: 'meter' as const,
      id: meter.id,
      tags: Object.freeze({
        site,
        building: meter.building,
        department: meter.department ?? '',
        meter: meter.id,
        kind: meter.kind,
        system: meter.system,
      }),
      rules: meterRules(meter),
    })),
    ...facility.vehicles.map((vehicle) => ({
      kind: 'vehicle' as const,
      id: vehicle.id,
      tags: Object.freeze({ site, vehicle: vehicle.id, department: vehicle.department }),
      rules: vehicleRules(vehicle),
    })),
    ...facility.sensors.map((sensor) => {
      const room = rooms.get(sensor.room);
      return {
        kind: 'sensor' as const,
        id: sensor.id,
        tags: Object.freeze({ site, building: room?.building ?? '', room: sensor.room, sensor: sensor.id }),
        rules: sensorRules(sensor, room),
      };
    }),
  ];
  const byId = new Map<string, DeviceEntry>();
  const byTopic = new Map<string, TopicEntry>();
  const idsOfKind: Record<DeviceKind, string[]> = { meter: [], vehicle: [], sensor: [] };
  for (const device of entries) {
    byId.set(device.id, device);
    idsOfKind[device.kind].push(device.id);
    for (const channel of [DATA_CHANNEL[device.kind], STATUS_CHANNEL] as const) {
      const topic = topicFor(device.kind, site, device.id, channel);
      byTopic.set(topic, {
        device,
        topic: Object.freeze({ site, kind: device.kind, id: device.id, channel: channel as Channel }),
      });
    }
  }
  return { site, byId, byTopic, idsOfKind, suggestions: new Map() };
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

interface Settings {
  readonly maxAgeMs: number;
  readonly maxFutureMs: number;
  readonly maxReadings: number;
}

function settingsOf(options: DecoderOptions): Settings {
  const { maxAgeMs, maxFutureMs = DEFAULT_MAX_FUTURE_MS, maxReadings = DEFAULT_MAX_READINGS } = options;
  if (!(maxAgeMs >= 0)) throw new RangeError(`maxAgeMs must be ≥ 0 ms, got ${maxAgeMs}`);
  if (!(maxFutureMs >= 0)) throw new RangeError(`maxFutureMs must be ≥ 0 ms, got ${maxFutureMs}`);
  if (!Number.isInteger(maxReadings) || maxReadings < 1) {
    throw new RangeError(`maxReadings must be a whole number ≥ 1, got ${maxReadings}`);
  }
  return { maxAgeMs, maxFutureMs, maxReadings };
}

/** Collects a message's problems: the first decides the reason; up to 3 are told. */
class Problems {
  reason: RejectReason = 'schema';
  count = 0;
  readonly texts: string[] = [];

  add(reason: RejectReason, text: string): void {
    if (this.count === 0) this.reason = reason;
    if (this.texts.length < 3) this.texts.push(text);
    this.count++;
  }

  rejected(device: DeviceTopic): Rejected {
    const more = this.count > this.texts.length ? `; and ${this.count - this.texts.length} more` : '';
    return { ok: false, reason: this.reason, detail: this.texts.join('; ') + more, device };
  }
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** `[3].total`, `total`, `["a b"]`; long keys cut. */
function pathOf(index: number | undefined, key: string): string {
  const cut = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  const segment = PLAIN_KEY.test(cut) ? cut : `[${JSON.stringify(cut)}]`;
  if (index === undefined) return segment;
  return segment.startsWith('[') ? `[${index}]${segment}` : `[${index}].${segment}`;
}

function where(index: number | undefined): string {
  return index === undefined ? 'payload' : `[${index}]`;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** V8's JSON errors quote the payload raw; control characters must not reach logs as such. */
function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

function decodeReadings(hit: TopicEntry, payload: Uint8Array, now: number, settings: Settings): DecodeResult {
  const { device, topic } = hit;
  const noun = device.rules.noun;
  if (payload.length === 0) {
    return reject(
      'empty',
      `payload is empty; expected a ${noun} as a JSON object, or an array of them`,
      topic,
    );
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return reject('not-json', 'payload is not UTF-8 text, so not JSON', topic);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return reject('not-json', `payload is not valid JSON (${printable((error as Error).message)})`, topic);
  }
  const points: Point[] = [];
  const problems = new Problems();
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return reject('empty', `payload is an empty array; a gateway batch needs at least one ${noun}`, topic);
    }
    if (value.length > settings.maxReadings) {
      return reject(
        'too-many-readings',
        `payload holds ${value.length} readings; a message may hold at most ${settings.maxReadings}`,
        topic,
      );
    }
    for (let index = 0; index < value.length; index++) {
      decodeReading(value[index], index, device, now, settings, problems, points);
    }
  } else if (typeof value === 'object' && value !== null) {
    decodeReading(value, undefined, device, now, settings, problems, points);
  } else {
    return reject(
      'not-object',
      `payload must be a JSON object or an array of them, got ${show(value)}`,
      topic,
    );
  }
  return problems.count > 0 ? problems.rejected(topic) : { ok: true, device: topic, points };
}

function decodeReading(
  value: unknown,
  index: number | undefined,
  device: DeviceEntry,
  now: number,
  settings: Settings,
  problems: Problems,
  out: Point[],
): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.add('not-object', `${where(index)}: must be a JSON object, got ${show(value)}`);
    return;
  }
  const reading = value as Record<string, unknown>;
  const rules = device.rules;
  const before = problems.count;
  const fields: Record<string, FieldValue> = {};
  let time = Number.NaN;
  let required = 0;
  let stored = 0;
  for (const key in reading) {
    const rule = rules.byKey[key];
    const raw = reading[key];
    if (rule === undefined) {
      problems.add(
        'schema',
        `${pathOf(index, key)}: unknown field${didYouMean(key, rules.keys)}; a ${rules.noun} has ${rules.allowed}`,
      );
      continue;
    }
    if (rule.required) required++;
    if (rule.refusal !== undefined) {
      problems.add('not-measured', `${pathOf(index, key)}: ${rule.refusal}`);
      continue;
    }
    switch (rule.type) {
      case 'time': {
        const parsed = parseTimestamp(raw);
        const problem =
          typeof parsed === 'number'
            ? checkWindow(parsed, now, settings.maxAgeMs, settings.maxFutureMs)
            : parsed;
        if (problem === undefined) time = parsed as number;
        else problems.add(problem.reason, `${pathOf(index, key)}: ${problem.text}`);
        continue;
      }
      case 'number':
      case 'integer': {
        if (
          typeof raw !== 'number' ||
          (rule.type === 'integer' && Number.isFinite(raw) && !Number.isInteger(raw))
        ) {
          problems.add('schema', `${pathOf(index, key)}: must be ${rule.expect}, got ${show(raw)}`);
          continue;
        }
        // JSON.parse reads 1e400 as Infinity; the store only takes finite numbers.
        if (!Number.isFinite(raw) || raw < rule.min || raw > rule.max) {
          problems.add('out-of-range', `${pathOf(index, key)}: must be ${rule.expect}, got ${show(raw)}`);
          continue;
        }
        break;
      }
      case 'boolean':
        if (typeof raw !== 'boolean') {
          problems.add('schema', `${pathOf(index, key)}: must be ${rule.expect}, got ${show(raw)}`);
          continue;
        }
        break;
      case 'enum':
        if (typeof raw !== 'string' || !rule.values.includes(raw)) {
          problems.add(
            'schema',
            `${pathOf(index, key)}: must be ${rule.expect}, got ${show(raw)}${typeof raw === 'string' ? didYouMean(raw, rule.values) : ''}`,
          );
          continue;
        }
        break;
    }
    if (rule.store !== undefined) {
      fields[rule.store] = raw as FieldValue;
      stored++;
    }
  }
  if (required < rules.required.length) {
    for (const rule of rules.required) {
      if (!Object.hasOwn(reading, rule.key)) {
        problems.add(
          'schema',
          `${pathOf(index, rule.key)}: required field is missing (a ${rules.noun} needs ${rules.required.map((r) => r.key).join(', ')})`,
        );
      }
    }
  }
  if (problems.count > before) return;
  if (stored === 0) {
    problems.add(
      'empty',
      `${where(index)}: no measurement; a ${rules.noun} needs at least one of ${rules.measurements}`,
    );
    return;
  }
  if (problems.count === 0) {
    out.push({ measurement: device.kind, tags: device.tags, fields, time });
  }
}

function decodeStatus(hit: TopicEntry, payload: Uint8Array): DecodeResult {
  if (payload.length === 0) {
    // An empty retained publish is how a retained status is cleared [MQTT-3.3.1-10].
    return reject('empty', 'status payload is empty; expected online or offline', hit.topic);
  }
  const text = payload.length <= 7 ? lenientUtf8.decode(payload) : '';
  if (text === 'online' || text === 'offline') return { ok: true, device: hit.topic, status: text };
  const shown = payload.length <= 64 ? show(lenientUtf8.decode(payload)) : `${payload.length} bytes`;
  return reject('schema', `status payload must be online or offline (plain text), got ${shown}`, hit.topic);
}

function reject(reason: RejectReason, detail: string, device?: DeviceTopic): Rejected {
  return device === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, device };
}

const MAX_SUGGESTIONS = 1024;

function suggestId(index: DeviceIndex, kind: DeviceKind, id: string): string {
  const key = `${kind}/${id}`;
  let suggestion = index.suggestions.get(key);
  if (suggestion === undefined) {
    suggestion = didYouMean(id, index.idsOfKind[kind]);
    if (index.suggestions.size >= MAX_SUGGESTIONS) index.suggestions.clear();
    index.suggestions.set(key, suggestion);
  }
  return suggestion;
}

/** Why a topic that is not one of a known device's was refused. */
function rejectTopic(index: DeviceIndex, topic: string): Rejected {
  const parsed = parseTopic(topic);
  if (!parsed.ok) return reject('bad-topic', parsed.reason);
  const { ok: _, ...device } = parsed;
  if (device.site !== index.site) {
    return reject(
      'wrong-site',
      `topic is for site "${device.site}"; this facility is site "${index.site}"`,
      device,
    );
  }
  const known = index.byId.get(device.id);
  if (known === undefined) {
    return reject(
      'unknown-device',
      `no ${device.kind} "${device.id}" in the facility${suggestId(index, device.kind, device.id)}`,
      device,
    );
  }
  if (known.kind !== device.kind) {
    return reject(
      'kind-mismatch',
      `"${device.id}" is a ${known.kind}, not a ${device.kind}; it publishes on ${topicFor(known.kind, index.site, known.id, DATA_CHANNEL[known.kind])}`,
      device,
    );
  }
  // Unreachable: every valid topic of a known device is in byTopic.
  return reject('bad-topic', 'topic is not a telemetry topic of this device', device);
}

function decodeWith(index: DeviceIndex, settings: Settings, topic: string, payload: Uint8Array, now: number) {
  const hit = index.byTopic.get(topic);
  if (hit === undefined) return rejectTopic(index, topic);
  if (!(payload instanceof Uint8Array)) return reject('not-json', 'payload is not bytes', hit.topic);
  return hit.topic.channel === STATUS_CHANNEL
    ? decodeStatus(hit, payload)
    : decodeReadings(hit, payload, now, settings);
}

/**
 * A decoder for one facility: devices are indexed once (by topic, O(1) per message), options
 * checked once.
 *
 * @throws RangeError when an option is out of range (a configuration error).
 */
export function createTelemetryDecoder(facility: Facility, options: DecoderOptions): TelemetryDecoder {
  const index = buildIndex(facility);
  const settings = settingsOf(options);
  return { decode: (topic, payload, now) => decodeWith(index, settings, topic, payload, now) };
}

// The facility is immutable once validated; an index per facility object serves every call.
const indexes = new WeakMap<Facility, DeviceIndex>();

/**
 * Decodes one MQTT message against the facility: the one-call form of
 * {@link createTelemetryDecoder} (the device index is built on first use and kept per facility
 * object; options are checked per call). Never throws on any topic or payload.
 *
 * @param facility A validated facility, not mutated afterwards.
 * @param topic The MQTT topic name.
 * @param payload The payload bytes.
 * @param options Clock and limits; all times in epoch ms, durations in ms.
 * @throws RangeError when an option is out of range.
 */
export function decodeMessage(
  facility: Facility,
  topic: string,
  payload: Uint8Array,
  options: DecodeOptions,
): DecodeResult {
  let index = indexes.get(facility);
  if (index === undefined) {
    index = buildIndex(facility);
    indexes.set(facility, index);
  }
  return decodeWith(index, settingsOf(options), topic, payload, options.now);
}
