/**
 * The alerts API and the webhooks on real parts: a DuckDB file holding the alerts and the
 * delivery log, the alert service, the fastify app (`inject`), and webhook receivers on a real
 * local HTTP server that fail the first attempts.
 *
 * - `GET /api/v1/alerts?state&severity&from&to` with hand-placed alerts: which come back for each
 *   filter, and clear 400s for bad filters.
 * - Roles: viewers read, operators acknowledge and comment, admins change the rules; a
 *   department's user sees its department's alerts only.
 * - Webhooks: generic JSON, WeCom and DingTalk (signed) robot texts, each retried until the
 *   receiver takes it, one given up; the delivery log through the API.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookNotifier } from '../../alerts/notifier.ts';
import { AlertService } from '../../alerts/service.ts';
import { buildApp } from '../../api/app.ts';
import type { Subject } from '../../core/alerts/alert.ts';
import type { Observation } from '../../core/alerts/evaluate.ts';
import { type AlertRule, RULE_DEFAULTS, type Webhook } from '../../core/alerts/rules.ts';
import { MemoryDeadLetterSink } from '../../ingest/index.ts';
import { DuckDbAlertStore } from '../../storage/duckdb/alert-store.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { demoFacility } from '../setup/wait.ts';

const ADMIN = 'alerts-api-admin-token-0123456789';
/** Chengdu time (UTC+8). */
const local = (d: number, h: number, min = 0) => Date.UTC(2026, 11, d, h - 8, min);
const facility = demoFacility();

const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

let app: FastifyInstance;
let service: AlertService;
let alertStore: DuckDbAlertStore;
let now = local(7, 12);
const token: Record<'admin' | 'operator' | 'viewer' | 'fleet', string> = {
  admin: ADMIN,
  operator: '',
  viewer: '',
  fleet: '',
};

function rule(type: AlertRule['type']): AlertRule {
  return { id: type, type, ...RULE_DEFAULTS[type] } as AlertRule;
}

function observation(subject: Subject, value: number): Observation {
  return {
    subject,
    level: 'fire',
    value,
    threshold: 1,
    unit: 'x',
    title: { zh: '测试', en: 'test' },
    detail: { zh: `值 ${value}`, en: `value ${value}` },
  };
}

const CAR: Subject = {
  kind: 'vehicle',
  id: 'v23',
  name: '川A·6F903',
  nameEn: '川A·6F903',
  department: 'fleet',
};
const METER: Subject = {
  kind: 'meter',
  id: 'b3-w-main',
  name: 'b3-w-main',
  nameEn: 'b3-w-main',
  department: null,
};
const ROOM: Subject = {
  kind: 'room',
  id: 'b3-hall',
  name: '多功能报告厅',
  nameEn: 'Auditorium',
  department: null,
};

async function call(options: InjectOptions & { as?: keyof typeof token }) {
  const { as = 'admin', ...rest } = options;
  return app.inject({ ...rest, headers: { ...(rest.headers ?? {}), authorization: `Bearer ${token[as]}` } });
}

/** Ids of what `GET /api/v1/alerts?query` lists, as names given below. */
let names: Map<string, string>;
async function listed(query: string, as: keyof typeof token = 'viewer'): Promise<string[]> {
  const response = await call({ method: 'GET', url: `/api/v1/alerts?${query}`, as });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as { alerts: { id: string }[] }).alerts.map((a) => names.get(a.id) ?? a.id);
}

