/**
 * The management layer through the API (issue 13) on a real DuckDB store and state, over a small
 * facility whose figures are worked out by hand in the comments: vehicle costs, the lifecycle and
 * its replacement signal, space costs of a room, budgets, feedback with its sensor link, the
 * scorecard, the ledger with its audit and CSV import, the public feedback endpoint under abuse,
 * the monthly report as .xlsx read back with exceljs and as HTML rendered in headless Chromium
 * (screenshot in tests/artifacts/).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { FastifyInstance, InjectOptions } from 'fastify';
import iconv from 'iconv-lite';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import { type Facility, loadFacility } from '../../core/facility/index.ts';
import { localDay } from '../../core/management/costs.ts';
import { SHEETS } from '../../core/management/report-xlsx.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { PointMaker } from '../../simulators/points.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { DuckDbManagementState } from '../../storage/duckdb/management-state.ts';

const ADMIN = 'bootstrap-admin-token-for-management';
const ZONE = 'Asia/Shanghai';
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** 2026-11-02 00:00 in Chengdu, a Monday. */
const DAY = Date.parse('2026-11-02T00:00:00+08:00');

// One building of 1,000 m²: book value 1,826,300 over 50 years from 2016-01-01 (18,263 days, 13 of them
// leap days) = 100 CNY a day; property fee 36.5 CNY/m²·a = 0.1 CNY/m² a day (2026: 365 days).
// ops and fin occupy 400 m² each; the 200 m² left are common, split 100 / 100.
// car1: 146,000 from 2020-01-01 for 5 years (life over on 2025-01-01), insurance 3,650 a year (10 a day).
// car2: 73,040 from 2026-01-01 for 10 years (3,652 days) = 20 a day, insurance 3,650 a year.
const FACILITY_YAML = `
version: 1
site: { id: mini, name: { zh: 小院, en: Mini compound }, timezone: Asia/Shanghai, location: { lat: 30.65, lon: 104.06 }, climateZone: hot-summer-cold-winter }
calendar: { workdays: [mon, tue, wed, thu, fri], workingHours: "09:00-18:00" }
buildings:
  - { id: hq, name: { zh: 办公楼, en: HQ }, use: office, floorArea: 1000, floors: 4, asset: { value: 1826300, date: 2016-01-01, lifeYears: 50 }, propertyFeePerM2Year: 36.5 }
departments:
  - { id: ops, name: { zh: 运行处, en: Operations }, headcount: 10, spaces: [{ building: hq, area: 400 }], budgets: [{ year: 2026, electricity: 3650, vehicleFuel: 1825, vehicleMaintenance: 3650, property: 36500 }] }
  - { id: fin, name: { zh: 财务处, en: Finance }, headcount: 20, spaces: [{ building: hq, area: 400 }] }
meters:
  - { id: hq-e, kind: electricity, building: hq, system: total, interval: 60, secret: s-hq-e }
  - { id: hq-e-hvac, kind: electricity, building: hq, system: hvac, parent: hq-e, interval: 60, secret: s-hq-e-hvac }
  - { id: hq-e-ops, kind: electricity, building: hq, system: department, department: ops, parent: hq-e, interval: 60, secret: s-hq-e-ops }
vehicles:
  - { id: car1, plate: 川A·00001, department: ops, type: sedan, energy: gasoline, seats: 5, ratedConsumption: 8, interval: 10, secret: s-car1, purchase: { price: 146000, date: 2020-01-01, lifeYears: 5 }, insurance: 3650 }
  - { id: car2, plate: 川A·00002, department: ops, type: sedan, energy: gasoline, seats: 5, ratedConsumption: 8, interval: 10, secret: s-car2, purchase: { price: 73040, date: 2026-01-01, lifeYears: 10 }, insurance: 3650 }
rooms:
  - { id: room1, building: hq, floor: 2, type: meeting, capacity: 10, area: 50, department: ops, name: { zh: 一号会议室, en: Room 1 } }
sensors:
  - { id: sen1, room: room1, measures: [occupancy, temperature, co2, hvac], interval: 60, secret: s-sen1 }
tariffs:
  electricity: { prices: { flat: 1.0 } }
  gasoline: { price: 10 }
`;

