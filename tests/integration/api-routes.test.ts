/**
 * The REST API through `app.inject()` on a real DuckDB store in a temporary folder, with the real
 * efficiency services and a few hand-written points: every endpoint, every role, department
 * scoping, every 400, CSV, the OpenAPI document. KPI figures are other tests' business; only
 * those that follow trivially from the points are checked here.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../../core/facility/index.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { PointMaker } from '../../simulators/points.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const ADMIN = 'bootstrap-admin-token-for-tests';
const HOUR = 3_600_000;
/** 2026-11-25 00:00 in Chengdu (+08:00), a Wednesday. */
const DAY = Date.UTC(2026, 10, 24, 16);
const PERIOD = 'from=2026-11-25&to=2026-11-26';

const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
if (!loaded.ok) throw new Error('the demo facility does not load');
const facility: Facility = loaded.facility;

/** Runs in reverse order in afterAll: each resource registers its teardown when it is made. */
const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

let folder: string;
let app: FastifyInstance;
/** Tokens by who holds them; made through the API in beforeAll. */
const token: Record<'admin' | 'operator' | 'viewer' | 'finance' | 'fleet', string> = {
  admin: ADMIN,
  operator: '',
  viewer: '',
  finance: '',
  fleet: '',
};

function points(): Point[] {
  const maker = new PointMaker(facility);
  const out: Point[] = [];
  const reading = (ts: number, total: number) => ({ ts, total });
  // A department meter: 100 → 112 → 124 kWh over the day, so 24 kWh.
  maker.append(
    'meter',
    'b1-e-finance',
    [reading(DAY, 100), reading(DAY + 12 * HOUR, 112), reading(DAY + 24 * HOUR, 124)],
    out,
  );
  maker.append(
    'meter',
    'b1-e-main',
    [reading(DAY, 1000), reading(DAY + 12 * HOUR, 1300), reading(DAY + 24 * HOUR, 1600)],
    out,
  );
  maker.append('meter', 'b2-e-fleet', [reading(DAY, 50), reading(DAY + 24 * HOUR, 60)], out);
  // A fleet car driving out and back at 10:00–10:30.
  const fixes = [];
  for (let i = 0; i <= 30; i++) {
    const t = DAY + 10 * HOUR + i * 60_000;
    fixes.push({ ts: t, lat: 30.657 + i * 0.0005, lon: 104.066, speed: i === 30 ? 0 : 40, ignition: i < 30 });
  }
  maker.append('vehicle', 'v23', fixes as never, out);
  maker.append(
    'sensor',
    's-b1-z-finance',
    [
      { ts: DAY + 9 * HOUR, occupancy: 100, temperature: 22, co2: 600 },
      { ts: DAY + 12 * HOUR, occupancy: 0, temperature: 21, co2: 500 },
    ] as never,
    out,
  );
  return out;
}

async function call(
  options: InjectOptions & { as?: keyof typeof token | null },
): Promise<LightMyRequestResponse> {
  const { as = 'admin', ...rest } = options;
  const headers = { ...(rest.headers ?? {}) } as Record<string, string>;
  if (as !== null) headers.authorization = `Bearer ${token[as]}`;
  return app.inject({ ...rest, headers });
}

async function get(url: string, as: keyof typeof token | null = 'admin', accept?: string) {
  return call({ method: 'GET', url, as, ...(accept ? { headers: { accept } } : {}) });
}

function errorOf(response: LightMyRequestResponse) {
  return (response.json() as { error: { code: string; message: string; parameter?: string } }).error;
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sfp-api-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  const store = new RollingStore({ store: inner, facility });
  await store.start();
  teardown.push(() => store.stop());
  const deadLetters = new DuckDbDeadLetterSink({ database: inner });
  await deadLetters.start();
  teardown.push(() => deadLetters.stop());

  await store.write(points());
  await deadLetters.add(
    [1, 2, 3].map((n) => ({
      time: DAY + n * HOUR,
      topic: `fac/cd-compound/meter/b1-e-main/reading`,
      device: { kind: 'meter' as const, id: 'b1-e-main' },
      reason: 'schema' as const,
      detail: `total: 不是数字 #${n}`,
      payload: `{"ts":${n}}`,
      encoding: 'utf8' as const,
      size: 8,
      truncated: false,
    })),
  );

  app = buildApp({
    version: '0.0.0-test',
    facility,
    store,
    deadLetters,
    data: folder,
    adminToken: ADMIN,
    ingestStats: () => ({ connected: true, messages: { received: 3 } }),
    metrics: async () => '# HELP x\nx 1\n',
    rateLimit: false,
  });
  teardown.push(() => app.close());
  await app.ready();

  const make = async (body: object) => {
    const response = await call({ method: 'POST', url: '/api/v1/tokens', payload: body });
    expect(response.statusCode).toBe(201);
    return (response.json() as { token: string }).token;
  };
  token.operator = await make({ name: 'duty operator 值班员', role: 'operator' });
  token.viewer = await make({ name: 'wall screen', role: 'viewer' });
  token.finance = await make({ name: '财务处', role: 'viewer', department: 'finance' });
  token.fleet = await make({ name: '车管处', role: 'operator', department: 'fleet' });
});

