/**
 * The store contract against a real influxd (started by tests/setup/influxd.ts), plus what only
 * the InfluxDB adapter has: version detection and the retriable / non-retriable error split.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { type Point, StoreError } from '../../core/store.ts';
import { InfluxStore, type InfluxStoreOptions } from '../../storage/influx/influx-store.ts';
import { storeContract } from './store-contract.ts';

const url = inject('influxUrl');
const T0 = Date.UTC(2026, 10, 2);

/** Run one InfluxQL statement on the test server, outside the adapter. */
async function influxql(statement: string): Promise<unknown> {
  const response = await fetch(`${url}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: statement }),
  });
  if (!response.ok) throw new Error(`${statement}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

function freshDatabase(): string {
  return `test_${randomUUID().replaceAll('-', '')}`;
}

/** A started store on a fresh database, stopped and dropped when the test ends. */
async function startedStore(
  options: Partial<InfluxStoreOptions> = {},
): Promise<{ store: InfluxStore; database: string }> {
  const database = freshDatabase();
  const store = new InfluxStore({ url, database, ...options });
  onTestFinished(() => influxql(`DROP DATABASE "${database}"`).then(() => undefined));
  onTestFinished(() => store.stop());
  await store.start();
  return { store, database };
}

function meter(id: string, time: number, total: number): Point {
  return { measurement: 'meter', tags: { site: 's', meter: id }, fields: { total }, time };
}

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP server that accepts connections and never answers. */
async function silentServer(): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return server;
}

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A stand-in for servers not installed here (2.x, 3.x, 1.x with authentication): answers /ping
 * as told, every query with an empty result, every write with 204, and records the requests.
 */
async function stubServer(ping: {
  header?: string;
  body?: string;
}): Promise<{ url: string; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      if (request.url === '/ping') {
        if (ping.header) response.setHeader('X-Influxdb-Version', ping.header);
        if (ping.body) response.writeHead(200, { 'content-type': 'application/json' }).end(ping.body);
        else response.writeHead(204).end();
      } else if (request.url?.startsWith('/query')) {
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end('{"results":[{"statement_id":0}]}');
      } else {
        response.writeHead(204).end();
      }
    });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen };
}

async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

storeContract('influxdb', async () => {
  const database = freshDatabase();
  return {
    open: () => new InfluxStore({ url, database }),
    dispose: async () => {
      await influxql(`DROP DATABASE "${database}"`);
    },
  };
});

