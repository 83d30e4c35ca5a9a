/**
 * Telemetry payloads (docs/architecture.md, "Telemetry contract (v1)"): one TypeBox schema per topic
 * pattern, and the TypeScript types derived from them. {@link TELEMETRY_TOPICS} is the topic →
 * payload map every part uses (like Zigbee2MQTT's `lib/types/api.ts`): simulators type what they
 * publish with it, the decoder derives its checks from it, the API documents it.
 *
 * The schemas state the contract a device must meet on its own. What depends on the facility
 * (`power` only from electricity meters, a sensor sends only what its `measures` lists, occupancy
 * bounded by the room's seats) and on the clock (how old or how far ahead `ts` may be) is checked
 * by the decoder, which reports every breach with a reason code and a sentence.
 *
 * Objects are closed (`additionalProperties: false`): the contract is versioned and every key
 * means something, so an unknown key is a typo (`temprature`) or a device speaking another
 * contract, and passing it silently would lose that field's data without anyone noticing.
 *
 * The numeric bounds are sanity checks, not physics: wide enough for any real device, narrow
 * enough to catch sensor fault codes, unit mix-ups and garbage. Each says why it was chosen.
 */
import { type Static, type TLiteral, type TUnion, Type } from '@sinclair/typebox';

/**
 * The string form of `ts`: RFC 3339 (the ISO-8601 profile) with seconds and an explicit offset
 * or `Z`, e.g. `2026-11-25T09:00:00+08:00`, `2026-11-25T01:00:00.250Z`. A time without an offset
 * is refused: it names no instant until one guesses the device's time zone. Fractions of a
 * second beyond milliseconds are truncated.
 */
export const ISO_TIMESTAMP_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

/**
 * Smallest numeric `ts` accepted, epoch ms: 1973-03-03T09:46:40Z. Any smaller number is far more
 * likely epoch seconds (today's are about 1.8 × 10⁹) than a reading from 1972.
 */
export const MIN_EPOCH_MS = 100_000_000_000;

/**
 * Numeric `ts` must be below this, epoch ms: year 5138. A larger number is epoch microseconds or
 * nanoseconds.
 */
export const MAX_EPOCH_MS = 100_000_000_000_000;

/** Readings per message (gateway batch) unless the decoder is told otherwise. */
export const DEFAULT_MAX_READINGS = 1000;

/** Highest occupancy any sensor may report, people, whatever the room (see `occupancy`). */
export const MAX_OCCUPANCY = 10_000;

/** The HVAC states a room sensor reports. */
export const HVAC_MODES = ['off', 'cool', 'heat', 'fan'] as const;
export type HvacMode = (typeof HVAC_MODES)[number];

/** Device status, the whole payload of `…/status`, as plain text (not JSON). */
export const DEVICE_STATUSES = ['online', 'offline'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

function literals<const T extends readonly [string, ...string[]]>(
  values: T,
  description: string,
): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  ) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>;
}

/**
 * When a reading was taken: an RFC 3339 string with offset ({@link ISO_TIMESTAMP_PATTERN}) or
 * whole epoch milliseconds in [{@link MIN_EPOCH_MS}, {@link MAX_EPOCH_MS}).
 */
export const TimestampSchema = Type.Union(
  [
    Type.String({
      pattern: ISO_TIMESTAMP_PATTERN,
      description: 'RFC 3339 time with an offset or Z, e.g. 2026-11-25T09:00:00+08:00.',
    }),
    Type.Integer({
      minimum: MIN_EPOCH_MS,
      exclusiveMaximum: MAX_EPOCH_MS,
      description: 'Epoch milliseconds (UTC).',
    }),
  ],
  { description: 'When the reading was taken.' },
);

// `unit` is our keyword (not JSON Schema's): the decoder names it in its messages.