const loaded = loadFacility(FACILITY_YAML, 'mini.yaml');
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const facility: Facility = loaded.facility;

const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

let app: FastifyInstance;
let state: DuckDbManagementState;
/** The app's clock: moved by the tests (feedback is stamped with it). */
let clock = DAY + 10.5 * HOUR;
let viewer = '';

function points(): Point[] {
  const maker = new PointMaker(facility);
  const out: Point[] = [];
  // Readings every minute from 00:00 to 24:00: hq-e 10 kWh/h (240 a day), the HVAC sub-meter
  // 1.5 kWh/h (36), ops's meter 2.5 kWh/h (60).
  for (const [id, rate] of [
    ['hq-e', 10],
    ['hq-e-hvac', 1.5],
    ['hq-e-ops', 2.5],
  ] as const) {
    const readings = [];
    for (let m = 0; m <= 24 * 60; m++) readings.push({ ts: DAY + m * MINUTE, total: 1000 + (rate * m) / 60 });
    maker.append('meter', id, readings, out);
  }
  // car2 drives 10:00–10:29 (odometer 1000 → 1020 km, fuel counter 100 → 102 L) and stops.
  const fixes = [];
  for (let i = 0; i <= 45; i++) {
    const moving = i < 30;
    fixes.push({
      ts: DAY + 10 * HOUR + i * MINUTE,
      lat: 30.65 + Math.min(i, 29) * 0.002,
      lon: 104.06,
      speed: moving ? 40 : 0,
      ignition: moving,
      odometer: 1000 + (20 * Math.min(i, 29)) / 29,
      fuel: 100 + (2 * Math.min(i, 29)) / 29,
    });
  }
  maker.append('vehicle', 'car2', fixes as never, out);
  // room1 every minute 08:00–18:59: 5 people 09:00–12:00, cooling 09:00–13:00, 24 °C, 700 ppm.
  const samples = [];
  for (let m = 8 * 60; m < 19 * 60; m++) {
    samples.push({
      ts: DAY + m * MINUTE,
      occupancy: m >= 9 * 60 && m < 12 * 60 ? 5 : 0,
      hvac: m >= 9 * 60 && m < 13 * 60 ? 'cool' : 'off',
      temperature: 24,
      co2: 700,
    });
  }
  maker.append('sensor', 'sen1', samples as never, out);
  return out;
}

async function call(options: InjectOptions & { token?: string | null }) {
  const { token = ADMIN, ...rest } = options;
  const headers = { ...(rest.headers ?? {}) } as Record<string, string>;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return app.inject({ ...rest, headers });
}
const get = (url: string, token: string | null = ADMIN) => call({ method: 'GET', url, token });
const json = <T>(response: { json(): unknown }) => response.json() as T;

beforeAll(async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-management-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  const store = new RollingStore({ store: inner, facility });
  await store.start();
  teardown.push(() => store.stop());
  const deadLetters = new DuckDbDeadLetterSink({ database: inner });
  await deadLetters.start();
  teardown.push(() => deadLetters.stop());
  state = new DuckDbManagementState({
    database: inner,
    now: () => clock,
    dayStart: (d) => localDay(d, ZONE),
  });
  await state.start();
  teardown.push(() => state.stop());
  await store.write(points());

  app = buildApp({
    version: '0.0.0-test',
    facility,
    store,
    deadLetters,
    data: folder,
    adminToken: ADMIN,
    management: state,
    rateLimit: false,
    now: () => clock,
    feedbackLimits: { perAddress: { max: 10, windowMs: HOUR }, perSubject: { max: 1000, windowMs: HOUR } },
  });
  teardown.push(() => app.close());
  await app.ready();
  viewer = json<{ token: string }>(
    await call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'screen', role: 'viewer' } }),
  ).token;

  // The ledger: tyres of car2 (400) and cleaning of room1 (8), both on 2026-11-02.
  for (const body of [
    {
      item: 'tyres',
      subjectKind: 'vehicle',
      subject: '川A·00002',
      amountCny: 400,
      date: '2026-11-02',
      note: '轮胎',
    },
    { item: 'cleaning', subjectKind: 'room', subject: 'room1', amountCny: 8, date: '2026-11-02' },
  ]) {
    const response = await call({ method: 'POST', url: '/api/v1/costs', payload: body });
    expect(response.statusCode, response.body).toBe(201);
  }
  // Two answers about room1 at 10:30, from two browsers: 2 (too cold, with markup) and 4.
  for (const [cookie, body] of [
    [
      'sfp_fb=browserAAAAAAAAAAAAAAAA',
      { room: 'room1', score: 2, categories: ['too-cold'], comment: '<script>alert("x")</script>太冷' },
    ],
    ['sfp_fb=browserBBBBBBBBBBBBBBBB', { room: 'room1', score: 4 }],
  ] as const) {
    const response = await call({
      method: 'POST',
      url: '/api/v1/feedback',
      payload: body,
      headers: { cookie },
      token: null,
    });
    expect(response.statusCode, response.body).toBe(201);
  }
  // From here on the month is over.
  clock = Date.parse('2026-12-05T00:00:00+08:00');
});

