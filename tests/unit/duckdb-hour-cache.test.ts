/** The hour blocks the DuckDB store keeps for sums: generations, invalidation and the byte budget. */
import { describe, expect, it } from 'vitest';
import {
  BLOCK_HOURS,
  BLOCK_MS,
  blockOf,
  type HourBlock,
  HourBlockCache,
} from '../../storage/duckdb/hour-cache.ts';

const block = (value: number): HourBlock => ({
  present: new Uint8Array(BLOCK_HOURS).fill(1),
  values: new Float64Array(BLOCK_HOURS).fill(value),
});
/** Bytes of one block of one field: a byte of presence and 8 of value per hour, and 64 of objects. */
const SIZE = 64 + BLOCK_HOURS * 9;
const KEY = HourBlockCache.key('meter', 's', 'm1', 'consumption');

describe('HourBlockCache', () => {
  it('aligns blocks to multiples of their length, before 1970 too', () => {
    expect(blockOf(0)).toBe(0);
    expect(blockOf(BLOCK_MS - 1)).toBe(0);
    expect(blockOf(BLOCK_MS)).toBe(BLOCK_MS);
    expect(blockOf(-1)).toBe(-BLOCK_MS);
  });

  it('keeps a block read at the current generation, and drops one read across a write', () => {
    const cache = new HourBlockCache(10 * SIZE);
    const before = cache.generation(KEY);
    cache.put(KEY, 0, block(1), before);
    expect(cache.get(KEY, 0)?.values[0]).toBe(1);
    // A read starts, a write of the device lands, the read ends: what it read is not kept.
    const reading = cache.generation(KEY);
    cache.invalidate(KEY, 5 * BLOCK_MS, Number.POSITIVE_INFINITY);
    cache.put(KEY, BLOCK_MS, block(2), reading);
    expect(cache.get(KEY, BLOCK_MS)).toBeUndefined();
    // Other devices are not concerned.
    const other = HourBlockCache.key('meter', 's', 'm2', 'consumption');
    cache.put(other, 0, block(3), cache.generation(other));
    expect(cache.get(other, 0)?.values[0]).toBe(3);
    expect(cache.stats).toMatchObject({ blocks: 2, bytes: 2 * SIZE, hits: 2, misses: 1 });
  });

  it('drops the blocks a write touches, from the block of its start on, and keeps those before', () => {
    const cache = new HourBlockCache(10 * SIZE);
    for (let b = 0; b < 4; b++) cache.put(KEY, b * BLOCK_MS, block(b), cache.generation(KEY));
    // A write from the middle of block 1 to the start of block 3.
    cache.invalidate(KEY, BLOCK_MS + 5 * 3_600_000, 3 * BLOCK_MS);
    expect([0, 1, 2, 3].map((b) => cache.get(KEY, b * BLOCK_MS) !== undefined)).toEqual([
      true,
      false,
      false,
      true,
    ]);
    expect(cache.stats.bytes).toBe(2 * SIZE);
  });

  it('lets the least recently used blocks go beyond its budget, and keeps none with a budget of 0', () => {
    const cache = new HourBlockCache(2 * SIZE);
    cache.put(KEY, 0, block(0), 0);
    cache.put(KEY, BLOCK_MS, block(1), 0);
    cache.get(KEY, 0); // block 0 is now the most recently used
    cache.put(KEY, 2 * BLOCK_MS, block(2), 0);
    expect(cache.get(KEY, BLOCK_MS)).toBeUndefined();
    expect(cache.get(KEY, 0)).toBeDefined();
    expect(cache.get(KEY, 2 * BLOCK_MS)).toBeDefined();
    expect(cache.stats.bytes).toBe(2 * SIZE);
    // A read of more than half the budget does not go through it.
    expect(cache.fits(1)).toBe(true);
    expect(cache.fits(2)).toBe(false);
    const none = new HourBlockCache(0);
    none.put(KEY, 0, block(0), 0);
    expect(none.fits(1)).toBe(false);
    expect(none.get(KEY, 0)).toBeUndefined();
    expect(() => new HourBlockCache(-1)).toThrow(/budget/);
  });
});
