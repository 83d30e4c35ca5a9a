/** The hour blocks the DuckDB store keeps for sums: writes, reads across writes, and the byte budget. */
import { describe, expect, it } from 'vitest';
import {
  BLOCK_HOURS,
  BLOCK_MS,
  blockOf,
  emptyBlock,
  type HourBlock,
  HourBlockCache,
} from '../../storage/duckdb/hour-cache.ts';

const block = (value: number): HourBlock => ({
  present: new Uint8Array(BLOCK_HOURS).fill(1),
  values: new Float64Array(BLOCK_HOURS).fill(value),
});
/** Bytes counted for one block: a byte of presence and 8 of value per hour, and 200 of objects. */
const SIZE = 200 + BLOCK_HOURS * 9;
const KEY = HourBlockCache.key('meter', 's', 'm1');
const F = 'consumption';
const ALL = Number.POSITIVE_INFINITY;

describe('HourBlockCache', () => {
  it('aligns blocks to multiples of their length, before 1970 too', () => {
    expect(blockOf(0)).toBe(0);
    expect(blockOf(BLOCK_MS - 1)).toBe(0);
    expect(blockOf(BLOCK_MS)).toBe(BLOCK_MS);
    expect(blockOf(-1)).toBe(-BLOCK_MS);
  });

  it('keeps what a read saw only if its device was not written since the read began', () => {
    const cache = new HourBlockCache(10 * SIZE);
    cache.put(KEY, F, 0, block(1), cache.tick);
    expect(cache.get(KEY, F, 0)?.values[0]).toBe(1);
    // A read begins, a write of the device lands, the read ends: what it read is not kept, and
    // the read learns that the device changed.
    const since = cache.tick;
    cache.beginWrite(KEY, 5 * BLOCK_MS, ALL);
    cache.endWrite(KEY, 5 * BLOCK_MS, ALL);
    cache.put(KEY, F, BLOCK_MS, block(2), since);
    expect(cache.get(KEY, F, BLOCK_MS)).toBeUndefined();
    expect(cache.changedSince(KEY, since)).toBe(true);
    expect(cache.changedSince(KEY, cache.tick)).toBe(false);
    // Other devices are not concerned.
    const other = HourBlockCache.key('meter', 's', 'm2');
    expect(cache.changedSince(other, since)).toBe(false);
    cache.put(other, F, 0, block(3), since);
    expect(cache.get(other, F, 0)?.values[0]).toBe(3);
    expect(cache.stats).toMatchObject({ blocks: 2, bytes: 2 * SIZE, hits: 2, misses: 1 });
  });

  it('serves and keeps nothing of a device while it is being written', () => {
    const cache = new HourBlockCache(10 * SIZE);
    cache.put(KEY, F, 0, block(1), cache.tick);
    cache.beginWrite(KEY, 2 * BLOCK_MS, ALL);
    // Block 0 is before the write and stays, but is not served until the write is over.
    expect(cache.get(KEY, F, 0)).toBeUndefined();
    cache.put(KEY, F, BLOCK_MS, block(2), cache.tick);
    expect(cache.changedSince(KEY, cache.tick)).toBe(true);
    cache.endWrite(KEY, 2 * BLOCK_MS, ALL);
    expect(cache.get(KEY, F, 0)?.values[0]).toBe(1);
    expect(cache.get(KEY, F, BLOCK_MS)).toBeUndefined();
  });

  it('drops the blocks a write touches, from the block of its start on, and keeps those before', () => {
    const cache = new HourBlockCache(10 * SIZE);
    for (let b = 0; b < 4; b++) cache.put(KEY, F, b * BLOCK_MS, block(b), cache.tick);
    cache.put(KEY, 'coveredMs', 3 * BLOCK_MS, block(9), cache.tick);
    // A write from the middle of block 1 to the start of block 3, every field.
    cache.beginWrite(KEY, BLOCK_MS + 5 * 3_600_000, 3 * BLOCK_MS);
    cache.endWrite(KEY, BLOCK_MS + 5 * 3_600_000, 3 * BLOCK_MS);
    expect([0, 1, 2, 3].map((b) => cache.get(KEY, F, b * BLOCK_MS) !== undefined)).toEqual([
      true,
      false,
      false,
      true,
    ]);
    expect(cache.get(KEY, 'coveredMs', 3 * BLOCK_MS)?.values[0]).toBe(9);
    expect(cache.stats.bytes).toBe(3 * SIZE);
  });

  it('keeps nothing read before it was cleared', () => {
    const cache = new HourBlockCache(10 * SIZE);
    const since = cache.tick;
    cache.clear();
    cache.put(KEY, F, 0, block(1), since);
    expect(cache.get(KEY, F, 0)).toBeUndefined();
    expect(cache.changedSince(KEY, since)).toBe(true);
  });

  it('lets the least recently used blocks go beyond its budget, and keeps none with a budget of 0', () => {
    const cache = new HourBlockCache(2 * SIZE);
    cache.put(KEY, F, 0, block(0), 0);
    cache.put(KEY, F, BLOCK_MS, block(1), 0);
    cache.get(KEY, F, 0); // block 0 is now the most recently used
    cache.put(KEY, F, 2 * BLOCK_MS, block(2), 0);
    expect(cache.get(KEY, F, BLOCK_MS)).toBeUndefined();
    expect(cache.get(KEY, F, 0)).toBeDefined();
    expect(cache.get(KEY, F, 2 * BLOCK_MS)).toBeDefined();
    expect(cache.stats.bytes).toBe(2 * SIZE);
    // A block without rows holds no hours.
    cache.put(KEY, F, 3 * BLOCK_MS, emptyBlock(), 0);
    expect(cache.stats.bytes).toBe(SIZE + 200);
    // A read of more than half the budget does not go through it.
    expect(cache.fits(1)).toBe(true);
    expect(cache.fits(2)).toBe(false);
    const none = new HourBlockCache(0);
    none.put(KEY, F, 0, block(0), 0);
    expect(none.fits(1)).toBe(false);
    expect(none.get(KEY, F, 0)).toBeUndefined();
    expect(() => new HourBlockCache(-1)).toThrow(/budget/);
  });
});