/** Every route but health and the docs, with a request that is valid for an admin. */
const PROTECTED: Array<[string, string]> = [
  ['GET', '/api/v1/facility'],
  ['GET', `/api/v1/energy/summary?${PERIOD}`],
  ['GET', `/api/v1/energy/series?scope=site&${PERIOD}`],
  ['GET', `/api/v1/vehicles/utilization?${PERIOD}`],
  ['GET', `/api/v1/vehicles/v23/trips?${PERIOD}`],
  ['GET', `/api/v1/vehicles/v23/track?${PERIOD}`],
  ['GET', `/api/v1/rooms/utilization?${PERIOD}`],
  ['GET', '/api/v1/ingest/stats'],
  ['GET', '/api/v1/ingest/rejections'],
  ['GET', '/api/v1/tokens'],
  ['POST', '/api/v1/tokens'],
  ['DELETE', '/api/v1/tokens/tok_000000000000'],
  ['GET', '/metrics'],
];

describe('access', () => {
  it('answers health without a token, with security headers', async () => {
    const response = await get('/api/v1/health', null);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok', version: '0.0.0-test', store: 'duckdb' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBeDefined();
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });

  it.each(PROTECTED)(
    '%s %s: 401 without a token, with a bad scheme, with an unknown token',
    async (method, url) => {
      for (const authorization of [undefined, `Basic ${ADMIN}`, 'Bearer', 'Bearer not-a-token-we-know']) {
        const response = await app.inject({
          method: method as 'GET',
          url,
          headers: authorization === undefined ? {} : { authorization },
        });
        expect(response.statusCode).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(errorOf(response).code).toBe('UNAUTHORIZED');
      }
    },
  );

  it('lets every role read, and only a site-wide admin manage tokens', async () => {
    for (const as of ['admin', 'operator', 'viewer', 'finance', 'fleet'] as const) {
      expect((await get('/api/v1/facility', as)).statusCode).toBe(200);
      expect((await get(`/api/v1/vehicles/utilization?${PERIOD}`, as)).statusCode).toBe(200);
      expect((await get(`/api/v1/rooms/utilization?${PERIOD}`, as)).statusCode).toBe(200);
    }
    for (const as of ['operator', 'viewer', 'finance', 'fleet'] as const) {
      const list = await get('/api/v1/tokens', as);
      expect(list.statusCode).toBe(403);
      expect(errorOf(list).code).toBe('FORBIDDEN');
      const create = await call({
        method: 'POST',
        url: '/api/v1/tokens',
        as,
        payload: { name: 'x', role: 'admin' },
      });
      expect(create.statusCode).toBe(403);
      const revoke = await call({ method: 'DELETE', url: '/api/v1/tokens/tok_000000000000', as });
      expect(revoke.statusCode).toBe(403);
    }
  });

  it('keeps site-wide endpoints from department tokens', async () => {
    for (const url of ['/api/v1/ingest/stats', '/api/v1/ingest/rejections', '/metrics']) {
      for (const as of ['operator', 'viewer'] as const) expect((await get(url, as)).statusCode).toBe(200);
      for (const as of ['finance', 'fleet'] as const) {
        const response = await get(url, as);
        expect(response.statusCode).toBe(403);
        expect(errorOf(response).message).toMatch(/site-wide/);
      }
    }
  });

  it('answers an unknown route 404 in the error shape', async () => {
    const response = await get('/api/v1/nothing');
    expect(response.statusCode).toBe(404);
    expect(errorOf(response).code).toBe('NOT_FOUND');
  });
});

