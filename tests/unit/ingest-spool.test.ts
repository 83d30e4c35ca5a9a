/**
 * The spool on a real file system (a temporary folder): append and sync, read back in order,
 * release in any order, what a restart finds (the drained mark, a record cut short by a crash, a
 * record the disk changed), segments rolled and deleted, the size bound.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { StoreError } from '../../core/store.ts';
import { crc32, crc32Table, Spool, type SpoolMessage, type SpoolOptions } from '../../ingest/spool.ts';

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sfp-spool-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger that keeps its lines. */
function recording(): { log: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  return { log: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }), lines };
}

const message = (n: number): SpoolMessage => ({
  topic: `fac/cd-compound/meter/m${n % 3}/reading`,
  received: 1_764_000_000_000 + n,
  payload: JSON.stringify({ ts: 1_764_000_000_000 + n, total: n / 4 }),
});

const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => message(from + i));

async function opened(dir: string, options: Partial<SpoolOptions> = {}, log = recording().log) {
  const spool = new Spool<string>({ dir, ...options }, log);
  const recovered = await spool.open();
  onTestFinished(() => spool.close());
  return { spool, recovered };
}

async function segments(dir: string): Promise<Array<{ name: string; size: number }>> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.spool')).sort();
  return Promise.all(names.map(async (name) => ({ name, size: (await stat(join(dir, name))).size })));
}

