/**
 * No answer of the store can make an energy endpoint fail or print a number that is not one.
 *
 * The API runs on a real DuckDB store whose meter data (core/kpi/data.ts `meterIntervals`) is
 * replaced, scenario by scenario, by one that answers what a broken meter might let through (nothing,
 * no coverage, 1e300, 1.797e308, −1.797e308, NaN, Infinity), while two official cars hold fuel
 * counters of 1e300 and 1.797e308 in the store itself. Every summary grouping (a day, a year, the
 * current month that reaches into the future), the department token's answers, every series scope
 * and the CSV forms must be 200, with finite numbers only, and every null explained in the `nulls`
 * beside it. (Which readings the register rules turn into what is the register's business.)
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../../core/facility/index.ts';
import { rollupData } from '../../core/kpi/data.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { figureProblems } from '../setup/finite-figures.ts';

const ADMIN = 'bootstrap-admin-token-for-extremes';
/** Now: Monday 2026-12-07 12:00 in Chengdu (+08:00). */
const NOW = Date.parse('2026-12-07T12:00:00+08:00');

const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
if (!loaded.ok) throw new Error('the demo facility does not load');
const facility: Facility = loaded.facility;

/** Per interval `i` of `span` ms: [consumption, covered ms]; null: no series for the meter. */
type Scenario = ((i: number, span: number) => readonly [number, number]) | null;

const SCENARIOS: Record<string, Scenario> = {
  'no meter answers': null,
  'no coverage, no consumption': () => [0, 0],
  '1e300 in every interval': (_i, span) => [1e300, span],
  '1.797e308 in every interval': (_i, span) => [Number.MAX_VALUE, span],
  '−1.797e308 in every interval': (_i, span) => [-Number.MAX_VALUE, span],
  'NaN consumption and covered time': () => [Number.NaN, Number.NaN],
  'Infinity, and covered time far past the interval': (_i, span) => [Number.POSITIVE_INFINITY, span * 1e6],
};

let scenario: Scenario = null;

const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

let app: FastifyInstance;
let financeToken = '';

beforeAll(async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-api-extremes-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  const store = new RollingStore({ store: inner, facility });
  await store.start();
  teardown.push(() => store.stop());
  const deadLetters = new DuckDbDeadLetterSink({ database: inner });
  await deadLetters.start();
  teardown.push(() => deadLetters.stop());
  // Two cars with counters no real car shows, in the days asked below.
  const fix = (vehicle: string, department: string, iso: string, fuel: number) => ({
    measurement: 'vehicle' as const,
    tags: { site: facility.site.id, vehicle, department },
    fields: { lat: 30.657, lon: 104.066, speed: 0, ignition: false, fuel },
    time: Date.parse(iso),
  });
  await store.write([
    fix('v01', 'service-center', '2026-11-25T08:00:00+08:00', 1),
    fix('v01', 'service-center', '2026-11-25T09:00:00+08:00', 1e300),
    fix('v01', 'service-center', '2026-12-03T09:00:00+08:00', 2e300),
    fix('v13', 'service-center', '2026-11-25T17:00:00+08:00', 5),
    fix('v13', 'service-center', '2026-11-25T18:00:00+08:00', Number.MAX_VALUE),
    fix('v13', 'service-center', '2026-11-25T19:00:00+08:00', 7),
    fix('v13', 'service-center', '2026-11-25T20:00:00+08:00', Number.MAX_VALUE),
  ]);
  const rollups = rollupData({ facility, store, now: () => NOW });
  const kpiData = {
    ...rollups,
    meterIntervals: async (meters: readonly string[], edges: readonly number[]) => {
      const current = scenario;
      if (current === null) return new Map();
      const spans = edges.slice(1).map((end, i) => end - (edges[i] as number));
      return new Map(
        [...meters].sort().map((meter) => {
          const rows = spans.map((span, i) => current(i, span));
          return [meter, { consumption: rows.map((r) => r[0]), coveredMs: rows.map((r) => r[1]) }] as const;
        }),
      );
    },
  };
  app = buildApp({
    version: '0.0.0-test',
    facility,
    store,
    deadLetters,
    data: folder,
    adminToken: ADMIN,
    rateLimit: false,
    now: () => NOW,
    kpiData,
  });
  teardown.push(() => app.close());
  await app.ready();
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/tokens',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { name: '财务处', role: 'viewer', department: 'finance' },
  });
  financeToken = (created.json() as { token: string }).token;
});

