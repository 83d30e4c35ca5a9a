/**
 * The operator page's pure helpers (dashboards/live/src/domain.ts) and its figures guard
 * (api/client.ts): site calendar dates, periods of the range picker, the set-point rule, the
 * replay's interpolation, and "never the same KPI request twice within a minute".
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FIGURES_MIN_INTERVAL_MS, getFigures, setCredentials } from '../../dashboards/live/src/api/client.ts';
import {
  addDays,
  boundingCoords,
  dateInZone,
  positionAt,
  presetPeriod,
  seriesEvery,
  setpointViolation,
} from '../../dashboards/live/src/domain.ts';

describe('site calendar', () => {
  it('takes the date in the site zone, not UTC', () => {
    // 2026-12-07 17:30 UTC is 01:30 on the 8th in Chengdu.
    expect(dateInZone(Date.parse('2026-12-07T17:30:00Z'), 'Asia/Shanghai')).toBe('2026-12-08');
    expect(dateInZone(Date.parse('2026-12-07T15:59:59Z'), 'Asia/Shanghai')).toBe('2026-12-07');
  });

  it('moves dates across months, years and leap days', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
    expect(addDays('2026-01-01', -29)).toBe('2025-12-03');
  });

  it.each([
    ['today', '2026-12-08', '2026-12-09'],
    ['yesterday', '2026-12-07', '2026-12-08'],
    ['7d', '2026-12-02', '2026-12-09'],
    ['30d', '2026-11-09', '2026-12-09'],
    ['month', '2026-12-01', '2026-12-09'],
    ['year', '2026-01-01', '2026-12-09'],
  ] as const)('%s is [%s, %s) on the site calendar', (preset, from, to) => {
    expect(presetPeriod(preset, Date.parse('2026-12-07T17:30:00Z'), 'Asia/Shanghai')).toEqual({ from, to });
  });

  it('picks a series window that keeps a chart readable', () => {
    expect(seriesEvery({ from: '2026-12-07', to: '2026-12-08' })).toBe('15m');
    expect(seriesEvery({ from: '2026-12-01', to: '2026-12-08' })).toBe('1h');
    expect(seriesEvery({ from: '2026-01-01', to: '2026-12-08' })).toBe('1d');
  });
});

describe('air-conditioning set-point rule (cooling ≥ 26 °C, heating ≤ 20 °C)', () => {
  it.each([
    ['cool', 25.9, true],
    ['cool', 26, false],
    ['heat', 20.1, true],
    ['heat', 20, false],
    ['fan', 18, false],
    ['off', 30, false],
    ['cool', null, false],
  ] as const)('%s at %s °C breaks it: %s', (hvacMode, temperatureC, breaks) => {
    expect(setpointViolation({ hvacMode, temperatureC })).toBe(breaks);
  });
});

describe('replay', () => {
  const times = [0, 10_000, 20_000];
  const coordinates = [
    [104, 30],
    [104.1, 30],
    [104.1, 30.2],
  ];
  it('interpolates between the fixes around an instant and holds at the ends', () => {
    expect(positionAt(times, coordinates, 5_000)).toEqual([104.05, 30]);
    expect(positionAt(times, coordinates, 15_000)?.[1]).toBeCloseTo(30.1);
    expect(positionAt(times, coordinates, -1)).toEqual([104, 30]);
    expect(positionAt(times, coordinates, 99_000)).toEqual([104.1, 30.2]);
    expect(positionAt([], [], 0)).toBeNull();
  });

  it('frames polygons with a margin, north-west corner first', () => {
    expect(
      boundingCoords(
        [
          [104, 30],
          [105, 31],
        ],
        0.1,
      ),
    ).toEqual([
      [103.9, 31.1],
      [105.1, 29.9],
    ]);
  });
});

describe('figures guard', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    setCredentials(null);
  });

  it('asks the same figures at most once a minute, with the bearer token', async () => {
    let now = Date.parse('2026-12-07T08:00:00Z');
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const calls: { url: string; authorization: string | undefined }[] = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, authorization: (init.headers as Record<string, string>).authorization });
      return new Response(JSON.stringify({ items: [calls.length] }), { status: 200 });
    });
    setCredentials({ kind: 'token', token: 'sfp_x' });
    const query = { from: '2026-12-07', to: '2026-12-08', groupBy: 'site' };
    const first = await getFigures('/api/v1/energy/summary', query);
    now += FIGURES_MIN_INTERVAL_MS - 1;
    expect(await getFigures('/api/v1/energy/summary', query)).toEqual(first);
    // A shorter wish is not honoured: still once a minute.
    expect(await getFigures('/api/v1/energy/summary', query, 1_000)).toEqual(first);
    expect(calls).toHaveLength(1);
    now += 1;
    expect(await getFigures('/api/v1/energy/summary', query)).toEqual({ items: [2] });
    expect(calls).toEqual([
      {
        url: '/api/v1/energy/summary?from=2026-12-07&to=2026-12-08&groupBy=site',
        authorization: 'Bearer sfp_x',
      },
      {
        url: '/api/v1/energy/summary?from=2026-12-07&to=2026-12-08&groupBy=site',
        authorization: 'Bearer sfp_x',
      },
    ]);
  });

  it('keeps no failed answer, so a retry asks again', async () => {
    let status = 503;
    let calls = 0;
    vi.stubGlobal('fetch', async () => {
      calls++;
      return new Response(JSON.stringify({ error: { code: 'STORE_UNAVAILABLE', message: 'down' } }), {
        status,
      });
    });
    await expect(getFigures('/api/v1/rooms/utilization', { from: 'a', to: 'b' })).rejects.toMatchObject({
      status: 503,
      code: 'STORE_UNAVAILABLE',
      retriable: true,
    });
    status = 200;
    await getFigures('/api/v1/rooms/utilization', { from: 'a', to: 'b' });
    expect(calls).toBe(2);
  });
});