describe('cost indicators', () => {
  it('vehicle costs of 2026-11-02: car2 450 (20 depreciation + 10 insurance + 400 tyres + 20 fuel), 22.5 per km', async () => {
    const response = await get('/api/v1/costs/vehicles?from=2026-11-02&to=2026-11-03');
    expect(response.statusCode, response.body).toBe(200);
    const body = json<{ items: Record<string, unknown>[]; fleet: Record<string, unknown> }>(response);
    const car2 = body.items.find((c) => c.id === 'car2');
    // fuel: 2 L × 10 CNY = 20; distance: odometer 1020 − 1000 = 20 km; one trip on one working day
    expect(car2).toMatchObject({
      depreciationCny: 20,
      insuranceCny: 10,
      maintenanceCny: 400,
      fuelCny: 20,
      totalCny: 450,
      distanceKm: 20,
      trips: 1,
      workingDaysInUse: 1,
      perKm: 22.5,
      perTrip: 450,
      perWorkingDayInUse: 450,
    });
    // car1: its life is over (no depreciation), insurance 10, no telemetry: fuel unknown, not 0
    const car1 = body.items.find((c) => c.id === 'car1');
    expect(car1).toMatchObject({
      depreciationCny: 0,
      insuranceCny: 10,
      fuelCny: null,
      totalCny: 10,
      perKm: null,
    });
    expect(car1?.nulls).toMatchObject({ fuelCny: 'no-data', perKm: 'no-distance' });
    // fleet: 460 over 20 km = 23 per km
    expect(body.fleet).toMatchObject({ totalCny: 460, distanceKm: 20, perKm: 23 });
  });

  it('the lifecycle of car1: depreciated in full, insurance 25,280 to date, replace: life exceeded', async () => {
    const response = await get('/api/v1/vehicles/car1/lifecycle');
    expect(response.statusCode, response.body).toBe(200);
    const body = json<{
      years: { year: number }[];
      cumulative: Record<string, number>;
      bookValueCny: number;
      replacement: { replace: boolean; reasons: string[]; lifeEndsOn: string };
    }>(response);
    expect(body.years.map((y) => y.year)).toEqual([2020, 2021, 2022, 2023, 2024, 2025, 2026]);
    // 146,000 written down to 0 by 2025-01-01
    expect(body.cumulative.depreciationCny).toBe(146_000);
    expect(body.bookValueCny).toBe(0);
    // 6 whole years × 3,650 + 2026-01-01 .. 12-05 (338 of 365 days: 3,380) = 25,280
    expect(body.cumulative.insuranceCny).toBeCloseTo(25_280, 2);
    expect(body.replacement).toMatchObject({
      replace: true,
      reasons: ['life-exceeded'],
      lifeEndsOn: '2025-01-01',
    });
  });

  it('space cost of room1 on 2026-11-02: 30 CNY, 10 per occupied hour, 20 for its empty hours', async () => {
    const response = await get('/api/v1/costs/space?from=2026-11-02&to=2026-11-03&groupBy=room');
    expect(response.statusCode, response.body).toBe(200);
    const room = json<{ items: Record<string, unknown>[] }>(response).items[0];
    // energy: 240 kWh × 1.0 × 50/1000 m² = 12; fee: 0.1 × 50 = 5; depreciation: 100 × 50/1000 = 5;
    // ledger: cleaning 8 → 30. A year: 30 × 365 = 10,950 → 219 per m², 1,095 per seat.
    expect(room).toMatchObject({
      energyCostCny: 12,
      propertyFeeCny: 5,
      depreciationCny: 5,
      ledgerCny: 8,
      totalCny: 30,
      perM2Year: 219,
      perWorkstationYear: 1095,
    });
    // occupied 09:00–12:00 = 3 h → 30 / 3 = 10 per hour; working 9 h, empty 6 h → 30 × 6/9 = 20;
    // cooled with nobody there 12:00–13:00 = 1 h × 50 m² × (36 CNY HVAC ÷ 1,000 m² ÷ 9 h = 0.004) = 0.2
    expect(room).toMatchObject({
      occupiedHours: 3,
      workingHours: 9,
      emptyWorkingHours: 6,
      conditionedEmptyHours: 1,
      costPerOccupiedHour: 10,
      emptyHoursCostCny: 20,
      conditionedEmptyCostCny: 0.2,
    });
  });

  it('budgets of ops for 2026 as of 2026-12-05 (338 of 365 days)', async () => {
    const response = await get('/api/v1/budgets?year=2026&department=ops');
    expect(response.statusCode, response.body).toBe(200);
    const lines = json<{ items: { items: Record<string, unknown>[] }[] }>(response).items[0]?.items ?? [];
    const line = (item: string) => lines.find((l) => l.item === item) as Record<string, number | string>;
    // electricity: own 60 kWh + half of the common 240 − 60 = 180 → 150 CNY; expected 3,650 × 338/365 = 3,380;
    // measured on 1 of 338 days: the engine states its coverage as 0.30 % (1/338 = 0.2959 %, to two
    // decimals), so covered time = 338 days × 0.30 % = 1.014 days → 150 × 365 / 1.014 = 53,994.08 a
    // year (54,750 with the unrounded coverage): at risk
    expect(line('electricity')).toMatchObject({
      budget: 3650,
      expectedToDate: 3380,
      actual: 150,
      coverage: 0.3,
      status: 'at-risk',
    });
    expect(line('electricity').projectedYearEnd as number).toBeCloseTo(53_994.08, 1);
    // maintenance: tyres 400 at its run-rate: 400 × 365 / 338 = 431.95
    expect(line('vehicleMaintenance')).toMatchObject({
      actual: 400,
      projectedYearEnd: 431.95,
      status: 'on-track',
    });
    // property: 500 m² (own 400 + common 100) × 36.5 = 18,250 a year; to date × 338/365 = 16,900;
    // + cleaning 8 → 16,908; projected 18,250 + 8 × 365/338 = 18,258.64
    expect(line('property')).toMatchObject({
      actual: 16_908,
      projectedYearEnd: 18_258.64,
      status: 'on-track',
    });
  });
});

