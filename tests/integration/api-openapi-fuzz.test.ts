/**
 * Every operation of the API's own OpenAPI document, driven with generated parameters (fast-check),
 * against an app over a real DuckDB store holding a little data, with a valid admin token:
 *
 * * no answer is a 5xx — a bad parameter is the caller's fault and says so;
 * * every 4xx answers `{ error: { code, message, parameter } }`, and a 400 or 404 names a
 *   parameter the operation has (or `body`), and its message starts with that name;
 * * what the document says is required is what the route requires: leaving out a parameter the
 *   document calls optional is never "is required", and leaving out a required one is.
 *
 * The operations come from `/api/v1/openapi.json`, so a route added later is covered without
 * touching this file. Values are built from each parameter's schema (enum members, integers in
 * and out of range) mixed with hostile text: numbers past float range (`1e309`), years 0000 and
 * 275760, offsets `+25:00`, `T24:00`, empty and very long strings, control characters, prototype
 * names, repeated parameters.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertService } from '../../alerts/service.ts';
import { buildApp } from '../../api/app.ts';
import { SessionManager } from '../../api/sessions.ts';
import { type AlertRule, RULE_DEFAULTS } from '../../core/alerts/rules.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../../core/facility/index.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { PointMaker } from '../../simulators/points.ts';
import { DuckDbAlertStore } from '../../storage/duckdb/alert-store.ts';
import { DuckDbCorrectionLog } from '../../storage/duckdb/corrections.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const ADMIN = 'bootstrap-admin-token-for-fuzz';
const HOUR = 3_600_000;
/** 2026-11-25 00:00 in Chengdu (+08:00). */
const DAY = Date.UTC(2026, 10, 24, 16);
/** Runs per operation; fixed seed, so a failure replays. */
const RUNS = 250;
/** Runs of an operation whose requests take long: as many as fit in this time, at least MIN_RUNS. */
const OPERATION_BUDGET_MS = 15_000;
const MIN_RUNS = 20;
const SEED = 20_261_128;

const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
if (!loaded.ok) throw new Error('the demo facility does not load');
const facility: Facility = loaded.facility;

interface JsonSchema {
  readonly type?: string;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly default?: unknown;
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
  readonly anyOf?: readonly JsonSchema[];
  readonly examples?: readonly unknown[];
}

interface Parameter {
  readonly name: string;
  readonly in: 'query' | 'path' | 'header' | 'cookie';
  readonly required?: boolean;
  readonly schema: JsonSchema;
  /** A value the document gives as an example (OpenAPI `example`). */
  readonly example?: unknown;
}

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body: JsonSchema | undefined;
  /** A request body that is not JSON (a CSV upload): its media type and the document's example. */
  readonly rawBody?: { readonly type: string; readonly example: string };
}

interface Request {
  readonly url: string;
  readonly payload?: string;
  readonly contentType?: string;
}

const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

let app: FastifyInstance;
let operations: Operation[] = [];

