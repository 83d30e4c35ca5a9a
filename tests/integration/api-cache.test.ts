/**
 * Answers that scale with operators (issue 10): identical requests over closed periods come from
 * the cache until a write touches their period; over a period reaching past now, for 5 s whatever
 * arrives; identical requests in flight are computed once; every answer has an ETag and
 * `If-None-Match` gives a 304. Over a real DuckDB store, its rollups
 * folded as points are written, the app built as `facility start` builds it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import { loadFacility } from '../../core/facility/load.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const ADMIN = 'admin-token-for-the-cache-test';
const MIN = 60_000;
/** Monday 2026-11-02 in Chengdu; the clock stands at Friday noon of that week. */
const MONDAY = Date.parse('2026-11-02T00:00:00+08:00');
const NOW = Date.parse('2026-11-06T12:00:00+08:00');

const YAML = `
version: 1
site: { id: t, name: { zh: 测试, en: Test }, timezone: Asia/Shanghai, location: { lat: 30.6, lon: 104.0 }, climateZone: hot-summer-cold-winter }
calendar: { workdays: [mon, tue, wed, thu, fri], workingHours: "09:00-18:00" }
buildings:
  - { id: b1, name: { zh: 一号楼, en: B1 }, use: office, floorArea: 1000, floors: 3 }
departments:
  - { id: d1, name: { zh: 一处, en: D1 }, headcount: 10, spaces: [{ building: b1, area: 500 }] }
meters:
  - { id: m1, kind: electricity, building: b1, system: total, interval: 60, secret: s }
`;

let folder: string;
let facility: Facility;
let store: RollingStore;
let app: FastifyInstance;
/** The app's clock; a test that moves it puts it back. */
let clock = NOW;

/** One reading a minute of 1 kWh on Monday 08:00–12:00: 240 kWh. */
function readings(from: number, count: number, start = 1000): Point[] {
  return Array.from({ length: count }, (_, i) => ({
    measurement: 'meter' as const,
    tags: { site: 't', meter: 'm1', building: 'b1', kind: 'electricity', system: 'total' },
    fields: { total: start + i },
    time: from + i * MIN,
  }));
}