describe('feedback', () => {
  it('one answer per browser, subject and day: the same browser again is a 409, nothing stored twice', async () => {
    clock = DAY + 11 * HOUR;
    const again = await call({
      method: 'POST',
      url: '/api/v1/feedback',
      payload: { room: 'room1', score: 1 },
      headers: { cookie: 'sfp_fb=browserAAAAAAAAAAAAAAAA' },
      token: null,
    });
    clock = Date.parse('2026-12-05T00:00:00+08:00');
    expect(again.statusCode).toBe(409);
    expect(json<{ error: { code: string } }>(again).error.code).toBe('ALREADY_ANSWERED');
    expect(await state.listFeedback(DAY, DAY + 86_400_000)).toHaveLength(2);
  });

  it('sums up room1 with the temperature and CO2 the sensor measured at the complaint', async () => {
    const response = await get('/api/v1/feedback/summary?from=2026-11-01&to=2026-12-01&groupBy=room');
    expect(response.statusCode, response.body).toBe(200);
    const room = json<{ items: Record<string, unknown>[] }>(response).items.find((g) => g.id === 'room1');
    // (2 + 4) / 2 = 3; the "too cold" came at 10:30, when the room was at 24 °C and 700 ppm
    expect(room).toMatchObject({
      count: 2,
      meanScore: 3,
      distribution: { '1': 0, '2': 1, '3': 0, '4': 1, '5': 0 },
    });
    expect(room?.comfort).toEqual({
      'too-cold': {
        count: 1,
        measured: 1,
        meanTemperatureC: 24,
        minTemperatureC: 24,
        maxTemperatureC: 24,
        meanCo2Ppm: 700,
        maxCo2Ppm: 700,
      },
    });
    expect(room?.complaints).toEqual([
      expect.objectContaining({ temperatureC: 24, co2Ppm: 700, categories: ['too-cold'] }),
    ]);
    // the comment as written, for the reader to escape
    expect(room?.comments).toEqual([expect.objectContaining({ comment: '<script>alert("x")</script>太冷' })]);
  });

  it('serves the public page in Chinese with a browser cookie, a QR code and a sheet', async () => {
    const page = await get('/feedback/room1', null);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('满意度评价');
    expect(page.body).toContain('一号会议室');
    expect(String(page.headers['set-cookie'])).toMatch(/^sfp_fb=[A-Za-z0-9_-]{16,}; Path=\/; .*HttpOnly/);
    const qr = await get('/api/v1/feedback/qr?room=room1');
    expect(qr.statusCode).toBe(200);
    expect(qr.headers['content-type']).toContain('image/svg+xml');
    expect(qr.body).toContain('一号会议室');
    const sheet = await get('/api/v1/feedback/qr/sheet');
    expect(sheet.body.match(/<svg xmlns/g)?.length).toBe(1 + 4); // room1 and the four default services
  });
});

