/**
 * `POST /api/v1/corrections` and `GET /api/v1/corrections` (issue "Figures an operator can sign":
 * deliberate corrections write the point and an audit entry) on a real DuckDB store through the
 * rolling store, as `facility start` builds it.
 *
 * Worked by hand. Meter b1-e-main reads every minute (its interval) on Thursday 2026-12-03
 * (+08:00), from 10,000 kWh at 00:00 up by 0.5 kWh a minute to 10,720 kWh at 24:00: 720 kWh for
 * the day. The 00:00 reading was in truth 9,990 kWh (the meter's own display, say); corrected, the
 * day's consumption is the rise from 9,990 to 10,720 = 730 kWh, and the rollups answering the
 * summary follow without a rebuild.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import type { Facility } from '../../core/facility/index.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { DuckDbCorrectionLog } from '../../storage/duckdb/corrections.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { demoFacility } from '../setup/wait.ts';

const ADMIN = 'bootstrap-admin-token-for-corrections';
const NOW = Date.parse('2026-12-07T12:00:00+08:00');
const DAY_START = Date.parse('2026-12-03T00:00:00+08:00');
const MINUTE = 60_000;
const facility: Facility = demoFacility();
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
let store: RollingStore;
const tokens: Record<'operator' | 'viewer', string> = { operator: '', viewer: '' };

beforeAll(async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-corrections-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  const deadLetters = new DuckDbDeadLetterSink({ database: inner });
  store = new RollingStore({ store: inner, facility });
  await store.start();
  teardown.push(() => store.stop());
  await deadLetters.start();
  teardown.push(() => deadLetters.stop());
  await store.write(
    Array.from({ length: 1441 }, (_, k) => reading('b1-e-main', DAY_START + k * MINUTE, 10_000 + 0.5 * k)),
  );

  app = buildApp({
    version: '0.0.0-test',
    facility,
    store,
    deadLetters,
    corrections: new DuckDbCorrectionLog({ database: inner }),
    data: folder,
    adminToken: ADMIN,
    rateLimit: false,
    now: () => NOW,
    changes: (listener) => store.subscribe(listener),
  });
  teardown.push(() => app.close());
  await app.ready();
  for (const role of ['operator', 'viewer'] as const) {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: `${role} 值班`, role },
    });
    tokens[role] = (created.json() as { token: string }).token;
  }
});

function post(payload: unknown, token = ADMIN) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/corrections',
    headers: { authorization: `Bearer ${token}` },
    payload: payload as Record<string, unknown>,
  });
}

async function dayKwh(): Promise<number | null> {
  const response = await app.inject({
    method: 'GET',
    url: '/api/v1/energy/summary?from=2026-12-03&to=2026-12-04&groupBy=meter',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  expect(response.statusCode, response.body).toBe(200);
  const items = (response.json() as { items: Array<{ id: string; electricityKwh: number | null }> }).items;
  return items.find((item) => item.id === 'b1-e-main')?.electricityKwh ?? null;
}

describe('corrections of stored readings', () => {
  it('writes the corrected reading, keeps the one before in the audit, and the figures follow', async () => {
    expect(await dayKwh()).toBeCloseTo(720, 6);
    const response = await post({
      device: 'b1-e-main',
      time: '2026-12-03T00:00:00+08:00',
      value: 9_990,
      reason: '表计显示 9,990 kWh，采集值有误 / the meter display read 9,990 kWh',
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json()).toMatchObject({
      by: { name: 'bootstrap admin', role: 'admin' },
      device: { kind: 'meter', id: 'b1-e-main' },
      time: '2026-12-03T00:00:00+08:00',
      previous: { total: 10_000 },
      value: { total: 9_990 },
    });
    expect(await dayKwh()).toBeCloseTo(730, 6);

    const listed = await app.inject({
      method: 'GET',
      url: '/api/v1/corrections?device=b1-e-main',
      headers: { authorization: `Bearer ${tokens.viewer}` },
    });
    expect(listed.statusCode).toBe(200);
    const items = (listed.json() as { items: Array<Record<string, unknown>> }).items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ previous: { total: 10_000 }, value: { total: 9_990 } });
    expect(items[0]?.reason).toContain('the meter display read 9,990 kWh');
  });

  it('fills a missing reading (previous null) and sets several fields of a car at once', async () => {
    const gap = await post({
      device: 'b1-e-main',
      time: DAY_START + 1441 * MINUTE,
      value: 10_720.5,
      reason: 'reading lost in transit, taken from the meter log',
    });
    expect(gap.statusCode, gap.body).toBe(201);
    expect(gap.json()).toMatchObject({ previous: null, value: { total: 10_720.5 } });

    const car = await post({
      device: 'v01',
      time: '2026-12-03T09:00:00+08:00',
      value: { lat: 30.66, lon: 104.07, speed: 0, ignition: false },
      reason: 'position from the trip sheet',
    });
    expect(car.statusCode, car.body).toBe(201);
    const stored = await store.query({
      measurement: 'vehicle',
      fields: ['lat', 'lon', 'speed', 'ignition'],
      where: { vehicle: 'v01' },
      from: Date.parse('2026-12-03T09:00:00+08:00'),
      to: Date.parse('2026-12-03T09:00:00+08:00') + 1,
    });
    expect(stored[0]?.rows[0]?.values).toEqual({ lat: 30.66, lon: 104.07, speed: 0, ignition: false });
  });

  it('refuses what a device could not send, naming the field, and writes nothing', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ device: 'b1-e-main', time: DAY_START, value: 2e9, reason: 'above registerMax' }, 400, 'value'],
      [{ device: 'b1-e-main', time: DAY_START, value: -1, reason: 'negative' }, 400, 'value'],
      [{ device: 'b1-e-main', time: '2026-12-03T00:00:00', value: 1, reason: 'no offset' }, 400, 'time'],
      [{ device: 'nope', time: DAY_START, value: 1, reason: 'unknown device' }, 404, 'device'],
      [{ device: 'v01', time: DAY_START, value: 12, reason: 'which field?' }, 400, 'field'],
      [{ device: 'b1-e-main', time: DAY_START, value: 1, reason: '  ' }, 400, 'reason'],
      [{ device: 'b1-e-main', time: DAY_START, value: 1 }, 400, 'reason'],
      [{ device: 'b1-e-main', time: DAY_START, value: { temprature: 1 }, reason: 'a typo' }, 400, 'value'],
    ];
    for (const [payload, status, parameter] of cases) {
      const response = await post(payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(status);
      expect(response.body, JSON.stringify(payload)).toContain(parameter);
    }
    const listed = await app.inject({
      method: 'GET',
      url: '/api/v1/corrections',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    // The three of the tests above, none of these.
    expect((listed.json() as { items: unknown[] }).items).toHaveLength(3);
  });

  it('is for admins only', async () => {
    for (const token of [tokens.operator, tokens.viewer]) {
      const response = await post(
        { device: 'b1-e-main', time: DAY_START, value: 1, reason: 'not mine to do' },
        token,
      );
      expect(response.statusCode).toBe(403);
    }
  });
});