/** One reading of a meter, published on `fac/{site}/meter/{id}/reading`. */
export const MeterReadingSchema = Type.Object(
  {
    ts: TimestampSchema,
    total: Type.Number({
      minimum: 0,
      unit: 'kWh or m³',
      description:
        'Cumulative register in the meter’s unit: kWh for electricity, m³ for water and gas, at most ' +
        'the meter’s registerMax (default 1e9). A drop is an outlier, jitter or a reset (core/register.ts).',
    }),
    power: Type.Optional(
      Type.Number({
        minimum: 0,
        unit: 'kW',
        description: 'Active power, kW. Electricity meters only.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MeterReading = Static<typeof MeterReadingSchema>;

/** One GPS report of a vehicle tracker, published on `fac/{site}/vehicle/{id}/gps`. */
export const VehicleGpsSchema = Type.Object(
  {
    ts: TimestampSchema,
    lat: Type.Number({ minimum: -90, maximum: 90, unit: '°', description: 'Latitude, WGS-84 degrees.' }),
    lon: Type.Number({ minimum: -180, maximum: 180, unit: '°', description: 'Longitude, WGS-84 degrees.' }),
    // 300 km/h is above any road vehicle a compound runs; more is a GPS glitch or a unit mix-up.
    speed: Type.Number({ minimum: 0, maximum: 300, unit: 'km/h', description: 'Ground speed, km/h.' }),
    ignition: Type.Boolean({ description: 'Ignition (or, for an EV, ready-to-drive) on.' }),
    // Validated but not stored: the store model has no heading field.
    heading: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 360,
        unit: '°',
        description: 'Course over ground, degrees clockwise from true north.',
      }),
    ),
    odometer: Type.Optional(Type.Number({ minimum: 0, unit: 'km', description: 'Odometer, km.' })),
    fuel: Type.Optional(
      Type.Number({
        minimum: 0,
        unit: 'L or kWh',
        description: 'Fuel, litres; battery energy, kWh, for an electric vehicle.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type VehicleGps = Static<typeof VehicleGpsSchema>;

/**
 * One state report of a room sensor, published on `fac/{site}/sensor/{id}/state`. Every
 * measurement is optional, but a report carries at least one, and only those the sensor's
 * `measures` lists in the facility file.
 */
export const SensorStateSchema = Type.Object(
  {
    ts: TimestampSchema,
    // The decoder narrows this to twice the room's seats: more is a counting fault (an 8-bit
    // sensor's 255), not a crowd. 10,000 bounds rooms of any size.
    occupancy: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_OCCUPANCY, unit: 'people', description: 'People present.' }),
    ),
    // The operating range of common indoor sensors (e.g. −40…+80 °C); outside it, a fault.
    temperature: Type.Optional(
      Type.Number({ minimum: -40, maximum: 80, unit: '°C', description: 'Air temperature, °C.' }),
    ),
    humidity: Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, unit: '%RH', description: 'Relative humidity, %.' }),
    ),
    // Indoor NDIR sensors read up to 5,000 or 10,000 ppm; outdoor air is about 420.
    co2: Type.Optional(
      Type.Number({ minimum: 0, maximum: 10_000, unit: 'ppm', description: 'CO2 concentration, ppm.' }),
    ),
    hvac: Type.Optional(literals(HVAC_MODES, 'Air-conditioning state of the room.')),
    lights: Type.Optional(Type.Boolean({ description: 'Lights on.' })),
  },
  { additionalProperties: false },
);
export type SensorState = Static<typeof SensorStateSchema>;

/** A JSON object, or a non-empty array of them (a gateway batch, decoded all-or-nothing). */
function messageOf<T extends typeof MeterReadingSchema | typeof VehicleGpsSchema | typeof SensorStateSchema>(
  reading: T,
) {
  return Type.Union([reading, Type.Array(reading, { minItems: 1, maxItems: DEFAULT_MAX_READINGS })]);
}

export const MeterMessageSchema = messageOf(MeterReadingSchema);
export const VehicleMessageSchema = messageOf(VehicleGpsSchema);
export const SensorMessageSchema = messageOf(SensorStateSchema);
export type MeterMessage = Static<typeof MeterMessageSchema>;
export type VehicleMessage = Static<typeof VehicleMessageSchema>;
export type SensorMessage = Static<typeof SensorMessageSchema>;

/** The status payload: the plain-text bytes `online` or `offline` (retained; the last will). */
export const DeviceStatusSchema = literals(DEVICE_STATUSES, 'Device status, plain text, retained.');

/**
 * The topic → payload map of the telemetry contract. `encoding` says how the bytes carry the
 * value: `json` (UTF-8 JSON) or `text` (the UTF-8 string itself).
 */
export const TELEMETRY_TOPICS = {
  'fac/{site}/meter/{id}/reading': {
    kind: 'meter',
    channel: 'reading',
    encoding: 'json',
    schema: MeterMessageSchema,
  },
  'fac/{site}/vehicle/{id}/gps': {
    kind: 'vehicle',
    channel: 'gps',
    encoding: 'json',
    schema: VehicleMessageSchema,
  },
  'fac/{site}/sensor/{id}/state': {
    kind: 'sensor',
    channel: 'state',
    encoding: 'json',
    schema: SensorMessageSchema,
  },
  'fac/{site}/{kind}/{id}/status': {
    kind: 'any',
    channel: 'status',
    encoding: 'text',
    schema: DeviceStatusSchema,
  },
} as const;

/** A topic pattern of the contract. */
export type TelemetryTopicPattern = keyof typeof TELEMETRY_TOPICS;

/** The payload type of each topic pattern. */
export type TelemetryPayloads = {
  [P in TelemetryTopicPattern]: Static<(typeof TELEMETRY_TOPICS)[P]['schema']>;
};

/** One reading of each device kind (what a simulator builds before publishing it). */
export interface ReadingOfKind {
  meter: MeterReading;
  vehicle: VehicleGps;
  sensor: SensorState;
}