describe('the public feedback endpoint under abuse', () => {
  it('a flood from one address: 10 stored, the rest 429, the API unaffected', async () => {
    const before = (await state.listFeedback(0, Number.MAX_SAFE_INTEGER)).length;
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/feedback',
        payload: { service: 'canteen', score: 5 },
        remoteAddress: '203.0.113.9',
      });
      statuses.push(response.statusCode);
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    expect((await state.listFeedback(0, Number.MAX_SAFE_INTEGER)).length).toBe(before + 10);
    expect((await get('/api/v1/health', null)).statusCode).toBe(200);
    expect((await get('/api/v1/costs?from=2026-11-01&to=2026-12-01')).statusCode).toBe(200);
    // another address still answers
    const other = await app.inject({
      method: 'POST',
      url: '/api/v1/feedback',
      payload: { service: 'canteen', score: 4 },
      remoteAddress: '198.51.100.7',
    });
    expect(other.statusCode).toBe(201);
  });

  it.each([
    ['an oversize body', { room: 'room1', score: 3, comment: 'x'.repeat(10_000) }, 413, 'body'],
    ['a comment over 500 characters', { room: 'room1', score: 3, comment: '长'.repeat(501) }, 400, 'comment'],
    ['an unknown room', { room: 'nope', score: 3 }, 404, 'room'],
    ['an unknown service', { service: 'spa', score: 3 }, 404, 'service'],
    ['a room and a service', { room: 'room1', service: 'canteen', score: 3 }, 400, 'service'],
    ['a score of 6', { room: 'room1', score: 6 }, 400, 'score'],
    ['an unknown category', { room: 'room1', score: 3, categories: ['smelly'] }, 400, 'categories'],
  ])('refuses %s with a clear error', async (_name, payload, status, parameter) => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/feedback',
      payload,
      remoteAddress: '192.0.2.44',
    });
    expect(response.statusCode, response.body).toBe(status);
    const { error } = json<{ error: { code: string; message: string; parameter?: string } }>(response);
    expect(error.parameter).toBe(parameter);
    expect(error.message.length).toBeGreaterThan(5);
  });

  it('answers an unknown code’s page with a 404 page', async () => {
    const page = await get('/feedback/%3Cscript%3E', null);
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('未找到');
    expect(page.body).not.toContain('<script>');
  });
});