beforeAll(async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-alerts-api-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const store = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  await store.start();
  teardown.push(() => store.stop());
  alertStore = new DuckDbAlertStore({ database: store });
  await alertStore.start();
  teardown.push(() => alertStore.stop());
  service = new AlertService({ store: alertStore, facility, now: () => now });
  app = buildApp({
    version: '0.0.0-test',
    facility,
    store,
    deadLetters: new MemoryDeadLetterSink(),
    data: folder,
    adminToken: ADMIN,
    alerts: service,
    rateLimit: false,
    now: () => now,
  });
  teardown.push(() => app.close());
  for (const [who, body] of [
    ['operator', { name: 'duty operator 值班员', role: 'operator' }],
    ['viewer', { name: 'wall screen 大屏', role: 'viewer' }],
    ['fleet', { name: 'fleet office 车队', role: 'viewer', department: 'fleet' }],
  ] as const) {
    const response = await call({ method: 'POST', url: '/api/v1/tokens', payload: body });
    expect(response.statusCode, response.body).toBe(201);
    token[who] = (response.json() as { token: string }).token;
  }

  // Three alerts, placed by hand (Chengdu time, 7 Dec 2026):
  //   leak    water-leak (critical)      fired 02:00, still firing
  //   speed   vehicle-speeding (warning) fired 09:00, acknowledged 09:10, resolved 09:30
  //   room    room-co2 (warning)         fired 10:00, acknowledged 10:05
  const leak = await service.fire(rule('water-leak'), observation(METER, 0.4), local(7, 2));
  const speed = await service.fire(rule('vehicle-speeding'), observation(CAR, 96), local(7, 9));
  now = local(7, 9, 10);
  await service.acknowledge(speed.alert.id, 'wang');
  await service.resolve(speed.alert.id, local(7, 9, 30), 60);
  const room = await service.fire(rule('room-co2'), observation(ROOM, 1400), local(7, 10));
  now = local(7, 10, 5);
  await service.acknowledge(room.alert.id, 'li');
  now = local(7, 12);
  names = new Map([
    [leak.alert.id, 'leak'],
    [speed.alert.id, 'speed'],
    [room.alert.id, 'room'],
  ]);
});

describe('GET /api/v1/alerts', () => {
  it('filters by state, severity and the time an alert was open, newest first', async () => {
    expect(await listed('')).toEqual(['room', 'speed', 'leak']);
    expect(await listed('state=firing')).toEqual(['leak']);
    expect(await listed('state=acknowledged')).toEqual(['room']);
    expect(await listed('state=resolved')).toEqual(['speed']);
    expect(await listed('state=open')).toEqual(['room', 'leak']);
    expect(await listed('severity=critical')).toEqual(['leak']);
    expect(await listed('severity=warning&state=open')).toEqual(['room']);
    // Open at some time in [from, to): fired before `to`, not resolved before `from`.
    // 09:40–09:50: the speeding alert resolved at 09:30, the CO2 one fired at 10:00: the leak only.
    expect(await listed('from=2026-12-07T09:40:00%2B08:00&to=2026-12-07T09:50:00%2B08:00')).toEqual(['leak']);
    // 09:20–10:00: the speeding alert (open till 09:30) and the leak; the CO2 alert fired at `to`.
    expect(await listed('from=2026-12-07T09:20:00%2B08:00&to=2026-12-07T10:00:00%2B08:00')).toEqual([
      'speed',
      'leak',
    ]);
    // Before 02:00 nothing was open.
    expect(await listed('from=2026-12-07T00:00:00%2B08:00&to=2026-12-07T02:00:00%2B08:00')).toEqual([]);
  });

  it('refuses bad filters with a 400 naming the parameter', async () => {
    for (const [query, parameter] of [
      ['state=burning', 'state'],
      ['severity=urgent', 'severity'],
      ['from=yesterday', 'from'],
      ['from=2026-12-07T10:00:00%2B08:00&to=2026-12-07T09:00:00%2B08:00', 'to'],
    ] as const) {
      const response = await call({ method: 'GET', url: `/api/v1/alerts?${query}`, as: 'viewer' });
      expect(response.statusCode, query).toBe(400);
      const error = (response.json() as { error: { code: string; message: string } }).error;
      expect(error.message, query).toContain(parameter);
    }
  });

  it('shows a department’s user its department’s alerts only', async () => {
    // The car is the fleet's; the leak and the room belong to no department.
    expect(await listed('', 'fleet')).toEqual(['speed']);
  });
});

