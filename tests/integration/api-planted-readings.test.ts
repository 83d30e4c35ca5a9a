/**
 * Readings a broken meter or a bad import plants in the store (issue "Figures an operator can
 * sign"): a stray 0, a 999999, 1.797e308, a water register stepping back 0.01 m³, and a lasting
 * jump far beyond the meter's maxRate. They are written straight into a real DuckDB store through
 * the rolling store (as an import or an older version would have left them, past the decoder that
 * refuses totals above registerMax), and the real API answers.
 *
 * The day, worked by hand: Thursday 2026-12-03 (+08:00), 00:00 to the next midnight. Each building
 * main electricity meter reads every minute (its interval, 60 s) from 10,000 kWh up by 0.5 kWh a
 * minute, readings at minutes 0…1440: 1,440 minutes × 0.5 = 720 kWh for the day. The B1 water main
 * reads every 5 minutes (its interval, 300 s) from 500 m³ up by 0.1 m³, readings 0…288:
 * 288 × 0.1 = 28.8 m³. Then, planted:
 *
 * - b1-e-main: 0 at 10:00:30 — a drop, and the next reading is back on the trend: an outlier, left
 *   out; the day stays 720 kWh.
 * - b2-e-main: 999,999 at 11:00:30 — a spike, then back: an outlier; 720 kWh.
 * - b3-e-main: 1.797e308 at 12:00:30 — the same; 720 kWh.
 * - b1-w-main: the 10:00 reading replaced by the 09:55 one less 0.01 m³ — a step back within the
 *   meter's resolution (0.05): jitter, counts 0, and 10:05 goes on from 09:55's level: the step
 *   09:55 → 10:05 is 0.2 m³; the day stays 28.8 m³.
 * - b4-e-main: every reading from 15:00 on 50,000 kWh higher — a rise of 50,000.5 kWh in a minute,
 *   3,000,030 kW against maxRate 10,000 kW, that lasts: counted and flagged. The day:
 *   720 + 50,000 = 50,720 kWh, quality `degraded`.
 *
 * Then every summary grouping for the day, the month so far and the year, the series of every
 * scope, the CSV forms and a department token's answers are 200 with finite figures, and the
 * outliers are listed with the rejections.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import { outlierEntries } from '../../core/dead-letter.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../../core/facility/index.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { figureProblems } from '../setup/finite-figures.ts';
import { until } from '../setup/wait.ts';

const ADMIN = 'bootstrap-admin-token-for-planted-readings';
/** Now: Monday 2026-12-07 12:00 in Chengdu. */
const NOW = Date.parse('2026-12-07T12:00:00+08:00');
const DAY_START = Date.parse('2026-12-03T00:00:00+08:00');
const MINUTE = 60_000;
const at = (hhmmss: string) => Date.parse(`2026-12-03T${hhmmss}+08:00`);

const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
if (!loaded.ok) throw new Error('the demo facility does not load');
const facility: Facility = loaded.facility;
const site = facility.site.id;

function reading(meter: string, time: number, total: number): Point {
  const m = facility.meters.find((x) => x.id === meter);
  if (!m) throw new Error(`no meter ${meter}`);
  return {
    measurement: 'meter',
    tags: {
      site,
      building: m.building,
      ...(m.department ? { department: m.department } : {}),
      meter,
      kind: m.kind,
      ...(m.system ? { system: m.system } : {}),
    },
    fields: { total },
    time,
  };
}

const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

let app: FastifyInstance;
let financeToken = '';

beforeAll(async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-planted-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  const deadLetters = new DuckDbDeadLetterSink({ database: inner });
  const store = new RollingStore({
    store: inner,
    facility,
    onOutliers: (outliers) => void deadLetters.add(outlierEntries(site, outliers, NOW)),
  });
  await store.start();
  teardown.push(() => store.stop());
  await deadLetters.start();
  teardown.push(() => deadLetters.stop());

  const points: Point[] = [];
  for (const meter of ['b1-e-main', 'b2-e-main', 'b3-e-main', 'b4-e-main']) {
    for (let k = 0; k <= 1440; k++) {
      const time = DAY_START + k * MINUTE;
      const jump = meter === 'b4-e-main' && time >= at('15:00:00') ? 50_000 : 0;
      points.push(reading(meter, time, 10_000 + 0.5 * k + jump));
    }
  }
  for (let k = 0; k <= 288; k++) {
    const time = DAY_START + k * 5 * MINUTE;
    const total = time === at('10:00:00') ? 500 + 0.1 * (k - 1) - 0.01 : 500 + 0.1 * k;
    points.push(reading('b1-w-main', time, total));
  }
  points.push(reading('b1-e-main', at('10:00:30'), 0));
  points.push(reading('b2-e-main', at('11:00:30'), 999_999));
  points.push(reading('b3-e-main', at('12:00:30'), Number.MAX_VALUE));
  await store.write(points);

  app = buildApp({
    version: '0.0.0-test',
    facility,
    store,
    deadLetters,
    data: folder,
    adminToken: ADMIN,
    rateLimit: false,
    now: () => NOW,
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

async function get(url: string, token = ADMIN, accept?: string) {
  return app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) },
  });
}

interface Item {
  id: string;
  electricityKwh: number | null;
  waterM3: number | null;
  quality: {
    status: string;
    notes: {
      reason: string;
      meter: string;
      readings: number;
      lowersQuality: boolean;
      message: { zh: string; en: string };
    }[];
  };
}