describe('the ledger', () => {
  it('refuses bad entries naming the field, and viewers', async () => {
    const cases = [
      [
        { item: 'tyres', subjectKind: 'vehicle', subject: 'car9', amountCny: 1, date: '2026-11-02' },
        'subject',
      ],
      [
        { item: 'tyres', subjectKind: 'vehicle', subject: 'car1', amountCny: 1.234, date: '2026-11-02' },
        'amountCny',
      ],
      [{ item: 'tyres', subjectKind: 'vehicle', subject: 'car1', amountCny: 10, date: '2027-01-01' }, 'date'],
      [{ item: 'tyres', subjectKind: 'vehicle', subject: 'car1', amountCny: 10, date: '2026-02-30' }, 'date'],
    ] as const;
    for (const [payload, parameter] of cases) {
      const response = await call({ method: 'POST', url: '/api/v1/costs', payload });
      expect(response.statusCode, response.body).toBe(400);
      expect(json<{ error: { parameter: string } }>(response).error.parameter).toBe(parameter);
    }
    const asViewer = await call({
      method: 'POST',
      url: '/api/v1/costs',
      payload: cases[0][0],
      token: viewer,
    });
    expect(asViewer.statusCode).toBe(403);
  });

  it('imports a GBK file with Chinese headers, all rows or none, every bad row with its line', async () => {
    const bad = iconv.encode(
      '日期,费用项目,对象类型,对象,金额（元）,备注\n2026/11/3,维修,车辆,川A·00001,"1,200.00",刹车\n2026-11-04,轮胎,车辆,川A·99999,300,\n2026-11-05,保洁,楼宇,hq,-5,\n',
      'gbk',
    );
    const refused = await call({
      method: 'POST',
      url: '/api/v1/costs/import',
      payload: bad,
      headers: { 'content-type': 'text/csv' },
    });
    expect(refused.statusCode, refused.body).toBe(400);
    const message = json<{ error: { message: string } }>(refused).error.message;
    expect(message).toContain('line 3, 对象: no vehicle "川A·99999"');
    expect(message).toContain('line 4, 金额（元）');
    const listed = json<{ error: { problems: { line: number; column?: string }[] } }>(refused).error.problems;
    expect(listed.map((p) => [p.line, p.column])).toEqual([
      [3, '对象'],
      [4, '金额（元）'],
    ]);
    const before = await state.listCosts({});
    // 25 bad rows: the message names the first 20, `problems` every one (lines 2–26); nothing stored.
    const many = await call({
      method: 'POST',
      url: '/api/v1/costs/import',
      payload: `date,item,subjectKind,subject,amount\n${'2026-11-03,repair,building,hq,abc\n'.repeat(25)}`,
      headers: { 'content-type': 'text/csv' },
    });
    expect(many.statusCode, many.body).toBe(400);
    const all = json<{ error: { message: string; problems: { line: number }[] } }>(many).error;
    expect(all.message).toMatch(/^body: 25 problem\(s\), nothing imported: /);
    expect(all.message).toContain('(all in problems)');
    expect(all.problems.map((p) => p.line)).toEqual(Array.from({ length: 25 }, (_, i) => i + 2));
    expect((await state.listCosts({})).length).toBe(before.length);
    const good = iconv.encode(
      '日期,费用项目,对象类型,对象,金额（元）,备注\n2026/11/3,维修,车辆,川A·00001,"1,200.00",刹车\n2026年11月4日,保洁,楼宇,办公楼,300,\n',
      'gbk',
    );
    const response = await call({
      method: 'POST',
      url: '/api/v1/costs/import',
      payload: good,
      headers: { 'content-type': 'text/csv' },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(json(response)).toMatchObject({
      imported: 2,
      alreadyImported: 0,
      totalCny: 1500,
      encoding: 'gbk',
    });
    expect((await state.listCosts({})).length).toBe(before.length + 2);
    // The same file again, saved as UTF-8 with CRLF: the same rows, stored once.
    const again = await call({
      method: 'POST',
      url: '/api/v1/costs/import',
      payload: iconv.decode(good, 'gbk').replace(/\n/g, '\r\n'),
      headers: { 'content-type': 'text/csv' },
    });
    expect(again.statusCode, again.body).toBe(201);
    expect(json(again)).toMatchObject({ imported: 0, alreadyImported: 2, totalCny: 0, encoding: 'utf-8' });
    expect((await state.listCosts({})).length).toBe(before.length + 2);
    // take them out again, with audit entries, so the figures above stay as worked out
    for (const id of json<{ ids: number[] }>(response).ids) {
      expect((await call({ method: 'DELETE', url: `/api/v1/costs/${id}` })).statusCode).toBe(204);
    }
    expect((await call({ method: 'DELETE', url: '/api/v1/costs/99999' })).statusCode).toBe(404);
    const audit = json<{ items: { action: string }[] }>(await get('/api/v1/audit?limit=10')).items.map(
      (a) => a.action,
    );
    expect(audit.slice(0, 4)).toEqual(['cost.delete', 'cost.delete', 'cost.import', 'cost.import']);
  });
});

describe('department tokens', () => {
  it('see their own department only', async () => {
    const finance = json<{ token: string }>(
      await call({
        method: 'POST',
        url: '/api/v1/tokens',
        payload: { name: '财务处', role: 'operator', department: 'fin' },
      }),
    ).token;
    const card = json<{ items: { department: string; rank: number }[] }>(
      await get('/api/v1/scorecard?month=2026-11', finance),
    );
    expect(card.items).toEqual([expect.objectContaining({ department: 'fin', rank: 2 })]);
    expect(
      (await get('/api/v1/costs/space?from=2026-11-02&to=2026-11-03&groupBy=building', finance)).statusCode,
    ).toBe(403);
    expect((await get('/api/v1/budgets?year=2026&department=ops', finance)).statusCode).toBe(403);
    // ops's car and room are not fin's: its ledger list is empty
    expect(
      json<{ items: unknown[] }>(await get('/api/v1/costs?from=2026-11-01&to=2026-12-01', finance)).items,
    ).toEqual([]);
    expect((await get('/api/v1/vehicles/car1/lifecycle', finance)).statusCode).toBe(403);
    // entering costs is site-wide
    const post = await call({
      method: 'POST',
      url: '/api/v1/costs',
      token: finance,
      payload: { item: 'other', subjectKind: 'department', subject: 'fin', amountCny: 1, date: '2026-11-02' },
    });
    expect(post.statusCode).toBe(403);
    expect((await get('/api/v1/reports/monthly?month=2026-11', finance)).statusCode).toBe(403);
  });
});

describe('the scorecard and the monthly report', () => {
  it('scores ops and fin for November 2026', async () => {
    const response = await get('/api/v1/scorecard?month=2026-11');
    expect(response.statusCode, response.body).toBe(200);
    type Perspective = {
      score: number | null;
      indicators: { id: string; value: number | null; target: number | null; score: number | null }[];
    };
    const items = json<{
      items: {
        department: string;
        perspectives: Record<string, Perspective>;
        total: number | null;
        rank: number | null;
        previousTotal: number | null;
      }[];
    }>(response).items;
    const ops = items.find((i) => i.department === 'ops');
    const indicator = (p: string, id: string) => ops?.perspectives[p]?.indicators.find((x) => x.id === id);
    // energy: 150 CNY ÷ 10 people = 15; target: 3,650 × 30/365 ÷ 10 = 30 → 100
    expect(indicator('cost', 'energyCostPerCapita')).toMatchObject({ value: 15, target: 30, score: 100 });
    // cars: fuel 20 + tyres 400 = 420 ÷ 10 = 42; target (1,825 + 3,650) × 30/365 ÷ 10 = 45 → 100
    expect(indicator('cost', 'vehicleCostPerCapita')).toMatchObject({ value: 42, target: 45, score: 100 });
    // off-hours: a constant rate, 15 of 24 hours outside 09:00–18:00 = 62.5 % ≥ 60 → 0
    expect(indicator('process', 'offHoursShare')).toMatchObject({ value: 62.5, score: 0 });
    // 1 h cooled while empty in its one room: ≤ 5 → 100
    expect(indicator('process', 'conditionedEmptyHours')).toMatchObject({ value: 1, score: 100 });
    // mean score 3 (target 4.5, 0 at 2.5) → 25; 2 answers of 20 → 10
    expect(indicator('service', 'satisfactionScore')).toMatchObject({ value: 3, score: 25 });
    expect(indicator('service', 'feedbackAnswers')).toMatchObject({ value: 2, score: 10 });
    // no alert store wired: null with its reason
    expect(indicator('improvement', 'alertsAckInTime')).toMatchObject({
      value: null,
      score: null,
      nulls: { value: 'no-alert-store' },
    });
    // cost (100 + 100)/2 = 100; process (0 + 100 + 0)/3 = 33.33 (no quota: its weight goes to the others;
    // the cars' utilisation, 0.5 h of 189 working hours, is under 5 % → 0); service (25 × 2 + 10)/3 = 20;
    // improvement: none → left out; total (100 + 33.33 + 20)/3 = 51.11
    expect(ops?.perspectives.process?.score).toBeCloseTo(33.3333, 3);
    expect(ops?.perspectives.service?.score).toBeCloseTo(20, 6);
    expect(ops?.total).toBeCloseTo(51.1111, 3);
    expect(ops?.rank).toBe(1);
    const fin = items.find((i) => i.department === 'fin');
    // fin: no budget, no car → cost null; off-hours 0; no room, no answers → 0: total 0, rank 2
    expect(fin?.total).toBe(0);
    expect(fin?.rank).toBe(2);
  });

  it('writes the .xlsx whose figures are the API’s', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/reports/monthly?month=2026-11',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        accept: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      },
    });
    expect(response.statusCode).toBe(200);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(response.rawPayload as never);
    expect(book.worksheets.map((s) => s.name)).toEqual(Object.values(SHEETS));
    const card = json<{
      items: {
        department: string;
        total: number | null;
        perspectives: Record<
          string,
          { score: number | null; indicators: { id: string; value: number | null }[] }
        >;
      }[];
    }>(await get('/api/v1/scorecard?month=2026-11')).items;
    const summary = book.getWorksheet(SHEETS.summary) as ExcelJS.Worksheet;
    const header = (summary.getRow(1).values as unknown[]).slice(1);
    expect(header).toContain('总分 Total (0–100)');
    const totalColumn = header.indexOf('总分 Total (0–100)') + 1;
    for (const item of card) {
      let row: ExcelJS.Row | undefined;
      summary.eachRow((r) => {
        if (r.getCell(3).value === item.department) row = r;
      });
      const cell = row?.getCell(totalColumn).value;
      expect(typeof cell).toBe('number');
      expect(cell).toBeCloseTo(item.total as number, 2);
    }
    // the cost sheet: energy cost per person as a number with its unit in the header
    const cost = book.getWorksheet(SHEETS.cost) as ExcelJS.Worksheet;
    const costHeader = (cost.getRow(1).values as unknown[]).slice(1) as string[];
    const column = costHeader.indexOf('人均能源费用 Energy cost per person (CNY/person)') + 1;
    expect(column).toBeGreaterThan(0);
    const opsRow = cost.getRow(2).getCell(2).value === 'ops' ? cost.getRow(2) : cost.getRow(3);
    expect(opsRow.getCell(column).value).toBe(
      card.find((i) => i.department === 'ops')?.perspectives.cost?.indicators[0]?.value,
    );
  });

  it('renders the HTML report in headless Chromium (screenshot in tests/artifacts/), comments escaped', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/reports/monthly?month=2026-11',
      headers: { authorization: `Bearer ${ADMIN}`, accept: 'text/html' },
    });
    expect(response.statusCode).toBe(200);
    const html = response.body;
    expect(html).toContain('成本效益分析月报');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;太冷');
    const artifacts = join(import.meta.dirname, '..', 'artifacts');
    await mkdir(artifacts, { recursive: true });
    await writeFile(join(artifacts, 'monthly-report.html'), html);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 794, height: 1123 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.setContent(html, { waitUntil: 'load' });
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain(
        '成本效益分析月报',
      );
      expect(await page.locator('h2').count()).toBe(8);
      expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(2);
      await expect(page.getByText('运行处').first().isVisible()).resolves.toBe(true);
      await page.screenshot({ path: join(artifacts, 'monthly-report.png'), fullPage: true });
      const pdf = await page.pdf({ format: 'A4' });
      expect(pdf.subarray(0, 4).toString()).toBe('%PDF');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