describe('roles', () => {
  it('lets a viewer read but not acknowledge, comment or change the rules', async () => {
    const [leak] = [...names].find(([, name]) => name === 'leak') ?? [];
    const read = await call({ method: 'GET', url: `/api/v1/alerts/${leak}`, as: 'viewer' });
    expect(read.statusCode).toBe(200);
    for (const request of [
      { method: 'POST', url: `/api/v1/alerts/${leak}/ack`, payload: {} },
      { method: 'POST', url: `/api/v1/alerts/${leak}/comment`, payload: { text: '看一下' } },
      { method: 'PUT', url: '/api/v1/alert-rules', payload: { rules: [] } },
    ] as const) {
      const response = await call({ ...request, as: 'viewer' });
      expect(response.statusCode, `${request.method} ${request.url}`).toBe(403);
    }
  });

  it('lets an operator acknowledge and comment, once, and not change the rules', async () => {
    const [leak] = [...names].find(([, name]) => name === 'leak') ?? [];
    const ack = await call({
      method: 'POST',
      url: `/api/v1/alerts/${leak}/ack`,
      payload: { comment: '已派人关阀 valve being closed' },
      as: 'operator',
    });
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json()).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'duty operator 值班员',
      acknowledgedAt: '2026-12-07T12:00:00+08:00',
      comments: [{ by: 'duty operator 值班员', text: '已派人关阀 valve being closed' }],
    });
    // Twice: 409, it is acknowledged already.
    const again = await call({
      method: 'POST',
      url: `/api/v1/alerts/${leak}/ack`,
      payload: {},
      as: 'operator',
    });
    expect(again.statusCode).toBe(409);
    const comment = await call({
      method: 'POST',
      url: `/api/v1/alerts/${leak}/comment`,
      payload: { text: '阀门已关 valve closed' },
      as: 'operator',
    });
    expect(comment.statusCode).toBe(200);
    expect((comment.json() as { comments: unknown[] }).comments).toHaveLength(2);
    const rules = await call({
      method: 'PUT',
      url: '/api/v1/alert-rules',
      payload: { rules: [] },
      as: 'operator',
    });
    expect(rules.statusCode).toBe(403);
    // A resolved alert is not acknowledged.
    const [speed] = [...names].find(([, name]) => name === 'speed') ?? [];
    const late = await call({
      method: 'POST',
      url: `/api/v1/alerts/${speed}/ack`,
      payload: {},
      as: 'operator',
    });
    expect(late.statusCode).toBe(409);
  });

  it('lets an admin change the rules, and refuses a bad rule with its path', async () => {
    const current = await call({ method: 'GET', url: '/api/v1/alert-rules', as: 'viewer' });
    expect(current.statusCode).toBe(200);
    const bad = await call({
      method: 'PUT',
      url: '/api/v1/alert-rules',
      payload: { rules: [{ id: 'vehicle-speeding', type: 'vehicle-speeding', limitKmh: -5 }] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('limitKmh');
    const good = await call({
      method: 'PUT',
      url: '/api/v1/alert-rules',
      payload: { rules: [{ id: 'vehicle-speeding', type: 'vehicle-speeding', limitKmh: 70 }] },
    });
    expect(good.statusCode, good.body).toBe(200);
    const after = (await call({ method: 'GET', url: '/api/v1/alert-rules', as: 'viewer' })).json() as {
      rules: { id: string; limitKmh?: number }[];
    };
    expect(after.rules.find((r) => r.id === 'vehicle-speeding')?.limitKmh).toBe(70);
  });
});

describe('webhooks', () => {
  it('posts JSON, WeCom and signed DingTalk texts, tries again until each receiver takes it, and logs every delivery', async () => {
    // Each receiver refuses the first attempt(s): JSON with 503, WeCom with its rate-limit errcode,
    // DingTalk by a dropped connection; "down" always answers 500.
    const received: Array<{ path: string; url: string; body: unknown }> = [];
    const attempts = new Map<string, number>();
    const server = createServer(async (request: IncomingMessage, response) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      let text = '';
      for await (const chunk of request) text += String(chunk);
      const n = (attempts.get(path) ?? 0) + 1;
      attempts.set(path, n);
      if (path === '/json' && n === 1) return void response.writeHead(503).end();
      if (path === '/wecom' && n <= 2) {
        return void response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errcode: 45009, errmsg: 'api freq out of limit' }));
      }
      if (path === '/dingtalk' && n === 1) return void request.socket.destroy();
      if (path === '/down') return void response.writeHead(500).end();
      received.push({ path, url: request.url ?? '', body: JSON.parse(text) });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    teardown.push(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const hook = (id: string, format: Webhook['format'], extra: Partial<Webhook> = {}): Webhook => ({
      id,
      format,
      url: `${base}/${id}`,
      minSeverity: 'warning',
      events: ['fired', 'resolved'],
      ...extra,
    });
    const notifier = new WebhookNotifier({
      webhooks: [
        hook('json', 'json'),
        hook('wecom', 'wecom'),
        hook('dingtalk', 'dingtalk', { secret: 'SECtest' }),
        hook('down', 'json'),
      ],
      store: alertStore,
      timezone: facility.site.timezone,
      site: facility.site.name.zh,
      attempts: 3,
      minDelayMs: 10,
      maxDelayMs: 20,
      timeoutMs: 2000,
      now: () => now,
    });
    await notifier.start();
    teardown.push(() => notifier.stop());
    const unsubscribe = service.onChange((alert, event) => notifier.notify(alert, event));
    teardown.push(async () => unsubscribe());

    const fired = await service.fire(rule('vehicle-geofence'), observation(CAR, 12.5), now);
    await notifier.settled();

    expect(received.map((r) => r.path).sort()).toEqual(['dingtalk', 'json', 'wecom'].map((p) => `/${p}`));
    const json = received.find((r) => r.path === '/json')?.body as { event: string; alert: { id: string } };
    expect(json).toMatchObject({
      event: 'fired',
      site: facility.site.name.zh,
      alert: { id: fired.alert.id },
    });
    const wecom = received.find((r) => r.path === '/wecom')?.body as {
      msgtype: string;
      text: { content: string };
    };
    expect(wecom.msgtype).toBe('text');
    expect(wecom.text.content).toContain('川A·6F903');
    const dingtalk = received.find((r) => r.path === '/dingtalk');
    expect(dingtalk?.url).toMatch(/^\/dingtalk\?timestamp=\d+&sign=[^&]+$/);
    expect(dingtalk?.body).toMatchObject({ msgtype: 'text' });
    expect(Object.fromEntries(attempts)).toEqual({ '/json': 2, '/wecom': 3, '/dingtalk': 2, '/down': 3 });

    // The log, through the API.
    const response = await call({
      method: 'GET',
      url: `/api/v1/alerts/${fired.alert.id}/deliveries`,
      as: 'operator',
    });
    expect(response.statusCode, response.body).toBe(200);
    const log = (response.json() as { deliveries: Array<Record<string, unknown>> }).deliveries;
    const byHook = Object.fromEntries(log.map((d) => [d.webhook, d]));
    expect(byHook.json).toMatchObject({ event: 'fired', ok: true, attempts: 2, status: 200 });
    expect(byHook.wecom).toMatchObject({ ok: true, attempts: 3, status: 200 });
    expect(byHook.dingtalk).toMatchObject({ ok: true, attempts: 2, status: 200 });
    expect(byHook.down).toMatchObject({ ok: false, attempts: 3, status: 500 });
    expect(String(byHook.down?.error)).toContain('500');
    // Viewers read it too; a department's user does not (the log is site-wide).
    const viewer = await call({
      method: 'GET',
      url: `/api/v1/alerts/${fired.alert.id}/deliveries`,
      as: 'viewer',
    });
    expect(viewer.statusCode).toBe(200);
    const fleet = await call({
      method: 'GET',
      url: `/api/v1/alerts/${fired.alert.id}/deliveries`,
      as: 'fleet',
    });
    expect(fleet.statusCode).toBe(403);
  });
});