beforeAll(async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-fuzz-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  const store = new RollingStore({ store: inner, facility });
  await store.start();
  teardown.push(() => store.stop());
  const deadLetters = new DuckDbDeadLetterSink({ database: inner });
  await deadLetters.start();
  teardown.push(() => deadLetters.stop());

  const maker = new PointMaker(facility);
  const points: Point[] = [];
  maker.append(
    'meter',
    'b1-e-main',
    [0, 6, 12, 18, 24].map((h) => ({ ts: DAY + h * HOUR, total: 1000 + 10 * h })),
    points,
  );
  maker.append(
    'vehicle',
    'v23',
    [0, 1, 2, 3].map((i) => ({
      ts: DAY + 10 * HOUR + i * 60_000,
      lat: 30.657 + i * 0.001,
      lon: 104.066,
      speed: i === 3 ? 0 : 40,
      ignition: i < 3,
    })) as never,
    points,
  );
  maker.append(
    'sensor',
    's-b1-z-finance',
    [{ ts: DAY + 9 * HOUR, occupancy: 3, temperature: 22, co2: 600 }] as never,
    points,
  );
  await store.write(points);
  await deadLetters.add([
    {
      time: DAY + HOUR,
      topic: 'fac/cd-compound/meter/b1-e-main/reading',
      device: { kind: 'meter', id: 'b1-e-main' },
      reason: 'schema',
      detail: 'total: not a number',
      payload: '=1+1',
      encoding: 'utf8',
      size: 4,
      truncated: false,
    },
  ]);

  // The alerts, kept in the same DuckDB file: their routes are fuzzed too.
  const alertStore = new DuckDbAlertStore({ database: inner });
  await alertStore.start();
  teardown.push(() => alertStore.stop());

  const alerts = new AlertService({ store: alertStore, facility });
  const rule = { id: 'room-co2', type: 'room-co2', ...RULE_DEFAULTS['room-co2'] } as AlertRule;
  const fired = await alerts.fire(
    rule,
    {
      subject: { kind: 'room', id: 'b1-m0301', name: '301', nameEn: '301', department: null },
      level: 'fire',
      value: 1400,
      threshold: 1000,
      unit: 'ppm',
      title: { zh: '二氧化碳超标', en: 'CO2 high' },
      detail: { zh: '1400 ppm', en: '1400 ppm' },
    },
    DAY + 10 * HOUR,
  );
  knownAlert = fired.alert.id;

  app = buildApp({
    version: '0.0.0-fuzz',
    facility,
    store,
    deadLetters,
    corrections: new DuckDbCorrectionLog({ database: inner }),
    alerts,
    sessions: new SessionManager({ key: Buffer.alloc(32, 7), ttlMs: 3_600_000 }),
    data: folder,
    adminToken: ADMIN,
    ingestStats: () => ({ connected: true }),
    metrics: async () => '# HELP x\nx 1\n',
    rateLimit: false,
  });
  teardown.push(() => app.close());
  await app.ready();

  const document = (await app.inject({ url: '/api/v1/openapi.json' })).json() as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: Parameter[];
          requestBody?: {
            content: Record<
              string,
              { schema: JsonSchema; example?: unknown; examples?: Record<string, { value: unknown }> }
            >;
          };
        }
      >
    >;
  };
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const raw = Object.entries(operation.requestBody?.content ?? {}).find(
        ([type, content]) => type !== 'application/json' && typeof content.example === 'string',
      );
      return {
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        body: bodySchema(operation.requestBody?.content['application/json']),
        ...(raw ? { rawBody: { type: raw[0], example: raw[1].example as string } } : {}),
      };
    }),
  );
});

/** A body's schema, with the examples the document gives beside it (OpenAPI moves them to the media type). */
function bodySchema(
  media: { schema: JsonSchema; example?: unknown; examples?: Record<string, { value: unknown }> } | undefined,
): JsonSchema | undefined {
  if (!media) return undefined;
  const examples = [
    ...(media.schema.examples ?? []),
    ...(media.example === undefined ? [] : [media.example]),
    ...Object.values(media.examples ?? {}).map((e) => e.value),
  ];
  return examples.length > 0 ? { ...media.schema, examples } : media.schema;
}

// ------------------------------------------------------------------ values

/**
 * Ids the facility knows, a few of each kind, each kind as likely as the others, so generated
 * requests also reach the services, not only the checks in front of them.
 */
/** An alert the setup raises (its id is drawn at random when it fires). */
let knownAlert = 'alt_none';
const knownId = fc.oneof(
  fc.constant(facility.site.id),
  fc.constant(null).map(() => knownAlert),
  fc.constantFrom(...facility.buildings.map((b) => b.id)),
  fc.constantFrom(...facility.departments.map((d) => d.id)),
  fc.constantFrom(...facility.meters.slice(0, 4).map((m) => m.id)),
  fc.constantFrom(...facility.vehicles.slice(0, 3).map((v) => v.id)),
  fc.constantFrom(...facility.rooms.slice(0, 3).map((r) => r.id)),
  fc.constantFrom('canteen', 'vehicle-pool'),
);

/** Times near the stored data, so pairs of them often make a valid period. */
const dateNearData = fc
  .integer({ min: -20, max: 20 })
  .map((days) => new Date(DAY + 8 * HOUR + days * 86_400_000).toISOString().slice(0, 10));