describe('InfluxStore (InfluxDB specifics)', () => {
  it('detects the server version at start and creates its database', async () => {
    const { store, database } = await startedStore();
    expect(store.name).toMatch(/^influxdb 1\.6\.7/);
    expect(store.majorVersion).toBe(1);
    expect(JSON.stringify(await influxql('SHOW DATABASES'))).toContain(`"${database}"`);
  });

  it('writes over /api/v2/write with the token on 2.x, and on 3.x found from the /ping body', async () => {
    const v2 = await stubServer({ header: 'v2.7.10' });
    const store2 = new InfluxStore({ url: v2.url, database: 'energy', org: 'gov', token: 't0k' });
    onTestFinished(() => store2.stop());
    await store2.start();
    await store2.write([meter('m1', T0, 1.5)]);
    expect(store2.name).toBe('influxdb 2.7.10');
    expect(v2.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /ping',
      'POST /api/v2/write?org=gov&bucket=energy&precision=ms',
    ]);
    expect(v2.seen[1]?.headers.authorization).toBe('Token t0k');
    expect(v2.seen[1]?.body).toBe(`meter,meter=m1,site=s total=1.5 ${T0}\n`);

    const v3 = await stubServer({ body: '{"version":"3.1.0","revision":"x"}' });
    const store3 = new InfluxStore({ url: v3.url, database: 'energy', token: 't0k' });
    onTestFinished(() => store3.stop());
    await store3.start();
    await store3.write([meter('m1', T0, 1)]);
    expect(store3.majorVersion).toBe(3);
    expect(v3.seen.map((r) => r.url)).toEqual(['/ping', '/api/v2/write?bucket=energy&precision=ms']);
  });

  it('sends 1.x credentials with basic authentication and writes with the retention policy', async () => {
    const v1 = await stubServer({ header: '1.8.10' });
    const store = new InfluxStore({
      url: v1.url,
      database: 'energy',
      retentionPolicy: 'one_year',
      username: 'ingest',
      password: 'pa:ss',
    });
    onTestFinished(() => store.stop());
    await store.start();
    await store.write([meter('m1', T0, 1)]);
    const sent = (r: SeenRequest) =>
      r.url.startsWith('/query') ? new URLSearchParams(r.body).get('q') : r.body;
    expect(v1.seen.map((r) => `${r.method} ${r.url} ${sent(r)}`)).toEqual([
      'GET /ping ',
      'POST /query?db=energy&rp=one_year&epoch=ms CREATE DATABASE "energy"',
      `POST /write?db=energy&rp=one_year&precision=ms meter,meter=m1,site=s total=1 ${T0}\n`,
    ]);
    const basic = `Basic ${Buffer.from('ingest:pa:ss').toString('base64')}`;
    expect(v1.seen.every((r) => r.url === '/ping' || r.headers.authorization === basic)).toBe(true);
  });

  it('writes many batches with several requests in flight and reads exact sums back', async () => {
    const { store } = await startedStore({ batchSize: 700, concurrency: 4 });
    const points: Point[] = [];
    // 4 meters × 2,500 readings of 1 → 10,000 points in 15 batches of at most 700.
    for (let i = 0; i < 2500; i++) for (const id of ['a', 'b', 'c', 'd']) points.push(meter(id, T0 + i, 1));
    await store.write(points);
    const sums = await store.query({
      measurement: 'meter',
      fields: ['total'],
      aggregate: 'sum',
      groupBy: ['meter'],
      from: T0,
      to: T0 + 2500,
    });
    expect(sums.map((s) => [s.tags.meter, s.rows[0]?.values.total])).toEqual([
      ['a', 2500],
      ['b', 2500],
      ['c', 2500],
      ['d', 2500],
    ]);
  });

  it('fails with a retriable StoreError when the server is unreachable', async () => {
    const store = new InfluxStore({
      url: `http://127.0.0.1:${await closedPort()}`,
      database: 'unused',
      maxRetries: 2,
      retryDelayMs: 10,
    });
    onTestFinished(() => store.stop());
    const error = await failure(store.start());
    expect(error.retriable).toBe(true);
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/after 3 attempts: ECONNREFUSED/);
  });

  it('gives up on a server that does not answer within timeoutMs, retriably', async () => {
    const server = await silentServer();
    const { port } = server.address() as { port: number };
    const store = new InfluxStore({
      url: `http://127.0.0.1:${port}`,
      database: 'unused',
      timeoutMs: 200,
      maxRetries: 1,
      retryDelayMs: 10,
    });
    onTestFinished(() => store.stop());
    const started = performance.now();
    const error = await failure(store.start());
    expect(error.retriable).toBe(true);
    expect(error.message).toMatch(/no answer within 200 ms/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('turns a write InfluxDB rejects (400) into a non-retriable StoreError with the server message', async () => {
    const { store, database } = await startedStore();
    // Another writer made `total` a string field in this shard; our float cannot go in.
    const seeded = await fetch(`${url}/write?db=${database}&precision=ms`, {
      method: 'POST',
      body: `meter,meter=m1,site=s total="text" ${T0}`,
    });
    expect(seeded.status).toBe(204);
    const error = await failure(store.write([meter('m1', T0 + 1, 1)]));
    expect(error.retriable).toBe(false);
    expect(error.code).toBe('REJECTED');
    expect(error.message).toMatch(/HTTP 400: .*field type conflict/);
  });

  it('rejects a tag value line protocol would alter, before writing anything', async () => {
    const { store } = await startedStore();
    const bad: Point = { ...meter('m2', T0 + 1, 2), tags: { site: 's', meter: 'm2', building: 'C:\\' } };
    const error = await failure(store.write([meter('m1', T0, 1), bad]));
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(/point 1 \(meter\): tag "building"/);
    expect(await store.query({ measurement: 'meter', fields: ['total'], from: T0, to: T0 + 10 })).toEqual([]);
  });

  it('stops promptly while a write waits to retry, with a retriable error', async () => {
    const { store, database } = await startedStore({ retryDelayMs: 60_000, maxRetryDelayMs: 60_000 });
    await influxql(`DROP DATABASE "${database}"`); // 404 database not found: retriable for the client library
    const write = failure(store.write([meter('m1', T0, 1)]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await store.stop();
    const error = await write;
    expect(error.retriable).toBe(true);
    expect(error.code).toBe('STOPPED');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses calls before start', async () => {
    const store = new InfluxStore({ url, database: freshDatabase() });
    const error = await failure(store.write([meter('m1', T0, 1)]));
    expect(error.code).toBe('NOT_STARTED');
  });
});