describe('spool', () => {
  it('hands back appended batches in order, with their in-memory form, and counts what it holds', async () => {
    const dir = await folder();
    const { spool, recovered } = await opened(dir);
    expect(recovered).toEqual({ records: 0, messages: 0, bytes: 0 });
    await spool.append(batch(0, 3), 3, 'first');
    await spool.append(batch(3, 2), 4, 'second');
    expect(spool.stats()).toMatchObject({ records: 2, messages: 5, points: 7, segments: 1 });
    const bytes = spool.stats().bytes;
    expect((await segments(dir))[0]?.size).toBe(bytes);

    const a = await spool.next();
    const b = await spool.next();
    expect([a?.hot, b?.hot]).toEqual(['first', 'second']);
    expect(a && (await spool.read(a))).toEqual(batch(0, 3));
    expect(b && (await spool.read(b))).toEqual(batch(3, 2));
    // next() waits for the next append.
    const waiting = spool.next();
    await spool.append(batch(5, 1), 1, 'third');
    expect((await waiting)?.hot).toBe('third');
  });

  it('forgets records in append order only, and deletes everything on a clean close once drained', async () => {
    const dir = await folder();
    const { spool } = await opened(dir);
    for (let i = 0; i < 3; i++) await spool.append(batch(i * 10, 10), 10, `r${i}`);
    const [r0, r1, r2] = [await spool.next(), await spool.next(), await spool.next()];
    if (!r0 || !r1 || !r2) throw new Error('records missing');
    spool.release(r1);
    expect(spool.stats().records).toBe(3);
    spool.release(r0);
    expect(spool.stats()).toMatchObject({ records: 1, messages: 10 });
    spool.release(r2);
    expect(spool.stats()).toMatchObject({ records: 0, messages: 0, bytes: 0 });
    await spool.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('after a restart hands back what was not released, from the drained mark on', async () => {
    const dir = await folder();
    const first = new Spool<string>({ dir }, recording().log);
    await first.open();
    for (let i = 0; i < 4; i++) await first.append(batch(i * 5, 5), 5, `r${i}`);
    const r0 = await first.next();
    if (!r0) throw new Error('no record');
    first.release(r0);
    await first.close();
    // The mark says where the first record the store had not committed begins.
    expect(await readFile(join(dir, 'drained'), 'utf8')).toMatch(/^1 \d+\n$/);

    const { spool, recovered } = await opened(dir);
    expect(recovered).toMatchObject({ records: 3, messages: 15 });
    const got: SpoolMessage[] = [];
    for (let i = 0; i < 3; i++) {
      const record = await spool.next();
      if (!record) throw new Error('record missing');
      expect(record.hot).toBeUndefined();
      got.push(...(await spool.read(record)));
      spool.release(record);
    }
    expect(got).toEqual(batch(5, 15));
    // This run appends to a segment of its own; the old one goes once drained.
    await spool.append(batch(100, 1), 1, 'new');
    await until(async () => (await segments(dir)).length === 1);
    expect((await segments(dir))[0]?.name).toBe('0000000002.spool');
  });

  it('at a restart skips a record cut short by a crash, with a warning, and keeps the ones before it', async () => {
    const dir = await folder();
    const first = new Spool<string>({ dir }, recording().log);
    await first.open();
    await first.append(batch(0, 4), 4, 'whole');
    await first.close();
    const [segment] = await segments(dir);
    if (!segment) throw new Error('no segment');
    // A header saying 1,000 bytes follow, and only 10 of them: the process died mid-write.
    const header = Buffer.alloc(16);
    header.writeUInt32LE(1000, 0);
    await appendFile(join(dir, segment.name), Buffer.concat([header, randomBytes(10)]));

    const { log, lines } = recording();
    const { spool, recovered } = await opened(dir, {}, log);
    expect(recovered).toMatchObject({ records: 1, messages: 4 });
    const record = await spool.next();
    expect(record && (await spool.read(record))).toEqual(batch(0, 4));
    expect(lines.find((line) => line.level === 40)?.msg).toMatch(/cut short by a crash/);
  });

  it('at a restart stops at a record whose checksum does not match, with an error', async () => {
    const dir = await folder();
    const first = new Spool<string>({ dir }, recording().log);
    await first.open();
    await first.append(batch(0, 2), 2, 'a');
    await first.append(batch(2, 2), 2, 'b');
    const sizeOfFirst = first.stats().bytes / 2;
    await first.close();
    const [segment] = await segments(dir);
    if (!segment) throw new Error('no segment');
    const path = join(dir, segment.name);
    const data = await readFile(path);
    // Change one byte of the second record's body.
    const at = Math.ceil(sizeOfFirst) + 20;
    data[at] = (data[at] as number) ^ 0xff;
    await writeFile(path, data);

    const { log, lines } = recording();
    const { recovered } = await opened(dir, {}, log);
    expect(recovered).toMatchObject({ records: 1, messages: 2 });
    expect(lines.find((line) => line.level === 50)?.msg).toMatch(/does not match its checksum/);
  });

  it('begins a new segment past segmentBytes and deletes drained ones', async () => {
    const dir = await folder();
    const { spool } = await opened(dir, { segmentBytes: 600 });
    for (let i = 0; i < 6; i++) await spool.append(batch(i * 4, 4), 4, `r${i}`);
    expect((await segments(dir)).length).toBeGreaterThan(2);
    for (let i = 0; i < 6; i++) {
      const record = await spool.next();
      if (record) spool.release(record);
    }
    await until(async () => (await segments(dir)).length === 1);
    expect(spool.stats()).toMatchObject({ records: 0, bytes: 0 });
  });

  it('refuses an append past maxBytes with a retriable error, keeping nothing of it', async () => {
    const dir = await folder();
    const { spool } = await opened(dir, { maxBytes: 1000 });
    await spool.append(batch(0, 5), 5, 'fits');
    const before = spool.stats();
    const error = await spool.append(batch(5, 10), 10, 'too much').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ retriable: true, code: 'SPOOL_FULL' });
    expect((error as Error).message).toMatch(/the spool is full/);
    expect(spool.stats()).toEqual(before);
    expect((await segments(dir))[0]?.size).toBe(before.bytes);
  });

  it('keeps the in-memory form only within memoryBytes', async () => {
    const dir = await folder();
    // Each record is about 250 bytes: one fits in 400, two do not.
    const { spool } = await opened(dir, { memoryBytes: 400 });
    await spool.append(batch(0, 3), 3, 'kept');
    await spool.append(batch(3, 3), 3, 'over the budget');
    const [first, second] = [await spool.next(), await spool.next()];
    expect([first?.hot, second?.hot]).toEqual(['kept', undefined]);
    // Released, the first one's memory is free again.
    if (first) spool.release(first);
    await spool.append(batch(6, 3), 3, 'kept again');
    expect((await spool.next())?.hot).toBe('kept again');
  });
});

describe('crc32', () => {
  it('is CRC-32/IEEE: the check value of "123456789", in pieces as in one', () => {
    const data = Buffer.from('123456789');
    expect(crc32(data, 0, 9)).toBe(0xcbf43926);
    expect(crc32Table(data, 0, 9)).toBe(0xcbf43926);
    expect(crc32(data, 4, 9, crc32(data, 0, 4))).toBe(0xcbf43926);
    expect(crc32Table(data, 4, 9, crc32Table(data, 0, 4))).toBe(0xcbf43926);
    const random = randomBytes(4096);
    expect(crc32Table(random, 0, random.length)).toBe(crc32(random, 0, random.length));
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