describe('GET /api/v1/facility', () => {
  it('never shows a device secret or its hash', async () => {
    const text = (await get('/api/v1/facility')).body;
    expect(text).not.toMatch(/"secret(Hash)?"/);
    const secrets = [...facility.meters, ...facility.vehicles, ...facility.sensors].flatMap((d) =>
      [d.secret, d.secretHash].filter((s): s is string => s !== undefined),
    );
    expect(secrets.length).toBeGreaterThan(50);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('shows the whole model to site-wide tokens', async () => {
    const body = (await get('/api/v1/facility', 'viewer')).json() as Facility;
    expect(body.site.id).toBe('cd-compound');
    expect(body.meters).toHaveLength(facility.meters.length);
    expect(body.vehicles).toHaveLength(24);
    expect(body.departments.map((d) => d.id)).toContain('finance');
    expect(body.meters[0]).toMatchObject({ id: 'b1-e-main', kind: 'electricity', building: 'b1' });
  });

  it('cuts the model to the department of a department token', async () => {
    const finance = (await get('/api/v1/facility', 'finance')).json() as Facility;
    expect(finance.departments.map((d) => d.id)).toEqual(['finance']);
    expect(finance.meters.map((m) => m.id)).toEqual(['b1-e-finance']);
    expect(finance.vehicles).toEqual([]);
    expect(finance.rooms.map((r) => r.id)).toEqual(['b1-z-finance']);
    expect(finance.sensors.map((s) => s.id)).toEqual(['s-b1-z-finance']);
    expect(finance.buildings.map((b) => b.id)).toEqual(['b1']);
    expect(finance.quotas).toEqual([
      { scope: 'department', id: 'finance', kind: 'electricity', year: 2026, amount: 480000 },
    ]);
    const fleet = (await get('/api/v1/facility', 'fleet')).json() as Facility;
    expect(fleet.vehicles.map((v) => v.id)).toEqual(['v23', 'v24']);
  });
});

describe('from / to', () => {
  const base = '/api/v1/vehicles/utilization';
  it.each([
    ['', 'from', /from: is required/],
    ['from=2026-11-25', 'to', /to: is required/],
    ['from=2026-13-01&to=2026-11-26', 'from', /not a date/],
    ['from=2026-11-25T08:00:00&to=2026-11-26', 'from', /offset/],
    ['from=tomorrow&to=2026-11-26', 'from', /not a time/],
    ['from=2026-11-26&to=2026-11-25', 'to', /must be after from/],
    ['from=2026-11-25&to=2026-11-25', 'to', /must be after from/],
    ['from=2024-01-01&to=2026-11-25', 'to', /longer than 732 days/],
  ])('?%s → 400 naming %s', async (query, parameter, message) => {
    const response = await get(`${base}?${query}`);
    expect(response.statusCode).toBe(400);
    const error = errorOf(response);
    expect(error).toMatchObject({ code: 'INVALID_PARAMETER', parameter });
    expect(error.message).toMatch(message);
    expect(response.body).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('reads a date as midnight in the site time zone and an instant with its offset', async () => {
    const byDate = (await get(`${base}?${PERIOD}`)).json() as { from: string; to: string };
    expect(byDate.from).toBe('2026-11-25T00:00:00+08:00');
    expect(byDate.to).toBe('2026-11-26T00:00:00+08:00');
    const byInstant = (await get(`${base}?from=2026-11-24T16:00:00Z&to=2026-11-25T16:00:00Z`)).json() as {
      from: string;
    };
    expect(byInstant.from).toBe('2026-11-25T00:00:00+08:00');
  });
});

describe('GET /api/v1/energy/summary', () => {
  it.each(['site', 'building', 'department', 'meter', 'system'])(
    'groupBy=%s answers items',
    async (groupBy) => {
      const response = await get(`/api/v1/energy/summary?${PERIOD}&groupBy=${groupBy}`, 'viewer');
      expect(response.statusCode).toBe(200);
      const body = response.json() as { groupBy: string; items: Array<Record<string, unknown>> };
      expect(body.groupBy).toBe(groupBy);
      expect(body.items.length).toBeGreaterThan(0);
      for (const key of [
        'id',
        'name',
        'electricityKwh',
        'waterM3',
        'gasM3',
        'kgce',
        'co2Kg',
        'costCny',
        'coverage',
        'quota',
      ]) {
        expect(body.items[0]).toHaveProperty(key);
      }
    },
  );

  it('serves every figure of the contract: nothing new is dropped by the response schema', async () => {
    const body = (await get(`/api/v1/energy/summary?${PERIOD}&groupBy=site`)).json() as Record<
      string,
      unknown
    > & {
      items: Array<Record<string, unknown>>;
    };
    // A day of 25 November, over.
    expect(body).toMatchObject({ measuredTo: '2026-11-26T00:00:00+08:00', periodKind: 'day' });
    const site = body.items[0] as Record<string, Record<string, unknown>>;
    for (const key of ['nulls', 'coverageByKind', 'lastYear', 'previous', 'vehicles', 'standard']) {
      expect(site).toHaveProperty(key);
    }
    expect(Object.keys(site.previous ?? {}).sort()).toEqual(
      [
        'changePercent',
        'coverage',
        'currentCoverage',
        'electricityKwh',
        'from',
        'gasM3',
        'kgce',
        'measuredTo',
        'nulls',
        'to',
        'waterM3',
      ].sort(),
    );
    // 24 cars; v23's fixes carry no fuel counter and no other car reported: no litres are known.
    expect(site.vehicles).toMatchObject({
      count: 24,
      reporting: 0,
      gasolineL: null,
      nulls: { gasolineL: 'no-data' },
    });
    expect(Object.keys(site.standard ?? {})).toEqual(
      expect.arrayContaining([
        'annualisedMethod',
        'estimate',
        'hoursOfUse',
        'gamma',
        'correctedKwhPerM2',
        'nulls',
      ]),
    );
    const quota = (site.quota as unknown as Array<Record<string, unknown>>)[0];
    expect(Object.keys(quota ?? {})).toEqual(
      expect.arrayContaining(['used', 'periodCoverage', 'asOf', 'usedToDate', 'coverage', 'basis', 'nulls']),
    );
    const department = (await get(`/api/v1/energy/summary?${PERIOD}&groupBy=department`)).json() as {
      items: Array<Record<string, unknown>>;
    };
    // Finance: 4 200 m² of b1's 28 000; b1's departments hold 16 800, so 11 200 m² are common and
    // finance carries 4 200 / 16 800 = ¼ of them: 2 800 → 7 000 m².
    expect(department.items.find((i) => i.id === 'finance')).toMatchObject({
      areaM2: 7000,
      ownAreaM2: 4200,
      commonAreaM2: 2800,
    });
    const series = (await get(`/api/v1/energy/series?scope=meter&id=b1-e-finance&${PERIOD}`)).json() as {
      measuredTo: string;
      items: Array<Record<string, unknown>>;
    };
    expect(series.measuredTo).toBe('2026-11-26T00:00:00+08:00');
    expect(series.items[0]).toHaveProperty('nulls');
  });

  it('defaults to groupBy=site and refuses an unknown groupBy', async () => {
    const body = (await get(`/api/v1/energy/summary?${PERIOD}`)).json() as {
      groupBy: string;
      items: unknown[];
    };
    expect(body.groupBy).toBe('site');
    expect(body.items).toHaveLength(1);
    const response = await get(`/api/v1/energy/summary?${PERIOD}&groupBy=floor`);
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatchObject({ parameter: 'groupBy' });
    expect(errorOf(response).message).toMatch(
      /groupBy: must be one of site, building, department, meter, system/,
    );
  });

  it('gives a department token its own row and its own meters, and 403 for site-wide groupings', async () => {
    const departments = (
      await get(`/api/v1/energy/summary?${PERIOD}&groupBy=department`, 'finance')
    ).json() as {
      items: Array<{ id: string }>;
    };
    expect(departments.items.map((i) => i.id)).toEqual(['finance']);
    const meters = (await get(`/api/v1/energy/summary?${PERIOD}&groupBy=meter`, 'finance')).json() as {
      items: Array<{ id: string; electricityKwh: number }>;
    };
    expect(meters.items.map((i) => i.id)).toEqual(['b1-e-finance']);
    // 124 − 100 kWh.
    expect(meters.items[0]?.electricityKwh).toBeCloseTo(24, 6);
    for (const groupBy of ['site', 'building', 'system']) {
      const response = await get(`/api/v1/energy/summary?${PERIOD}&groupBy=${groupBy}`, 'finance');
      expect(response.statusCode).toBe(403);
      expect(errorOf(response).parameter).toBe('groupBy');
    }
  });
});

describe('GET /api/v1/energy/series', () => {
  it('answers one window per hour of the day', async () => {
    const response = await get(
      `/api/v1/energy/series?scope=meter&id=b1-e-finance&kind=electricity&every=1h&${PERIOD}`,
    );
    expect(response.statusCode).toBe(200);
    const body = response.json() as {
      scope: string;
      unit: string;
      items: Array<{ start: string; value: number }>;
    };
    expect(body).toMatchObject({ scope: 'meter', id: 'b1-e-finance', kind: 'electricity', every: '1h' });
    expect(body.items).toHaveLength(24);
    expect(body.items[0]?.start).toBe('2026-11-25T00:00:00+08:00');
    expect(body.items.reduce((sum, i) => sum + i.value, 0)).toBeCloseTo(24, 6);
  });

  it('defaults to the site, electricity, 1h', async () => {
    const body = (await get(`/api/v1/energy/series?scope=site&${PERIOD}`)).json() as Record<string, unknown>;
    expect(body).toMatchObject({ scope: 'site', id: 'cd-compound', kind: 'electricity', every: '1h' });
  });

  it.each([
    ['scope=floor', 'scope', 400],
    ['scope=meter&id=b1-e-main&every=5m', 'every', 400],
    ['scope=meter&id=b1-e-main&kind=steam', 'kind', 400],
    ['scope=building', 'id', 400],
    ['scope=meter&id=nope', 'id', 404],
    ['scope=building&id=b9', 'id', 404],
    ['scope=site&id=elsewhere', 'id', 404],
  ])('%s → %s %i', async (query, parameter, status) => {
    const response = await get(`/api/v1/energy/series?${query}&${PERIOD}`);
    expect(response.statusCode).toBe(status);
    expect(errorOf(response).parameter).toBe(parameter);
  });

  it('refuses more than 20,000 windows', async () => {
    const response = await get('/api/v1/energy/series?scope=site&every=15m&from=2026-01-01&to=2026-11-25');
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatchObject({ parameter: 'every' });
  });

  it('lets a department token see its department and its meters only', async () => {
    expect(
      (await get(`/api/v1/energy/series?scope=department&id=finance&${PERIOD}`, 'finance')).statusCode,
    ).toBe(200);
    expect(
      (await get(`/api/v1/energy/series?scope=meter&id=b1-e-finance&${PERIOD}`, 'finance')).statusCode,
    ).toBe(200);
    for (const query of [
      'scope=department&id=policy',
      'scope=meter&id=b1-e-main',
      'scope=site',
      'scope=building&id=b1',
    ]) {
      const response = await get(`/api/v1/energy/series?${query}&${PERIOD}`, 'finance');
      expect(response.statusCode).toBe(403);
    }
  });
});

describe('vehicles', () => {
  it('lists every vehicle for site-wide tokens and only its own for a department token', async () => {
    const all = (await get(`/api/v1/vehicles/utilization?${PERIOD}`, 'operator')).json() as {
      items: Array<Record<string, unknown>>;
    };
    expect(all.items).toHaveLength(24);
    for (const key of [
      'id',
      'plate',
      'trips',
      'distanceKm',
      'drivingHours',
      'idleHours',
      'utilization',
      'offHoursTrips',
      'geofenceExits',
      'speedingEvents',
      'energyPer100km',
      'costPerKm',
    ]) {
      expect(all.items[0]).toHaveProperty(key);
    }
    const fleet = (await get(`/api/v1/vehicles/utilization?${PERIOD}`, 'fleet')).json() as {
      items: Array<{ id: string }>;
    };
    expect(fleet.items.map((i) => i.id)).toEqual(['v23', 'v24']);
    const finance = (await get(`/api/v1/vehicles/utilization?${PERIOD}`, 'finance')).json() as {
      items: unknown[];
    };
    expect(finance.items).toEqual([]);
  });

  it('answers the trips of a vehicle', async () => {
    const response = await get(`/api/v1/vehicles/v23/trips?${PERIOD}`, 'fleet');
    expect(response.statusCode).toBe(200);
    const body = response.json() as { id: string; items: Array<Record<string, unknown>> };
    expect(body.id).toBe('v23');
    expect(body.items).toHaveLength(1);
    expect(Object.keys(body.items[0] ?? {}).sort()).toEqual(
      [
        'distanceKm',
        'durationMin',
        'end',
        'from',
        'leftServiceArea',
        'maxSpeedKmh',
        'offHours',
        'start',
        'to',
      ].sort(),
    );
  });

  it('answers the track as a GeoJSON LineString of the fixes', async () => {
    const response = await get(`/api/v1/vehicles/v23/track?${PERIOD}`);
    expect(response.statusCode).toBe(200);
    const body = response.json() as {
      type: string;
      geometry: { type: string; coordinates: number[][] };
      properties: { id: string; plate: string; times: string[] };
    };
    expect(body.type).toBe('Feature');
    expect(body.geometry.type).toBe('LineString');
    expect(body.geometry.coordinates).toHaveLength(31);
    expect(body.geometry.coordinates[0]).toEqual([104.066, 30.657]);
    expect(body.properties).toMatchObject({ id: 'v23', plate: '川A·6F903' });
    expect(body.properties.times[0]).toBe('2026-11-25T10:00:00+08:00');
  });

  it('404s an unknown vehicle, 403s another department’s, 400s a track longer than 31 days', async () => {
    for (const path of ['trips', 'track']) {
      const unknown = await get(`/api/v1/vehicles/v99/${path}?${PERIOD}`);
      expect(unknown.statusCode).toBe(404);
      expect(errorOf(unknown).parameter).toBe('id');
      expect((await get(`/api/v1/vehicles/v01/${path}?${PERIOD}`, 'fleet')).statusCode).toBe(403);
      expect((await get(`/api/v1/vehicles/v23/${path}?${PERIOD}`, 'finance')).statusCode).toBe(403);
    }
    const long = await get('/api/v1/vehicles/v23/track?from=2026-10-01&to=2026-11-25');
    expect(long.statusCode).toBe(400);
    expect(errorOf(long).message).toMatch(/31 days/);
  });
});

describe('GET /api/v1/rooms/utilization', () => {
  it('lists rooms, filtered by building and by a department token', async () => {
    const all = (await get(`/api/v1/rooms/utilization?${PERIOD}`, 'viewer')).json() as {
      items: Array<Record<string, unknown>>;
    };
    expect(all.items).toHaveLength(facility.rooms.length);
    for (const key of [
      'id',
      'name',
      'capacity',
      'occupiedHours',
      'utilization',
      'seatUse',
      'conditionedEmptyHours',
      'setpointViolationHours',
      'co2OverHours',
      'comfort',
    ]) {
      expect(all.items[0]).toHaveProperty(key);
    }
    const b3 = (await get(`/api/v1/rooms/utilization?${PERIOD}&building=b3`)).json() as {
      items: Array<{ building: string }>;
    };
    expect(b3.items.length).toBe(5);
    expect(new Set(b3.items.map((i) => i.building))).toEqual(new Set(['b3']));
    const finance = (await get(`/api/v1/rooms/utilization?${PERIOD}`, 'finance')).json() as {
      items: Array<{ id: string; occupiedHours: number }>;
    };
    expect(finance.items.map((i) => i.id)).toEqual(['b1-z-finance']);
  });

  it('404s an unknown building', async () => {
    const response = await get(`/api/v1/rooms/utilization?${PERIOD}&building=b9`);
    expect(response.statusCode).toBe(404);
    expect(errorOf(response).parameter).toBe('building');
  });
});

describe('ingest', () => {
  it('answers the counters', async () => {
    const response = await get('/api/v1/ingest/stats', 'viewer');
    expect(response.json()).toEqual({ connected: true, messages: { received: 3 } });
  });

  it('lists dead-letter entries newest first, with a limit', async () => {
    const all = (await get('/api/v1/ingest/rejections')).json() as {
      items: Array<{ id: number; detail: string; time: string; device: unknown }>;
    };
    expect(all.items.map((i) => i.detail)).toEqual([
      'total: 不是数字 #3',
      'total: 不是数字 #2',
      'total: 不是数字 #1',
    ]);
    expect(all.items[0]).toMatchObject({
      time: '2026-11-25T03:00:00+08:00',
      device: { kind: 'meter', id: 'b1-e-main' },
    });
    const one = (await get('/api/v1/ingest/rejections?limit=1')).json() as {
      items: Array<{ detail: string }>;
    };
    expect(one.items.map((i) => i.detail)).toEqual(['total: 不是数字 #3']);
    const before = (await get(`/api/v1/ingest/rejections?before=${all.items[1]?.id}`)).json() as {
      items: Array<{ detail: string }>;
    };
    expect(before.items.map((i) => i.detail)).toEqual(['total: 不是数字 #1']);
  });

  it.each(['limit=0', 'limit=1001', 'limit=ten'])('?%s → 400 naming limit', async (query) => {
    const response = await get(`/api/v1/ingest/rejections?${query}`);
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).parameter).toBe('limit');
  });
});

describe('tokens', () => {
  it('creates a token, shows it once, lists it without secrets, and revokes it', async () => {
    const created = await call({
      method: 'POST',
      url: '/api/v1/tokens',
      payload: { name: '资产处 viewer', role: 'viewer', department: 'assets' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const { token: secret, id, ...info } = created.json() as { token: string; id: string };
    expect(info).toMatchObject({
      name: '资产处 viewer',
      role: 'viewer',
      department: 'assets',
      createdBy: 'bootstrap',
    });
    expect(
      (await app.inject({ url: '/api/v1/facility', headers: { authorization: `Bearer ${secret}` } }))
        .statusCode,
    ).toBe(200);

    const list = await get('/api/v1/tokens');
    expect(list.body).not.toContain(secret);
    expect(list.body).not.toMatch(/sha256|hash/);
    const items = (list.json() as { items: Array<{ id: string; name: string }> }).items;
    expect(items.map((t) => t.name)).toEqual(
      expect.arrayContaining(['wall screen', '财务处', '资产处 viewer']),
    );
    const file = await readFile(join(folder, 'tokens.json'), 'utf8');
    expect(file).not.toContain(secret);
    expect(file).toContain(id);

    expect((await call({ method: 'DELETE', url: `/api/v1/tokens/${id}` })).statusCode).toBe(204);
    const refused = await app.inject({
      url: '/api/v1/facility',
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(refused.statusCode).toBe(401);
    expect(errorOf(refused).message).toMatch(/unknown or revoked/);
    const again = await call({ method: 'DELETE', url: `/api/v1/tokens/${id}` });
    expect(again.statusCode).toBe(404);
  });

  it('lets a token made by the API create tokens when it is an admin', async () => {
    const created = await call({
      method: 'POST',
      url: '/api/v1/tokens',
      payload: { name: 'second admin', role: 'admin' },
    });
    const { token: secret } = created.json() as { token: string };
    const made = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: `Bearer ${secret}` },
      payload: { name: 'made by the second admin', role: 'viewer' },
    });
    expect(made.statusCode).toBe(201);
    expect((made.json() as { createdBy: string }).createdBy).toBe((created.json() as { id: string }).id);
  });

  it.each([
    [{ role: 'viewer' }, 'name', /name: is required/],
    [{ name: '', role: 'viewer' }, 'name', /name/],
    [{ name: 'x', role: 'root' }, 'role', /role: must be one of admin, operator, viewer/],
    [{ name: 'x', role: 'viewer', department: 'nope' }, 'department', /no department "nope"/],
    [{ name: 'x', role: 'admin', department: 'finance' }, 'department', /site-wide/],
  ])('POST %j → 400 naming %s', async (payload, parameter, message) => {
    const response = await call({ method: 'POST', url: '/api/v1/tokens', payload });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).parameter).toBe(parameter);
    expect(errorOf(response).message).toMatch(message);
  });

  it('refuses a body that is not JSON, and revoking the bootstrap token', async () => {
    const bad = await call({
      method: 'POST',
      url: '/api/v1/tokens',
      payload: '{ name',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).not.toMatch(/\bat .*:\d+:\d+/);
    const bootstrap = await call({ method: 'DELETE', url: '/api/v1/tokens/bootstrap' });
    expect(bootstrap.statusCode).toBe(400);
    expect(errorOf(bootstrap).parameter).toBe('id');
  });
});

describe('CSV', () => {
  function rowsOf(response: LightMyRequestResponse): string[][] {
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    return response.body
      .slice(1)
      .split('\r\n')
      .filter((line) => line !== '')
      .map((line) => line.split(','));
  }

  it('answers energy summaries with one row per item, names in Chinese, quota per kind', async () => {
    const rows = rowsOf(
      await get(`/api/v1/energy/summary?${PERIOD}&groupBy=department`, 'viewer', 'text/csv'),
    );
    const [header = [], ...data] = rows;
    expect(header.slice(0, 4)).toEqual(['id', 'name.zh', 'name.en', expect.any(String)]);
    expect(header).toEqual(
      expect.arrayContaining([
        'electricityKwh',
        'kgce',
        'coverage',
        'quota.electricity.usedPercent',
        'quota.electricity.basis',
        'quota.electricity.projectedYearEnd',
        'previous.changePercent',
        'previous.coverage',
        'lastYear.changePercent',
        'lastYear.currentCoverage',
        'vehicles.kgce',
        'vehicles.costCny',
        'standard.annualisedMethod',
        'standard.rating',
        'ownAreaM2',
        'coverageByKind.electricity',
      ]),
    );
    // A null figure's reason is a column of its own, e.g. the day is not rated by GB/T 51161.
    expect(header).toContain('standard.nulls.rating');
    // Every department, plus the shared-services buildings (reported, never spread).
    expect(data.length).toBeGreaterThanOrEqual(facility.departments.length);
    expect(data.map((r) => r[header.indexOf('name.zh')])).toContain('财务处');
  });

  it.each([
    [`/api/v1/vehicles/utilization?${PERIOD}`, 'plate', '川A·6F903', 25],
    [`/api/v1/rooms/utilization?${PERIOD}`, 'name.zh', '财务处办公区', facility.rooms.length + 1],
    [`/api/v1/vehicles/v23/trips?${PERIOD}`, 'from.lat', '30.657', 2],
    [`/api/v1/vehicles/v23/track?${PERIOD}`, 'time', '2026-11-25T10:00:00+08:00', 32],
    [`/api/v1/energy/series?scope=meter&id=b1-e-finance&${PERIOD}`, 'start', '2026-11-25T00:00:00+08:00', 25],
    ['/api/v1/ingest/rejections', 'detail', 'total: 不是数字 #3', 4],
    ['/api/v1/tokens', 'name', '财务处', undefined],
  ])('%s has a column %s holding %s', async (url, column, value, lines) => {
    const rows = rowsOf(await get(url, 'admin', 'text/csv'));
    const at = rows[0]?.indexOf(column) ?? -1;
    expect(at).toBeGreaterThanOrEqual(0);
    expect(rows.slice(1).map((r) => r[at])).toContain(value);
    if (lines !== undefined) expect(rows).toHaveLength(lines);
    expect(rows[0]?.join(',')).not.toMatch(/secret|hash/i);
  });

  it('keeps a department token to its rows in CSV too, and writes the header of an empty list', async () => {
    const rows = rowsOf(await get(`/api/v1/rooms/utilization?${PERIOD}`, 'finance', 'text/csv'));
    expect(rows.slice(1).map((r) => r[0])).toEqual(['b1-z-finance']);
    const empty = rowsOf(await get(`/api/v1/vehicles/utilization?${PERIOD}`, 'finance', 'text/csv'));
    expect(empty).toHaveLength(1);
    expect(empty[0]).toEqual(expect.arrayContaining(['id', 'plate', 'utilization']));
  });

  it('keeps JSON for browsers and wildcards', async () => {
    const response = await get(`/api/v1/rooms/utilization?${PERIOD}`, 'admin', 'text/html,*/*;q=0.8');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  });
});

describe('OpenAPI', () => {
  it('serves a valid OpenAPI 3.1 document listing every route, without a token', async () => {
    const response = await get('/api/v1/openapi.json', null);
    expect(response.statusCode).toBe(200);
    const document = response.json() as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { security?: unknown[]; parameters?: Array<{ name: string; in: string; required?: boolean }> }
        >
      >;
    };
    const validator = new Validator();
    const result = await validator.validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /api/v1/health',
        'GET /api/v1/facility',
        'GET /api/v1/energy/summary',
        'GET /api/v1/energy/series',
        'GET /api/v1/vehicles/utilization',
        'GET /api/v1/vehicles/{id}/trips',
        'GET /api/v1/vehicles/{id}/track',
        'GET /api/v1/rooms/utilization',
        'GET /api/v1/ingest/stats',
        'GET /api/v1/ingest/rejections',
        'GET /api/v1/tokens',
        'POST /api/v1/tokens',
        'DELETE /api/v1/tokens/{id}',
        'GET /metrics',
        'GET /api/v1/corrections',
        'POST /api/v1/corrections',
        // the management layer (tests/integration/management-api.test.ts)
        'GET /api/v1/costs',
        'POST /api/v1/costs',
        'DELETE /api/v1/costs/{id}',
        'POST /api/v1/costs/import',
        'GET /api/v1/audit',
        'GET /api/v1/costs/vehicles',
        'GET /api/v1/vehicles/{id}/lifecycle',
        'GET /api/v1/costs/space',
        'GET /api/v1/budgets',
        'POST /api/v1/feedback',
        'GET /api/v1/feedback/qr',
        'GET /api/v1/feedback/qr/sheet',
        'GET /api/v1/feedback/summary',
        'GET /api/v1/scorecard',
        'GET /api/v1/reports/monthly',
        'POST /api/v1/session',
        'GET /api/v1/session',
        'DELETE /api/v1/session',
        'GET /api/v1/users',
        'POST /api/v1/users',
        'DELETE /api/v1/users/{username}',
        'GET /api/v1/alerts',
        'GET /api/v1/alerts/{id}',
        'POST /api/v1/alerts/{id}/ack',
        'POST /api/v1/alerts/{id}/comment',
        'GET /api/v1/alerts/{id}/deliveries',
        'GET /api/v1/alert-rules',
        'PUT /api/v1/alert-rules',
        'DELETE /api/v1/alert-rules',
      ].sort(),
    );
    expect(document.paths['/api/v1/health']?.get?.security).toEqual([]);
    const from = document.paths['/api/v1/energy/summary']?.get?.parameters?.find((p) => p.name === 'from');
    expect(from).toMatchObject({ in: 'query', required: true });
  });

  it('serves the interactive page at /docs', async () => {
    const page = await get('/docs/', null);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('swagger-ui');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    const script = await get('/docs/static/swagger-ui-bundle.js', null);
    expect(script.statusCode).toBe(200);
  });
});

