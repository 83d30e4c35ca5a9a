/**
 * The operator page in a real browser: Debian's Chromium (playwright-core) against the real
 * product — `facility start` with its simulators, a fixed seed, one day of history and the
 * showcase faults, on loopback in a temporary data folder — started once for this file.
 *
 * It holds that the page loads from the api at `/` with nothing fetched from anywhere else and no
 * Content-Security-Policy violation; Chinese labels render in a CJK font (Noto Sans CJK, not
 * empty boxes); live values change while the simulators publish; an alert the showcase plants
 * shows up and an operator acknowledges it with a comment; the language switch turns the page to
 * English and back; a viewer sees no acknowledge button and the api refuses it; an expired session
 * says so; and no KPI request is repeated within a minute. Screenshots of every view go to
 * tests/artifacts/ (git-ignored).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage, type RecordedPage } from '../setup/browser.ts';
import { FacilityProcess } from '../setup/facility-process.ts';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const ADMIN_TOKEN = 'sfp-browser-test-admin-token-0123456789';
const OPERATOR = { username: 'duty-operator', password: 'operator-pass-2026', role: 'operator' } as const;
const VIEWER = { username: 'wall-viewer', password: 'viewer-pass-2026', role: 'viewer' } as const;
/** KPI routes: the page may ask each at most once a minute. */
const KPI_PATH = /^\/api\/v1\/(energy|vehicles|rooms)\//;

let data: string;
let product: FacilityProcess;
let base: string;
let browser: Browser;
const pages: RecordedPage[] = [];

async function api<T>(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    headers: response.headers,
  };
}

/** A user account, made by the admin as the product expects. */
async function createAccount(account: { username: string; password: string; role: string }): Promise<void> {
  const made = await api('POST', '/api/v1/users', { body: account });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
}

async function newPage(): Promise<RecordedPage> {
  const opened = await openPage(browser);
  pages.push(opened);
  return opened;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `live-${name}.png`), fullPage: true });
}

async function signInWithPassword(
  page: Page,
  account: { username: string; password: string },
): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('用户名').fill(account.username);
  await page.getByLabel('密码').fill(account.password);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.getByRole('heading', { name: '运行总览' }).waitFor();
}

async function figure(page: Page, testid: string): Promise<string> {
  return (await page.getByTestId(testid).locator('.figure').textContent()) ?? '';
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  data = await mkdtemp(join(tmpdir(), 'sfp-live-page-'));
  product = await FacilityProcess.start({
    args: [
      'start',
      '--data',
      data,
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--backfill-days',
      '1',
      '--seed',
      '20261128',
      '--log-level',
      'warn',
    ],
    env: { FACILITY_ADMIN_TOKEN: ADMIN_TOKEN },
    ready: /API\s+http:\/\/127\.0\.0\.1:\d+\/api\/v1/,
    readyTimeoutMs: 120_000,
  });
  base = /API\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(product.stdout)?.[1] as string;
  await createAccount(OPERATOR);
  await createAccount(VIEWER);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  for (const opened of pages) await opened.close().catch(() => undefined);
  await browser?.close();
  await product?.stop();
  await rm(data, { recursive: true, force: true });
});