const PERIODS = { 'a day': 'from=2026-11-25&to=2026-11-26' };
/** Longer periods take longer: asked in the scenarios most likely to break a sum or a ratio. */
const MONTH = { 'this month, to now': 'from=2026-12-01&to=2027-01-01' };
const YEARS = {
  '2026, not over': 'from=2026-01-01&to=2027-01-01',
  '2025, rated': 'from=2025-01-01&to=2026-01-01',
};
const LONGER: Record<string, object> = {
  'no meter answers': MONTH,
  'NaN consumption and covered time': MONTH,
  '1.797e308 in every interval': { ...MONTH, ...YEARS },
};

async function get(url: string, token = ADMIN, accept?: string) {
  return app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) },
  });
}

async function json(url: string, token = ADMIN) {
  const response = await get(url, token);
  expect(response.statusCode, `${url}: ${response.body.slice(0, 300)}`).toBe(200);
  const body = response.json() as { items: unknown[] };
  expect(figureProblems(body), url).toEqual([]);
  return body;
}

async function csv(url: string, token = ADMIN) {
  const response = await get(url, token, 'text/csv');
  expect(response.statusCode, url).toBe(200);
  expect(response.body).not.toMatch(/NaN|Infinity/);
  expect(response.body.split('\r\n').filter((l) => l !== '').length).toBeGreaterThan(1);
}

describe.each(Object.entries(SCENARIOS))('the store answers: %s', (name, which) => {
  beforeAll(() => {
    scenario = which;
  });

  const periods = Object.entries({ ...PERIODS, ...(LONGER[name] ?? {}) }) as [string, string][];
  it.each(periods)('summaries of %s, every grouping, JSON and CSV', async (_p, period) => {
    for (const groupBy of ['site', 'building', 'department', 'meter', 'system']) {
      const url = `/api/v1/energy/summary?${period}&groupBy=${groupBy}`;
      const body = await json(url);
      expect(body.items.length).toBeGreaterThan(0);
      if (groupBy === 'department' || groupBy === 'site') await csv(url);
    }
  });

  it('a department token’s row and meters', async () => {
    for (const groupBy of ['department', 'meter']) {
      const url = `/api/v1/energy/summary?${PERIODS['a day']}&groupBy=${groupBy}`;
      const body = await json(url, financeToken);
      expect(body.items.length).toBeGreaterThan(0);
      await csv(url, financeToken);
    }
  });

  it('series of every scope and kind, JSON and CSV', async () => {
    for (const [scope, id] of [
      ['site', 'cd-compound'],
      ['building', 'b4'],
      ['department', 'service-center'],
      ['meter', 'b4-g-boiler'],
    ]) {
      for (const kind of ['electricity', 'water', 'gas']) {
        if (scope === 'meter' && kind !== 'gas') continue;
        const url = `/api/v1/energy/series?scope=${scope}&id=${id}&kind=${kind}&every=1h&${PERIODS['a day']}`;
        const body = await json(url);
        expect(body.items).toHaveLength(24);
        await csv(url);
      }
    }
    await json(`/api/v1/energy/series?scope=site&every=1d&${MONTH['this month, to now']}`);
  });

  it('vehicle utilisation with those counters', async () => {
    const url = `/api/v1/vehicles/utilization?${PERIODS['a day']}`;
    const response = await get(url);
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toMatch(/NaN|Infinity/);
    await csv(url);
  });
});