async function json(url: string, token = ADMIN): Promise<{ items: Item[] }> {
  const response = await get(url, token);
  expect(response.statusCode, `${url}: ${response.body.slice(0, 300)}`).toBe(200);
  const body = response.json() as { items: Item[] };
  expect(figureProblems(body), url).toEqual([]);
  return body;
}

async function csv(url: string, token = ADMIN) {
  const response = await get(url, token, 'text/csv');
  expect(response.statusCode, url).toBe(200);
  expect(response.body).not.toMatch(/NaN|Infinity|e\+30[0-9]/);
}

const DAY = 'from=2026-12-03&to=2026-12-04';

describe('readings planted in the store', () => {
  it('leave the outliers and the jitter out, and count the lasting jump (hand-worked figures)', async () => {
    const { items } = await json(`/api/v1/energy/summary?${DAY}&groupBy=meter`);
    const byId = new Map(items.map((i) => [i.id, i]));
    expect(byId.get('b1-e-main')?.electricityKwh).toBeCloseTo(720, 6);
    expect(byId.get('b2-e-main')?.electricityKwh).toBeCloseTo(720, 6);
    expect(byId.get('b3-e-main')?.electricityKwh).toBeCloseTo(720, 6);
    expect(byId.get('b4-e-main')?.electricityKwh).toBeCloseTo(50_720, 6);
    expect(byId.get('b1-w-main')?.waterM3).toBeCloseTo(28.8, 6);
  });

  it('say what they did in each item’s quality', async () => {
    const { items } = await json(`/api/v1/energy/summary?${DAY}&groupBy=building`);
    const byId = new Map(items.map((i) => [i.id, i]));
    // B4: the jump is counted, so its figures are doubtful.
    expect(byId.get('b4')?.quality.status).toBe('degraded');
    expect(byId.get('b4')?.quality.notes).toEqual([
      expect.objectContaining({
        reason: 'rate-exceeded',
        meter: 'b4-e-main',
        readings: 1,
        lowersQuality: true,
      }),
    ]);
    expect(byId.get('b4')?.quality.notes[0]?.message.en).toMatch(/maxRate \(10,000 kW\)/);
    // B1–B3: one outlier each, left out; the figures stand. B1's water jitter is no note at all.
    for (const [building, meter] of [
      ['b1', 'b1-e-main'],
      ['b2', 'b2-e-main'],
      ['b3', 'b3-e-main'],
    ] as const) {
      expect(byId.get(building)?.quality).toEqual({
        status: 'good',
        notes: [
          expect.objectContaining({ reason: 'register-outlier', meter, readings: 1, lowersQuality: false }),
        ],
      });
    }
    // The site holds all four.
    const [siteItem] = (await json(`/api/v1/energy/summary?${DAY}&groupBy=site`)).items;
    expect(siteItem?.quality.status).toBe('degraded');
    expect(siteItem?.quality.notes.map((n) => `${n.meter}:${n.reason}`).sort()).toEqual([
      'b1-e-main:register-outlier',
      'b2-e-main:register-outlier',
      'b3-e-main:register-outlier',
      'b4-e-main:rate-exceeded',
    ]);
    // A day without the plants has nothing to say.
    const [before] = (await json('/api/v1/energy/summary?from=2026-12-02&to=2026-12-03&groupBy=site')).items;
    expect(before?.quality).toEqual({ status: 'good', notes: [] });
  });

  it('are listed with the rejections as register-outlier', async () => {
    const listed = async () => {
      const response = await get('/api/v1/ingest/rejections?limit=50');
      expect(response.statusCode).toBe(200);
      const body = response.json() as { items: { reason: string; device: { id: string } | null }[] };
      return body.items
        .filter((r) => r.reason === 'register-outlier')
        .map((r) => r.device?.id)
        .sort();
    };
    await until(async () => (await listed()).length >= 3, 'three register outliers listed', 10_000);
    expect(await listed()).toEqual(['b1-e-main', 'b2-e-main', 'b3-e-main']);
  });

  it.each([
    ['the day', DAY],
    ['this month, to now', 'from=2026-12-01&to=2027-01-01'],
    ['2026, not over', 'from=2026-01-01&to=2027-01-01'],
  ])('leave every summary of %s 200 and finite, JSON and CSV', async (_name, period) => {
    for (const groupBy of ['site', 'building', 'department', 'meter', 'system']) {
      const url = `/api/v1/energy/summary?${period}&groupBy=${groupBy}`;
      expect((await json(url)).items.length).toBeGreaterThan(0);
      await csv(url);
    }
  });

  it('leave every series 200 and finite, JSON and CSV', async () => {
    for (const [scope, id] of [
      ['site', site],
      ['building', 'b1'],
      ['building', 'b4'],
      ['department', 'finance'],
      ['meter', 'b3-e-main'],
      ['meter', 'b1-w-main'],
    ] as const) {
      for (const every of ['15m', '1h', '1d']) {
        const kind = id === 'b1-w-main' ? 'water' : 'electricity';
        const url = `/api/v1/energy/series?scope=${scope}&id=${id}&kind=${kind}&every=${every}&${DAY}`;
        await json(url);
        await csv(url);
      }
    }
  });

  it('leave a department token’s answers 200 and finite', async () => {
    for (const groupBy of ['department', 'meter']) {
      const url = `/api/v1/energy/summary?${DAY}&groupBy=${groupBy}`;
      await json(url, financeToken);
      await csv(url, financeToken);
    }
    await json(`/api/v1/energy/series?scope=department&id=finance&every=1h&${DAY}`, financeToken);
  });
});