describe('operator page', () => {
  let kiosk: RecordedPage;

  it('loads from the api with an API token, in Chinese, in a CJK font, and fetches nothing from elsewhere', async () => {
    kiosk = await newPage();
    const { page } = kiosk;
    const html = await fetch(`${base}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(html.headers.get('content-security-policy')).toMatch(/script-src 'self'/);

    await page.goto(`${base}/#token=${ADMIN_TOKEN}`);
    await page.getByRole('heading', { name: '运行总览' }).waitFor();
    // The token left the address bar; it is kept in the tab's sessionStorage.
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    expect(await page.evaluate('Object.values(sessionStorage).join()')).toContain(ADMIN_TOKEN);
    await expect
      .poll(() => page.getByTestId('live-connection').textContent(), { timeout: 15_000 })
      .toBe('实时已连接');
    await expect.poll(() => figure(page, 'site-power'), { timeout: 30_000 }).toMatch(/^[\d,]+(\.\d)?$/);
    expect(await page.getByTestId('site-power').textContent()).toContain('kW');
    expect(await page.getByTestId('today-kwh').textContent()).toContain('kWh');
    expect(await page.getByTestId('today-cost').textContent()).toContain('元');

    // The title is drawn with Noto Sans CJK (CDP names the platform font of its glyphs) …
    const cdp = await kiosk.context.newCDPSession(page);
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument');
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '.view-title' });
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    expect(fonts.map((f) => f.familyName).join()).toMatch(/Noto Sans CJK/);
    // … and two different characters do not draw as the same box (tofu).
    const distinct = await page.evaluate(`(() => {
      const draw = (ch) => {
        const c = document.createElement('canvas'); c.width = 40; c.height = 40;
        const g = c.getContext('2d'); g.font = '32px "Noto Sans CJK SC", sans-serif'; g.fillText(ch, 2, 32);
        return c.toDataURL();
      };
      return draw('运') !== draw('览');
    })()`);
    expect(distinct).toBe(true);

    // The api says whose token it is, so the page offers an admin what an admin may do.
    await expect.poll(() => page.getByTestId('user').textContent(), { timeout: 10_000 }).toContain('管理员');
    const whose = await fetch(`${base}/api/v1/session`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await whose.json()).toMatchObject({ user: { role: 'admin', department: null } });
    const bad = await fetch(`${base}/api/v1/session`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(bad.status).toBe(401);

    await shot(page, 'overview');
    const origin = new URL(base).origin;
    for (const request of kiosk.requests) expect(new URL(request.url).origin, request.url).toBe(origin);
  });

  it('changes live values while the simulators publish', async () => {
    const { page } = kiosk;
    // The site's power follows every meter's reading (32 meters, one a minute each), today's
    // electricity rises with them; neither is asked again over REST meanwhile.
    const power = await figure(page, 'site-power');
    const today = await figure(page, 'today-kwh');
    const asked = kiosk.requests.length;
    await expect.poll(() => figure(page, 'site-power'), { timeout: 60_000, interval: 500 }).not.toBe(power);
    await expect.poll(() => figure(page, 'today-kwh'), { timeout: 90_000, interval: 1000 }).not.toBe(today);
    const kpi = kiosk.requests.slice(asked).filter((r) => KPI_PATH.test(new URL(r.url).pathname));
    expect(kpi).toEqual([]);
  }, 160_000);

  it('shows the energy view with units on every figure', async () => {
    const { page } = kiosk;
    await page.getByRole('link', { name: '能耗' }).click();
    await page.getByRole('heading', { name: '能耗分析' }).waitFor();
    const table = page.getByTestId('energy-table');
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 30_000 }).toBe(4);
    const headers = (await table.locator('thead').textContent()) ?? '';
    for (const unit of ['kWh', 'kgce', '千克', '元', 'kWh/m²']) expect(headers).toContain(unit);
    await page.waitForTimeout(500);
    await shot(page, 'energy');
  });

  it('draws the fleet on a map without tiles, moving with the live gateway', async () => {
    const { page } = kiosk;
    await page.getByRole('link', { name: '公务用车' }).click();
    await page.getByRole('heading', { name: '公务用车', level: 2 }).waitFor();
    const list = page.getByTestId('vehicle-list');
    await expect.poll(() => list.locator('tbody tr').count()).toBe(24);
    // Every car has a live state once the gateway has sent the latest positions.
    await expect
      .poll(async () => (await list.locator('tbody').textContent())?.match(/行驶|怠速|停放/g)?.length ?? 0, {
        timeout: 30_000,
      })
      .toBe(24);
    // The showcase car outside the service area is marked.
    await expect.poll(() => list.getByText('区域外').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.locator('.chart-map canvas').count()).toBeGreaterThan(0);
    await page.waitForTimeout(800);
    await shot(page, 'fleet');

    // The replay of the car outside the area: its track today, on the map.
    const outside = list.locator('tr', { hasText: '区域外' }).first();
    await outside.getByRole('button', { name: /^回放 .+ 的轨迹$/ }).click();
    await page.getByRole('slider', { name: '回放时刻' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: '播放', exact: true }).click();
    await page.waitForTimeout(1500);
    await shot(page, 'fleet-replay');
  }, 90_000);

  it('shows the rooms floor by floor with their live state', async () => {
    const { page } = kiosk;
    await page.getByRole('link', { name: '会议室与空间' }).click();
    await page.getByRole('heading', { name: '会议室与空间', level: 2 }).waitFor();
    await expect
      .poll(() => page.locator('article.room').filter({ hasText: '°C' }).count(), { timeout: 30_000 })
      .toBe(21);
    // The showcase's meeting room is conditioned with nobody there.
    await expect
      .poll(() => page.locator('article.room.alarm').count(), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await page.getByTestId('room-utilization').locator('tbody tr').first().waitFor();
    await shot(page, 'rooms');
  });

  it('switches to English and back', async () => {
    const { page } = kiosk;
    await page.getByRole('link', { name: '总览' }).click();
    await page.getByRole('button', { name: /English/ }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    await page.getByRole('link', { name: 'Energy' }).waitFor();
    expect(await page.getByTestId('today-cost').textContent()).toContain('CNY');
    await page.waitForTimeout(500);
    await shot(page, 'overview-en');
    await page.getByRole('button', { name: /中文/ }).click();
    await page.getByRole('heading', { name: '运行总览' }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
  });

  it('shows an alert the simulator planted, which an operator acknowledges with a comment', async () => {
    const operator = await newPage();
    const { page } = operator;
    await page.goto(`${base}/`);
    await shot(page, 'sign-in');
    await signInWithPassword(page, OPERATOR);
    expect(await page.getByTestId('user').textContent()).toContain('值班员');
    await page.getByRole('link', { name: /告警/ }).click();
    await page.getByRole('heading', { name: '告警', level: 2 }).waitFor();
    // The showcase car left the service area two minutes before the start.
    const alert = page.locator('article[data-rule="vehicle-geofence"]').first();
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.getByTestId('alert-state').textContent()).toBe('告警中');
    const id = (await alert.getAttribute('data-alert')) as string;
    await shot(page, 'alerts');

    await alert.getByRole('button', { name: '确认告警' }).click();
    await alert.getByRole('textbox').fill('已电话联系驾驶员，返回服务区域');
    await alert.getByRole('button', { name: '确认', exact: true }).click();
    await expect
      .poll(() => alert.getByTestId('alert-state').textContent(), { timeout: 15_000 })
      .toBe('已确认');
    await alert.getByText('已电话联系驾驶员，返回服务区域').waitFor();
    await shot(page, 'alerts-acknowledged');

    const stored = await api<{
      alerts: { id: string; acknowledgedBy: string; comments: { text: string }[] }[];
    }>('GET', '/api/v1/alerts?state=acknowledged');
    const acknowledged = stored.body.alerts.find((a) => a.id === id);
    expect(acknowledged?.acknowledgedBy).toBe(OPERATOR.username);
    expect(acknowledged?.comments.map((c) => c.text)).toContain('已电话联系驾驶员，返回服务区域');
  });

  it('gives a viewer no acknowledge button, and the api refuses a viewer anyway', async () => {
    const viewer = await newPage();
    const { page } = viewer;
    await signInWithPassword(page, VIEWER);
    await page.getByRole('link', { name: /告警/ }).click();
    await page.getByTestId('read-only').waitFor();
    await page.locator('article[data-alert]').first().waitFor({ timeout: 60_000 });
    expect(await page.getByRole('button', { name: '确认告警' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: '添加备注' }).count()).toBe(0);
    await shot(page, 'alerts-viewer');

    const signIn = await fetch(`${base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: VIEWER.username, password: VIEWER.password }),
    });
    expect(signIn.status).toBe(200);
    const { csrfToken } = (await signIn.json()) as { csrfToken: string };
    const cookie = (signIn.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
    const alerts = await api<{ alerts: { id: string }[] }>('GET', '/api/v1/alerts?state=open');
    const target = alerts.body.alerts[0]?.id as string;
    const refused = await fetch(`${base}/api/v1/alerts/${target}/ack`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(403);
  });

  it('says the session expired and asks to sign in again', async () => {
    const operator = await newPage();
    const { page, context } = operator;
    await signInWithPassword(page, OPERATOR);
    // The cookie is gone as an expired one is: the next figures the page asks are refused.
    await context.clearCookies();
    await page.getByRole('link', { name: '能耗' }).click();
    await page.getByText('会话已过期，请重新登录。').waitFor({ timeout: 15_000 });
    await page.getByLabel('用户名').waitFor();
    await shot(page, 'session-expired');
  });

  it('never asks the same figures twice within a minute, and broke no content policy', () => {
    for (const opened of pages) {
      const last = new Map<string, number>();
      for (const request of opened.requests) {
        const url = new URL(request.url);
        if (!KPI_PATH.test(url.pathname)) continue;
        const before = last.get(request.url);
        if (before !== undefined) expect(request.at - before, request.url).toBeGreaterThanOrEqual(60_000);
        last.set(request.url, request.at);
      }
      const problems = opened.errors.filter((e) => !/Failed to load resource/.test(e));
      expect(problems).toEqual([]);
    }
  });
});