const instantNearData = fc
  .tuple(
    fc.integer({ min: -20 * 24, max: 20 * 24 }),
    fc.constantFrom('Z', '+08:00', '-05:30', '+0800', '+14:00', '-12:00'),
  )
  .map(([hours, offset]) => `${new Date(DAY + hours * HOUR).toISOString().slice(0, 19)}${offset}`);

/** What a careless or hostile caller sends where a time, a number or a name belongs. */
const HOSTILE = [
  '',
  ' ',
  '0',
  '-1',
  '-0',
  '1.5',
  '1e309',
  '-1e309',
  '1e23',
  '9007199254740993',
  '99999999999999999999999',
  'NaN',
  'Infinity',
  '0x10',
  'true',
  'null',
  '[]',
  '{}',
  '0000-01-01',
  '0000-00-00',
  '9999-12-31',
  '275760-09-13',
  '+275760-09-13',
  '-000001-01-01',
  '2026-02-29',
  '2026-11-25T24:00+08:00',
  '2026-11-25T24:00:00Z',
  '2026-11-25T23:59:60Z',
  '2026-11-25T00:00+25:00',
  '2026-11-25T00:00-99:99',
  '2026-11-25T00:00:00.1234567891Z',
  '2026-11-25T00:00:00',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59+14:00',
  '1970-01-01T00:00:00Z',
  '2026-W48',
  '2026-330',
  '20261125',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '\u202e',
  '财务处',
  '=1+1',
  "'; DROP TABLE meter; --",
  'a'.repeat(65),
  'x'.repeat(5000),
];

/**
 * A value for one parameter, as the text that goes on the wire: mostly one its schema allows (so
 * that a request with several parameters is often valid as a whole and reaches the service),
 * otherwise hostile text.
 */
function valueFor(schema: JsonSchema, example?: unknown): fc.Arbitrary<string> {
  const typed: Array<{ arbitrary: fc.Arbitrary<string>; weight: number }> = [];
  // The document's own example (a month, a year): a value the operation surely serves.
  const examples = [...(schema.examples ?? []), ...(example === undefined ? [] : [example])];
  if (examples.length > 0) typed.push({ arbitrary: fc.constantFrom(...examples.map(String)), weight: 2 });
  if (schema.enum) typed.push({ arbitrary: fc.constantFrom(...schema.enum), weight: 1 });
  if (schema.type === 'integer' || schema.type === 'number') {
    const low = schema.minimum ?? -1000;
    const high = Math.min(schema.maximum ?? 1_000_000, 2 ** 31 - 1);
    typed.push({ arbitrary: fc.integer({ min: low, max: high }).map(String), weight: 6 });
    typed.push({ arbitrary: fc.integer().map(String), weight: 1 });
    typed.push({ arbitrary: fc.double().map(String), weight: 1 });
    // Texts that coerce to a number no figure can use: past float range, past 2^53, not finite.
    typed.push({
      arbitrary: fc.constantFrom(
        '1e309',
        '-1e309',
        '1e23',
        '9007199254740993',
        '-9007199254740993',
        '1e-400',
      ),
      weight: 1,
    });
  }
  if (schema.type === 'string' && !schema.enum) {
    typed.push(
      { arbitrary: knownId, weight: 3 },
      { arbitrary: dateNearData, weight: 4 },
      { arbitrary: instantNearData, weight: 4 },
      { arbitrary: fc.string({ maxLength: 80 }), weight: 1 },
    );
  }
  return fc.oneof(
    { arbitrary: typed.length > 0 ? fc.oneof(...typed) : fc.string(), weight: 9 },
    { arbitrary: fc.constantFrom(...HOSTILE), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 1 },
  );
}

/**
 * A value for a property of a JSON body: what {@link valueFor} gives a query parameter, or one of
 * the alternatives of an `anyOf`, or for a property of any type (a reading's value) a JSON number
 * or any JSON value.
 */
function bodyValueFor(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.anyOf && schema.anyOf.length > 0) return fc.oneof(...schema.anyOf.map(bodyValueFor));
  if (schema.type === undefined && schema.enum === undefined) {
    return fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 1_000_000 }), weight: 4 },
      { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 },
    );
  }
  if (schema.type === 'integer' && (schema.minimum ?? 0) >= 1e11) {
    // Epoch milliseconds (a reading's time): near the stored data.
    return fc.integer({ min: -20 * 24, max: 20 * 24 }).map((hours) => DAY + hours * HOUR);
  }
  return valueFor(schema);
}

