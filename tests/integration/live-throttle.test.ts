/**
 * The live feed's leading-edge throttle, on the real api (listening on a port) with its socket.io
 * gateway, a real socket.io client, and the live feed over a DuckDB rolling store, fed committed
 * points of one meter as the ingest would:
 *
 * - after a quiet spell a reading is pushed at once (a device publishing once a second is not
 *   held back), and a burst after it goes out as one more update with the burst's latest state;
 * - a meter reporting every 50 ms for 1.2 s is pushed at most 4 times a second, the last update
 *   with the latest reading;
 * - a client that subscribes with `batch: true` gets the same updates as `meters` frames: the
 *   meters of one committed batch in one frame, a lone reading at once, a burst coalesced under
 *   the same throttle; the meters of another department's room in a frame of their own.
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
/** A client taking meters in batches: the `meters` frames it got (meter ids and powers), and whether it got any `meter`. */
let batchSocket: Socket;
const frames: Array<{ at: number; meters: Array<{ id: string; power: number | null }> }> = [];
let batchGotSingle = false;
const maker = new PointMaker(facility);
let total = 10_000;

/** Commits one reading of b1-e-main (ts now) with `power` kW, as the ingest would. */
function reading(power: number): void {
  total += 0.01;
  const out: Point[] = [];
  maker.append('meter', 'b1-e-main', [{ ts: Date.now(), total, power }] as never, out);
  publish(out);
}

/** Commits one batch holding a reading of each of `meters` (ts now), with `power` kW. */
function readings(meters: readonly string[], power: number): void {
  total += 0.01;
  const out: Point[] = [];
  for (const id of meters) maker.append('meter', id, [{ ts: Date.now(), total, power }] as never, out);
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
  batchSocket = io(`http://127.0.0.1:${port}`, {
    auth: { token: ADMIN },
    transports: ['websocket'],
    reconnection: false,
  });
  teardown.push(async () => batchSocket.close());
  batchSocket.on('meter', () => {
    batchGotSingle = true;
  });
  batchSocket.on('meters', (events: Array<{ id: string; power: number | null }>) => {
    frames.push({ at: Date.now(), meters: events.map((e) => ({ id: e.id, power: e.power })) });
  });
  const batchAck = (await batchSocket
    .timeout(10_000)
    .emitWithAck('subscribe', { rooms: ['building:b1'], batch: true })) as { rooms: string[] };
  expect(batchAck.rooms).toEqual(['building:b1']);
  // The latest state of the building's meters came as one frame.
  await until(() => frames.length >= 1, 'the latest state', 5000, 2);
  expect(frames[0]?.meters.length).toBe(facility.meters.filter((m) => m.building === 'b1').length);
});

/** Waits for a quiet spell, then forgets what came before. */
async function quiet(): Promise<void> {
  await sleep(400);
  received.length = 0;
  frames.length = 0;
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

describe('meters in batches (`subscribe` with `batch: true`)', () => {
  it('sends the meters of one committed batch in one frame, at once; the other client one event each', async () => {
    await quiet();
    const started = Date.now();
    const ids = ['b1-e-main', 'b1-e-light', 'b1-e-hvac', 'b1-e-power'];
    readings(ids, 42);
    await until(() => frames.length >= 1 && received.length >= 1, 'the batch', 5000, 2);
    await sleep(300);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.meters.map((m) => m.id).sort()).toEqual([...ids].sort());
    expect(frames[0]?.meters.every((m) => m.power === 42)).toBe(true);
    // Leading edge: nothing waited for a tick.
    expect((frames[0]?.at ?? Number.POSITIVE_INFINITY) - started).toBeLessThan(200);
    expect(received.map((r) => r.power)).toEqual([42]);
    expect(batchGotSingle).toBe(false);
  });

  it('puts a department’s meter in a frame of its own rooms', async () => {
    await quiet();
    readings(['b1-e-main', 'b1-e-genoffice'], 7);
    await until(() => frames.length >= 2, 'both frames', 5000, 2);
    await sleep(300);
    const seen = frames.map((f) => f.meters.map((m) => m.id));
    expect(seen.flat().sort()).toEqual(['b1-e-genoffice', 'b1-e-main']);
    expect(seen.every((ids) => ids.length === 1)).toBe(true);
  });

  it('throttles each meter to four a second, leading edge, the burst coalesced into its latest state', async () => {
    await quiet();
    for (let i = 1; i <= 20; i++) reading(500 + i);
    await until(() => frames.length >= 2, 'the coalesced frame', 5000, 2);
    await sleep(400);
    const powers = frames.flatMap((f) => f.meters.filter((m) => m.id === 'b1-e-main').map((m) => m.power));
    expect(powers).toEqual([501, 520]);
    const main = frames.filter((f) => f.meters.some((m) => m.id === 'b1-e-main'));
    expect((main[1]?.at ?? 0) - (main[0]?.at ?? 0)).toBeGreaterThanOrEqual(240);
  });
});
