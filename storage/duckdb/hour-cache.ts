/**
 * Blocks of the hour tier kept in memory by the DuckDB store, so that a sum over months reads
 * from DuckDB only the hours that changed since it last read them.
 *
 * A block is {@link BLOCK_HOURS} hours of one number field of one device of one kind and site
 * (aligned to multiples of that length since 1970), kept for the fields sums ask for. A rollup
 * write drops the blocks of each device it writes from the block its start is in on (and only
 * those: rows before it are not touched), so the block of "now" is read again after each fold of the live ingest while
 * the months before stay. A read that overlapped a write must not keep what it read: every write
 * counts a generation per key before and after its transaction, and a block read is kept only if
 * its key's generation did not move between the start of the read and its end.
 *
 * Least recently used blocks go first once the blocks hold more than the budget of bytes.
 */

/** Hours per block: about 10.7 days. */
export const BLOCK_HOURS = 256;
const HOUR_MS = 3_600_000;
export const BLOCK_MS = BLOCK_HOURS * HOUR_MS;

/** Start of the block holding `time`. */
export const blockOf = (time: number): number => time - (((time % BLOCK_MS) + BLOCK_MS) % BLOCK_MS);

/** One field of one device over the hours of a block. */
export interface HourBlock {
  /** 1 where the device has a row for that hour. */
  readonly present: Uint8Array;
  /** Each hour's value of the field; NULL as 0. */
  readonly values: Float64Array;
}

const NO_HOURS = new Uint8Array(0);
const NO_VALUES = new Float64Array(0);

/** A block without rows (a device not yet reporting, a year before the history): no hours held. */
export function emptyBlock(): HourBlock {
  return { present: NO_HOURS, values: NO_VALUES };
}

interface DeviceEntry {
  generation: number;
  readonly blocks: Map<number, HourBlock>;
}

/** Default budget of {@link HourBlockCache}: 128 MB. */
export const HOUR_CACHE_BYTES = 128 * 1024 * 1024;

/** The blocks, per key (kind, site, device and field), with a byte budget. */
export class HourBlockCache {
  readonly #maxBytes: number;
  readonly #devices = new Map<string, DeviceEntry>();
  /** Every kept block, least recently used first (a Map keeps insertion order). */
  readonly #lru = new Map<HourBlock, { readonly key: string; readonly start: number }>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(maxBytes = HOUR_CACHE_BYTES) {
    if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0))
      throw new RangeError(`the hour cache budget must be a whole number of bytes, not ${maxBytes}`);
    this.#maxBytes = maxBytes;
  }

  /** The key of a field of a device of a kind and site. */
  static key(kind: string, site: string, device: string, field: string): string {
    return `${kind}\u0000${site}\u0000${device}\u0000${field}`;
  }

  /**
   * Whether a read of `blocks` blocks should go through the cache: blocks are kept at all, and
   * they take at most half the budget (a read larger than that would push out its own blocks
   * before the next read, and building them would cost more than reading the rows straight).
   */
  fits(blocks: number): boolean {
    return this.#maxBytes > 0 && blocks * (64 + 9 * BLOCK_HOURS) <= this.#maxBytes / 2;
  }

  /** Bytes and blocks kept, and how many blocks asked for were there and not. */
  get stats(): { bytes: number; blocks: number; hits: number; misses: number } {
    return { bytes: this.#bytes, blocks: this.#lru.size, hits: this.#hits, misses: this.#misses };
  }

  /** The key's generation: take it before a read, and hand it to {@link put} with what was read. */
  generation(key: string): number {
    return this.#devices.get(key)?.generation ?? 0;
  }

  get(key: string, start: number): HourBlock | undefined {
    const block = this.#devices.get(key)?.blocks.get(start);
    if (!block) this.#misses++;
    else {
      this.#hits++;
      const where = this.#lru.get(block) as { key: string; start: number };
      this.#lru.delete(block);
      this.#lru.set(block, where);
    }
    return block;
  }

  /** Keeps a block read while the key's generation was `generation` (else drops it). */
  put(key: string, start: number, block: HourBlock, generation: number): void {
    if (this.#maxBytes === 0) return;
    let entry = this.#devices.get(key);
    if (!entry) {
      entry = { generation: 0, blocks: new Map() };
      this.#devices.set(key, entry);
    }
    if (entry.generation !== generation) return;
    const old = entry.blocks.get(start);
    if (old) this.#forget(old);
    entry.blocks.set(start, block);
    this.#lru.set(block, { key, start });
    this.#bytes += sizeOf(block);
    for (const [oldest, where] of this.#lru) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#devices.get(where.key)?.blocks.delete(where.start);
      this.#forget(oldest);
    }
  }

  /** A write of the key's rows in [from, to) is under way or done: its blocks there go. */
  invalidate(key: string, from: number, to: number): void {
    let entry = this.#devices.get(key);
    if (!entry) {
      entry = { generation: 0, blocks: new Map() };
      this.#devices.set(key, entry);
    }
    entry.generation++;
    const first = blockOf(from);
    for (const [start, block] of entry.blocks) {
      if (start >= first && start < to) {
        entry.blocks.delete(start);
        this.#forget(block);
      }
    }
  }

  clear(): void {
    for (const entry of this.#devices.values()) {
      entry.generation++;
      entry.blocks.clear();
    }
    this.#lru.clear();
    this.#bytes = 0;
  }

  #forget(block: HourBlock): void {
    if (this.#lru.delete(block)) this.#bytes -= sizeOf(block);
  }
}

/** Bytes of a block, with a nominal 64 for the objects around its arrays. */
function sizeOf(block: HourBlock): number {
  return 64 + block.present.byteLength + block.values.byteLength;
}