beforeAll(async () => {
  const loaded = loadFacility(YAML, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  facility = loaded.facility;
  folder = await mkdtemp(join(tmpdir(), 'sfp-cache-'));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  store = new RollingStore({ store: inner, facility });
  await store.start();
  const deadLetters = new DuckDbDeadLetterSink({ database: inner });
  await deadLetters.start();
  await store.write(readings(MONDAY + 8 * 60 * MIN, 241));
  app = buildApp({
    version: 'test',
    facility,
    store,
    deadLetters,
    data: folder,
    adminToken: ADMIN,
    rateLimit: false,
    now: () => clock,
    changes: (listener) => store.subscribe(listener),
  });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await store.stop();
  await rm(folder, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}`, ...headers } });
const kwh = (body: string) =>
  (JSON.parse(body) as { items: { electricityKwh: number }[] }).items[0]?.electricityKwh;

describe('the figures cache', () => {
  const monday = '/api/v1/energy/summary?from=2026-11-02&to=2026-11-03&groupBy=site';

  it('answers a closed period again from the cache, with the same body and ETag', async () => {
    const first = await get(monday);
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-cache']).toBe('miss');
    // 08:00 → 12:00, 240 one-minute steps of 1 kWh.
    expect(kwh(first.body)).toBe(240);
    const second = await get(monday);
    expect(second.headers['x-cache']).toBe('hit');
    expect(second.body).toBe(first.body);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(first.headers.etag).toMatch(/^"/);
    const notModified = await get(monday, { 'if-none-match': String(first.headers.etag) });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
  });

  it('drops an answer when a write touches its period, and keeps the others', async () => {
    const tuesday = '/api/v1/energy/summary?from=2026-11-03&to=2026-11-04&groupBy=site';
    expect((await get(tuesday)).headers['x-cache']).toBe('miss');
    await get(monday);
    // A late gateway flush: Monday 14:00–14:30, going on from 1240 → 30 kWh more on Monday.
    await store.write(readings(MONDAY + 14 * 60 * MIN, 31, 1240));
    const again = await get(monday);
    expect(again.headers['x-cache']).toBe('miss');
    expect(kwh(again.body)).toBe(270);
    // Tuesday ends after the change too (the fold rewrote the meter's rows from Monday on).
    expect((await get(tuesday)).headers['x-cache']).toBe('miss');
    // A period that ended before the change keeps its answer: last Sunday.
    const sunday = '/api/v1/energy/summary?from=2026-11-01&to=2026-11-02&groupBy=site';
    await get(sunday);
    await store.write(readings(MONDAY + 15 * 60 * MIN, 5, 1271));
    expect((await get(sunday)).headers['x-cache']).toBe('hit');
  });

  it('computes identical requests in flight once', async () => {
    const week = '/api/v1/energy/summary?from=2026-11-02&to=2026-11-09&groupBy=building';
    const before = { ...app.responseCache.stats };
    const answers = await Promise.all(Array.from({ length: 6 }, () => get(week)));
    expect(new Set(answers.map((a) => a.statusCode))).toEqual(new Set([200]));
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    // One computed, the five others waited for it.
    expect(app.responseCache.stats.misses - before.misses).toBe(1);
    expect(app.responseCache.stats.coalesced - before.coalesced).toBe(5);
    expect(answers.filter((a) => a.headers['x-cache'] === 'coalesced')).toHaveLength(5);
  });

  it('gives an answer over a period reaching past now again for 5 s whatever arrives, then anew', async () => {
    const thisWeek = '/api/v1/energy/summary?from=2026-11-02&to=2026-11-09&groupBy=site';
    clock = NOW + 3_600_000;
    try {
      const first = await get(thisWeek);
      expect(first.headers['x-cache']).toBe('miss');
      // Friday 12:00–12:10, ten more kWh (going on from Monday's last reading, 1275).
      await store.write(readings(NOW, 11, 1275));
      clock += 4_999;
      const within = await get(thisWeek);
      expect(within.headers['x-cache']).toBe('hit');
      expect(within.body).toBe(first.body);
      clock += 1;
      const after = await get(thisWeek);
      expect(after.headers['x-cache']).toBe('miss');
      expect((kwh(after.body) ?? 0) - (kwh(first.body) ?? 0)).toBeCloseTo(10, 9);
    } finally {
      clock = NOW;
    }
  });

  it('keeps CSV and JSON, and each department scope, apart', async () => {
    const url = '/api/v1/energy/summary?from=2026-11-02&to=2026-11-03&groupBy=department';
    const json = await get(url);
    const csv = await get(url, { accept: 'text/csv' });
    expect(json.headers['content-type']).toMatch(/json/);
    expect(csv.headers['content-type']).toMatch(/csv/);
    expect((await get(url, { accept: 'text/csv' })).headers['content-type']).toMatch(/csv/);
    const token = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: 'd1 viewer', role: 'viewer', department: 'd1' },
    });
    const scoped = await get(url, { authorization: `Bearer ${(token.json() as { token: string }).token}` });
    expect(scoped.statusCode).toBe(200);
    expect(scoped.headers['x-cache']).toBe('miss');
  });

  it('keeps nothing without a change feed (an api run apart from the ingest)', async () => {
    const apart = buildApp({
      version: 'test',
      facility,
      store,
      deadLetters: { list: async () => [] },
      data: folder,
      adminToken: ADMIN,
      rateLimit: false,
      now: () => NOW,
    });
    await apart.ready();
    try {
      const ask = () =>
        apart.inject({ method: 'GET', url: monday, headers: { authorization: `Bearer ${ADMIN}` } });
      expect((await ask()).headers['x-cache']).toBe('miss');
      expect((await ask()).headers['x-cache']).toBe('miss');
      // A period reaching past now is given again for 5 s all the same: that needs no feed.
      const open = () =>
        apart.inject({
          method: 'GET',
          url: '/api/v1/energy/summary?from=2026-11-06&to=2026-11-07&groupBy=site',
          headers: { authorization: `Bearer ${ADMIN}` },
        });
      expect((await open()).headers['x-cache']).toBe('miss');
      expect((await open()).headers['x-cache']).toBe('hit');
    } finally {
      await apart.close();
    }
  });
});
