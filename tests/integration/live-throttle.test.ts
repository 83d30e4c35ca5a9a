/**
 * The live feed's leading-edge throttle, on the real api (listening on a port) with its socket.io
 * gateway, a real socket.io client, and the live feed over a DuckDB rolling store, fed committed
 * points of one meter as the ingest would:
 *
 * - after a quiet spell a reading is pushed at once (a device publishing once a second is not
 *   held back), and a burst after it goes out as one more update with the burst's latest state;
 * - a meter reporting every 50 ms for 1.2 s is pushed at most 4 times a second, the last update
 *   with the latest reading.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { MemoryDeadLetterSink } from '../../ingest/index.ts';
import { LiveFeed } from '../../live/feed.ts';
import { PointMaker } from '../../simulators/points.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { demoFacility, until } from '../setup/wait.ts';

const ADMIN = 'live-throttle-admin-token-0123456789';
const facility = demoFacility();
const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

let publish: (points: readonly Point[]) => void = () => {};
let socket: Socket;
/** `meter` events of b1-e-main: when received and the power they carry. */
const received: Array<{ at: number; power: number | null }> = [];
const maker = new PointMaker(facility);
let total = 10_000;

/** Commits one reading of b1-e-main (ts now) with `power` kW, as the ingest would. */
function reading(power: number): void {
  total += 0.01;
  const out: Point[] = [];
  maker.append('meter', 'b1-e-main', [{ ts: Date.now(), total, power }] as never, out);
  publish(out);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-live-throttle-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const store = new RollingStore({
    store: new DuckDbStore({ path: join(folder, 'facility.duckdb') }),
    facility,
  });
  await store.start();
  teardown.push(() => store.stop());
  const feed = new LiveFeed({
    facility,
    store,
    points: (listener) => {
      publish = listener;
      return () => {
        publish = () => {};
      };
    },
  });
  await feed.start();
  teardown.push(() => feed.stop());
  const app: FastifyInstance = buildApp({
    version: '0.0.0-test',
    facility,
    store,
    deadLetters: new MemoryDeadLetterSink(),
    data: folder,
    adminToken: ADMIN,
    live: feed,
    rateLimit: false,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  teardown.push(() => app.close());
  const port = (app.server.address() as AddressInfo).port;
  socket = io(`http://127.0.0.1:${port}`, {
    auth: { token: ADMIN },
    transports: ['websocket'],
    reconnection: false,
  });
  teardown.push(async () => socket.close());
  socket.on('meter', (event: { id: string; power: number | null }) => {
    if (event.id === 'b1-e-main') received.push({ at: Date.now(), power: event.power });
  });
  const ack = (await socket.timeout(10_000).emitWithAck('subscribe', { rooms: ['building:b1'] })) as {
    rooms: string[];
  };
  expect(ack.rooms).toEqual(['building:b1']);
});

/** Waits for a quiet spell, then forgets what came before. */
async function quiet(): Promise<void> {
  await sleep(400);
  received.length = 0;
}

describe('the live feed’s leading-edge throttle (250 ms per subject)', () => {
  it('pushes the first reading after a quiet spell at once, and coalesces what follows into one update', async () => {
    await quiet();
    // 20 readings committed back to back. Leading edge: the first goes out as it comes (its own
    // value, 201: nothing waited for the others); the other 19 are coalesced into one update with
    // the latest state (220) when the 250 ms are over. A trailing-edge throttle would send 220 only.
    for (let i = 1; i <= 20; i++) reading(200 + i);
    await until(() => received.length >= 2, 'the coalesced update', 5000, 2);
    await sleep(400);
    expect(received.map((r) => r.power)).toEqual([201, 220]);
  });

  it('pushes a meter reporting every 50 ms at most four times a second, the last with the latest', async () => {
    await quiet();
    const started = Date.now();
    for (let i = 1; i <= 24; i++) {
      reading(300 + i);
      await sleep(50);
    }
    await sleep(400);
    const elapsed = Date.now() - started;
    // 24 readings over ≥ 1.2 s: one update at the leading edge, then one per 250 ms window at most
    // (so 4 updates a second), and at least one a window while readings keep coming.
    expect(received.length).toBeGreaterThanOrEqual(4);
    expect(received.length).toBeLessThanOrEqual(Math.floor(elapsed / 250) + 1);
    expect(received[0]?.power).toBe(301);
    expect(received.at(-1)?.power).toBe(324);
  });
});