describe('limits and failures', () => {
  /** An app of its own on a store of its own (started or not), closed when the file's tests end. */
  async function separateApp(options: {
    rateLimit?: { max: number; timeWindowMs: number };
    startStore: boolean;
  }) {
    const dir = await mkdtemp(join(tmpdir(), 'sfp-api-'));
    teardown.push(() => rm(dir, { recursive: true, force: true }));
    const store = new DuckDbStore({ path: join(dir, 'facility.duckdb') });
    if (options.startStore) {
      await store.start();
      teardown.push(() => store.stop());
    }
    const separate = buildApp({
      version: '0',
      facility,
      store,
      deadLetters: new DuckDbDeadLetterSink({ database: store }),
      data: dir,
      adminToken: ADMIN,
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    });
    teardown.push(() => separate.close());
    await separate.ready();
    return separate;
  }

  it('limits requests per client, health aside, with a 429 in the error shape', async () => {
    const limited = await separateApp({ rateLimit: { max: 3, timeWindowMs: 60_000 }, startStore: true });
    const headers = { authorization: `Bearer ${ADMIN}` };
    for (let i = 0; i < 3; i++) {
      expect((await limited.inject({ url: '/api/v1/facility', headers })).statusCode).toBe(200);
    }
    const refused = await limited.inject({ url: '/api/v1/facility', headers });
    expect(refused.statusCode).toBe(429);
    expect(errorOf(refused).code).toBe('RATE_LIMITED');
    expect(refused.headers['retry-after']).toBeDefined();
    for (let i = 0; i < 5; i++)
      expect((await limited.inject({ url: '/api/v1/health' })).statusCode).toBe(200);
  });

  it('is on by default', async () => {
    const limited = await separateApp({ startStore: true });
    const response = await limited.inject({
      url: '/api/v1/facility',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(response.headers['x-ratelimit-limit']).toBe('600');
  });

  it('answers a store failure with a 500 that tells nothing of the inside', async () => {
    const broken = await separateApp({ startStore: false });
    const response = await broken.inject({
      url: `/api/v1/vehicles/utilization?${PERIOD}`,
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
});