/** A JSON body for a body schema: mostly object-shaped, sometimes anything at all. */
function bodyFor(schema: JsonSchema): fc.Arbitrary<unknown> {
  const properties = Object.entries(schema.properties ?? {});
  const shaped = fc.record(
    Object.fromEntries(
      properties.map(([name, sub]) => [
        name,
        fc.oneof(
          { arbitrary: bodyValueFor(sub), weight: 8 },
          {
            arbitrary: fc.constantFrom<unknown>(null, 0, -1, 1e308, true, [], {}, ['viewer'], { zh: 'x' }),
            weight: 1,
          },
        ),
      ]),
    ),
    { requiredKeys: [] },
  );
  // The document's example body, as it is or with one property generated.
  const examples = (schema.examples ?? []).filter(
    (e): e is Record<string, unknown> => e !== null && typeof e === 'object' && !Array.isArray(e),
  );
  const fromExample =
    examples.length > 0 && properties.length > 0
      ? fc
          .tuple(fc.constantFrom(...examples), fc.constantFrom(...properties), fc.boolean())
          .chain(([example, [name, sub], keep]) =>
            keep ? fc.constant<unknown>(example) : valueFor(sub).map((v) => ({ ...example, [name]: v })),
          )
      : undefined;
  return fc.oneof(
    { arbitrary: shaped, weight: 4 },
    ...(fromExample ? [{ arbitrary: fromExample, weight: 2 }] : []),
    {
      arbitrary: fc.tuple(shaped, fc.string({ maxLength: 10 }), fc.jsonValue()).map(([b, k, v]) => ({
        ...b,
        [k]: v,
      })),
      weight: 1,
    },
    { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
    // The document's examples, as given and with one property changed: bodies that reach the service.
    ...(schema.examples && schema.examples.length > 0
      ? [
          { arbitrary: fc.constantFrom(...schema.examples), weight: 1 },
          {
            arbitrary: fc.tuple(fc.constantFrom(...schema.examples), shaped).map(([example, generated]) => {
              const [key, value] = Object.entries(generated as object)[0] ?? [];
              return key === undefined ? example : { ...(example as object), [key]: value };
            }),
            weight: 1,
          },
        ]
      : []),
  );
}

/** One request to an operation: each parameter present or not, query parameters sometimes twice. */
function requestFor(operation: Operation): fc.Arbitrary<Request> {
  const parts = operation.parameters.map((parameter) =>
    fc.record({
      parameter: fc.constant(parameter),
      // Path parameters are always there (the route would not match otherwise).
      present:
        parameter.in === 'path'
          ? fc.constant(true)
          : parameter.required
            ? fc.integer({ min: 0, max: 9 }).map((n) => n > 0)
            : fc.boolean(),
      // Now and then a query parameter comes twice (`?limit=1&limit=2`).
      values: fc.oneof(
        { arbitrary: valueFor(parameter.schema, parameter.example).map((v) => [v]), weight: 9 },
        // A path parameter is an id of something: mostly one the facility knows.
        { arbitrary: knownId.map((v) => [v]), weight: parameter.in === 'path' ? 27 : 0 },
        {
          arbitrary: fc.tuple(valueFor(parameter.schema), valueFor(parameter.schema)),
          weight: parameter.in === 'query' ? 1 : 0,
        },
      ),
    }),
  );
  const body = operation.body ? bodyFor(operation.body).map((b) => [b]) : fc.constant([]);
  // A body that is not JSON (a CSV upload): the example, cut short, or text.
  const raw = operation.rawBody;
  const rawBody = raw
    ? fc.oneof(
        { arbitrary: fc.constant(raw.example), weight: 3 },
        { arbitrary: fc.nat(raw.example.length).map((n) => raw.example.slice(0, n)), weight: 1 },
        { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
      )
    : fc.constant(undefined);
  return fc.tuple(fc.tuple(...parts), body, rawBody).map(([chosen, [payload], rawPayload]) => {
    let path = operation.path;
    const query: string[] = [];
    for (const { parameter, present, values } of chosen) {
      if (!present) continue;
      if (parameter.in === 'path') {
        // A path segment cannot be empty, or the route would not match at all.
        const segment = values[0] === '' ? '-' : (values[0] as string);
        path = path.replace(`{${parameter.name}}`, encodeURIComponent(segment));
      } else if (parameter.in === 'query') {
        for (const value of values) query.push(`${parameter.name}=${encodeURIComponent(value)}`);
      }
    }
    const url = query.length > 0 ? `${path}?${query.join('&')}` : path;
    if (raw && rawPayload !== undefined) return { url, payload: rawPayload, contentType: raw.type };
    return operation.body ? { url, payload: JSON.stringify(payload ?? null) } : { url };
  });
}

/** The requests the issue names, on every operation whose parameters they fit. */
function namedCases(operation: Operation): Request[] {
  const names = new Set(operation.parameters.map((p) => p.name));
  const path = operation.path.replace('{id}', 'v23');
  const cases: string[] = [];
  if (names.has('limit')) cases.push('limit=1e309', 'limit=-1e309', 'limit=1.5', 'limit=NaN');
  if (names.has('before')) cases.push('before=1e23', 'before=9007199254740993', 'before=0');
  if (names.has('from') && names.has('to')) {
    for (const from of [
      '0000-01-01',
      '0000-01-01T00:00:00Z',
      '2026-11-25T00:00+25:00',
      '2026-11-25T24:00+08:00',
      '275760-09-13',
      '9999-12-31T23:59:59+14:00',
    ]) {
      cases.push(`from=${encodeURIComponent(from)}&to=2026-11-26&scope=site`);
      cases.push(`from=2026-11-25&to=${encodeURIComponent(from)}&scope=site`);
    }
    // Short periods at the ends of the calendar: they pass the length check and reach the services.
    const periods: Array<[string, string]> = [
      ['0000-01-01', '0000-01-02'],
      ['0000-12-31T00:00:00Z', '0001-01-01'],
      ['0001-01-01', '0001-01-08'],
      ['-000001-12-31T00:00:00Z', '0000-01-01T00:00:00Z'],
      ['9999-12-31', '+010000-01-01T00:00:00Z'],
      ['275760-09-12', '275760-09-13'],
      ['2026-11-25T00:00:00+14:00', '2026-11-25T00:00:00-12:00'],
    ];
    for (const [from, to] of periods) {
      cases.push(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&scope=site`);
    }
  }
  return cases.map((query) => ({ url: `${path}?${query}` }));
}

// ------------------------------------------------------------------ checks

async function send(operation: Operation, request: Request): Promise<LightMyRequestResponse> {
  return app.inject({
    method: operation.method as 'GET',
    url: request.url,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(request.payload === undefined ? {} : { 'content-type': request.contentType ?? 'application/json' }),
    },
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
}

/** The names a 400 or 404 of this operation may blame. */
function blameable(operation: Operation): Set<string> {
  return new Set([
    ...operation.parameters.map((p) => p.name),
    ...Object.keys(operation.body?.properties ?? {}),
    ...(operation.body || operation.rawBody ? ['body'] : []),
  ]);
}

/** What is wrong with an answer, or undefined when nothing is. */
function problemOf(
  operation: Operation,
  request: Request,
  response: LightMyRequestResponse,
): string | undefined {
  const where = `${operation.method} ${request.url}${request.payload ? ` ${request.payload.slice(0, 200)}` : ''}`;
  const said = `${where} → ${response.statusCode} ${response.body.slice(0, 300)}`;
  if (response.statusCode >= 500) return `a 5xx: ${said}`;
  if (response.statusCode < 400) return undefined;
  const { error } = response.json() as { error?: { code?: string; message?: string; parameter?: string } };
  if (typeof error?.code !== 'string' || typeof error.message !== 'string')
    return `not the error shape: ${said}`;
  if (response.statusCode === 400 || response.statusCode === 404) {
    // A field inside a body property may be named by its path (`rules.0.limitKmh`).
    const head = error.parameter?.split(/[.[]/)[0];
    if (head === undefined || !blameable(operation).has(head)) {
      return `names no parameter of the operation: ${said}`;
    }
    if (response.statusCode === 400 && !error.message.startsWith(error.parameter ?? '')) {
      return `the message does not start with the parameter: ${said}`;
    }
  }
  return undefined;
}

describe('every operation of the OpenAPI document', () => {
  it('finds the operations in the document', () => {
    // At least the routes of today; the checks below run on whatever the document lists.
    expect(operations.length).toBeGreaterThanOrEqual(14);
    expect(operations.map((o) => `${o.method} ${o.path}`)).toContain('GET /api/v1/ingest/rejections');
  });

  it('answers the values the issue names with a 4xx naming the parameter, or a 2xx', async () => {
    const problems: string[] = [];
    for (const operation of operations) {
      for (const request of namedCases(operation)) {
        const problem = problemOf(operation, request, await send(operation, request));
        if (problem) problems.push(problem);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it('never answers 5xx to generated parameters, and every 4xx names the parameter at fault', async () => {
    const answered = new Map<string, number[]>();
    for (const operation of operations) {
      const statuses: number[] = [];
      answered.set(`${operation.method} ${operation.path}`, statuses);
      // An operation that reads months of figures (a report, a car's whole life) takes seconds a
      // request: it gets the runs that fit in OPERATION_BUDGET_MS (at least MIN_RUNS), measured on
      // a few of its own generated requests first.
      const sample = fc.sample(requestFor(operation), { numRuns: 4, seed: SEED });
      const started = Date.now();
      for (const request of sample) {
        const response = await send(operation, request);
        statuses.push(response.statusCode);
        expect(problemOf(operation, request, response)).toBeUndefined();
      }
      const mean = (Date.now() - started) / sample.length;
      const runs = Math.max(MIN_RUNS, Math.min(RUNS, Math.floor(OPERATION_BUDGET_MS / Math.max(mean, 1))));
      await fc.assert(
        fc.asyncProperty(requestFor(operation), async (request) => {
          const response = await send(operation, request);
          statuses.push(response.statusCode);
          expect(problemOf(operation, request, response)).toBeUndefined();
        }),
        { numRuns: runs, seed: SEED, endOnFailure: true },
      );
    }
    // The generated requests reach the services too, not only the checks in front of them: every
    // operation answered some of them with a 2xx (a DELETE of a token that exists aside, and the
    // sign-in, which needs a user's password: its 400s, 401s and the guard's 429s are checked).
    const neverServed = [...answered]
      .filter(
        ([name, statuses]) =>
          !name.startsWith('DELETE') && !name.includes('/api/v1/session') && !statuses.some((s) => s < 300),
      )
      .map(([name, statuses]) => `${name}: ${statuses.join(' ')}`);
    expect(neverServed).toEqual([]);
  }, 600_000);

  it('requires what the document marks required, and nothing else', async () => {
    for (const operation of operations) {
      for (const parameter of operation.parameters.filter((p) => p.in === 'query')) {
        // Every other query parameter takes a value that is valid for it, where one is known.
        const others = operation.parameters
          .filter((p) => p.in === 'query' && p !== parameter)
          .map((p) => `${p.name}=${encodeURIComponent(validValue(p))}`);
        const path = operation.path.replace('{id}', 'v23');
        const url = others.length > 0 ? `${path}?${others.join('&')}` : path;
        const response = await send(operation, { url });
        const error =
          response.statusCode === 400 ? (response.json() as { error: { message: string } }).error : null;
        const missing = error?.message === `${parameter.name}: is required`;
        expect(
          missing,
          `${operation.method} ${url} without ${parameter.name}: ${response.body.slice(0, 200)}`,
        ).toBe(parameter.required === true);
      }
    }
  });
});

/** A value a parameter accepts: its default, its first enum member, or one that fits its name. */
function validValue(parameter: Parameter): string {
  const { schema } = parameter;
  if (schema.default !== undefined) return String(schema.default);
  if (schema.enum?.[0] !== undefined) return schema.enum[0];
  if (schema.type === 'integer' || schema.type === 'number') return String(schema.minimum ?? 1);
  if (parameter.name === 'from') return '2026-11-25';
  if (parameter.name === 'to') return '2026-11-26';
  return facility.site.id;
}
