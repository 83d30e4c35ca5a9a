/**
 * Blocks of the hour tier kept in memory by the DuckDB store, so that a sum over months reads
 * from DuckDB only the hours that changed since it last read them.
 *
 * A block is {@link BLOCK_HOURS} hours of one number field of one device of one kind and site
 * (aligned to multiples of that length since 1970), kept for the fields sums ask for. A rollup
 * write drops the blocks of each device it writes from the block its start is in on (and only
 * those: rows before it are not touched), so the block of "now" is read again after each fold of
 * the live ingest while the months before stay.
 *
 * What is served is what a read inside one transaction would see:
 * - a write marks its devices from before its transaction until after it: a device being written
 *   is neither served from memory nor kept;
 * - a read takes the {@link HourBlockCache.tick} before its transaction begins, and a block it read
 *   is kept only if its device has not changed since that tick;
 * - after its reads, a sum asks {@link HourBlockCache.changedSince} for every device it used, and
 *   reads again straight from DuckDB if one changed meanwhile (a block served from memory may then
 *   be older than the transaction's snapshot).
 *
 * Least recently used blocks go first once the blocks hold more than the budget of bytes.
 */

/** Hours per block: about 10.7 days. */
export const BLOCK_HOURS = 256;
const HOUR_MS = 3_600_000;
export const BLOCK_MS = BLOCK_HOURS * HOUR_MS;
/** Bytes counted for the objects and map entries around a block's arrays. */
const BLOCK_OVERHEAD = 200;

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

/** A device of a kind and site: its blocks by field and start, and when it last changed. */
interface DeviceEntry {
  /** The tick of its last write (begun or ended). */
  changedAt: number;
  /** Writes of it under way. */
  writing: number;
  readonly blocks: Map<string, Map<number, HourBlock>>;
}

/** Default budget of {@link HourBlockCache}: 128 MB. */
export const HOUR_CACHE_BYTES = 128 * 1024 * 1024;

/**
 * The blocks, per device key (kind, site and device) and field, with a byte budget. An entry per
 * device ever written or read stays (a few hundred bytes each); its blocks go by the budget.
 */
export class HourBlockCache {
  readonly #maxBytes: number;
  readonly #devices = new Map<string, DeviceEntry>();
  /** Every kept block, least recently used first (a Map keeps insertion order). */
  readonly #lru = new Map<
    HourBlock,
    { readonly entry: DeviceEntry; readonly field: string; readonly start: number }
  >();
  #bytes = 0;
  #tick = 0;
  /** The tick of the last {@link clear}: nothing read before it is kept. */
  #clearedAt = 0;
  #hits = 0;
  #misses = 0;

  constructor(maxBytes = HOUR_CACHE_BYTES) {
    if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0))
      throw new RangeError(`the hour cache budget must be a whole number of bytes, not ${maxBytes}`);
    this.#maxBytes = maxBytes;
  }

  /** The key of a device of a kind and site. */
  static key(kind: string, site: string, device: string): string {
    return `${kind}\u0000${site}\u0000${device}`;
  }

  /** Bytes and blocks kept, and how many blocks asked for were there and not. */
  get stats(): { bytes: number; blocks: number; hits: number; misses: number } {
    return { bytes: this.#bytes, blocks: this.#lru.size, hits: this.#hits, misses: this.#misses };
  }

  /** Take it before a read's transaction begins; hand it to {@link put} with what was read. */
  get tick(): number {
    return this.#tick;
  }

  /**
   * Whether a read of `blocks` blocks should go through the cache: blocks are kept at all, and
   * they take at most half the budget (a read larger than that would push out its own blocks
   * before the next read, and building them would cost more than reading the rows straight).
   */
  fits(blocks: number): boolean {
    return this.#maxBytes > 0 && blocks * (BLOCK_OVERHEAD + 9 * BLOCK_HOURS) <= this.#maxBytes / 2;
  }

  /** A block kept, unless its device is being written. */
  get(key: string, field: string, start: number): HourBlock | undefined {
    const entry = this.#devices.get(key);
    const block = entry && entry.writing === 0 ? entry.blocks.get(field)?.get(start) : undefined;
    if (!block) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    const where = this.#lru.get(block) as { entry: DeviceEntry; field: string; start: number };
    this.#lru.delete(block);
    this.#lru.set(block, where);
    return block;
  }

  /** Keeps a block read in a transaction begun after `since` (a {@link tick}), if still current. */
  put(key: string, field: string, start: number, block: HourBlock, since: number): void {
    if (this.#maxBytes === 0 || since < this.#clearedAt) return;
    const entry = this.#entry(key);
    if (entry.writing > 0 || entry.changedAt > since) return;
    let byStart = entry.blocks.get(field);
    if (!byStart) entry.blocks.set(field, (byStart = new Map()));
    const old = byStart.get(start);
    if (old) this.#forget(old);
    byStart.set(start, block);
    this.#lru.set(block, { entry, field, start });
    this.#bytes += sizeOf(block);
    for (const [oldest, where] of this.#lru) {
      if (this.#bytes <= this.#maxBytes) break;
      where.entry.blocks.get(where.field)?.delete(where.start);
      this.#forget(oldest);
    }
  }

  /** Whether the device was written, or is being written, since `since` (a {@link tick}). */
  changedSince(key: string, since: number): boolean {
    const entry = this.#devices.get(key);
    return since < this.#clearedAt || (entry !== undefined && (entry.writing > 0 || entry.changedAt > since));
  }

  /** A write of the device's rows in [from, to) begins: its blocks there go, and none is served until it ends. */
  beginWrite(key: string, from: number, to: number): void {
    const entry = this.#entry(key);
    entry.writing++;
    this.#changed(entry, from, to);
  }

  /** The write begun by {@link beginWrite} with the same range has committed or failed. */
  endWrite(key: string, from: number, to: number): void {
    const entry = this.#entry(key);
    this.#changed(entry, from, to);
    entry.writing = Math.max(0, entry.writing - 1);
  }

  /** Drops every block; nothing read before is kept. */
  clear(): void {
    this.#clearedAt = ++this.#tick;
    for (const entry of this.#devices.values()) entry.blocks.clear();
    this.#lru.clear();
    this.#bytes = 0;
  }

  #entry(key: string): DeviceEntry {
    let entry = this.#devices.get(key);
    if (!entry) {
      entry = { changedAt: 0, writing: 0, blocks: new Map() };
      this.#devices.set(key, entry);
    }
    return entry;
  }

  #changed(entry: DeviceEntry, from: number, to: number): void {
    entry.changedAt = ++this.#tick;
    const first = blockOf(from);
    for (const byStart of entry.blocks.values()) {
      for (const [start, block] of byStart) {
        if (start >= first && start < to) {
          byStart.delete(start);
          this.#forget(block);
        }
      }
    }
  }

  #forget(block: HourBlock): void {
    if (this.#lru.delete(block)) this.#bytes -= sizeOf(block);
  }
}

/** Bytes of a block: its arrays and the objects around them. */
function sizeOf(block: HourBlock): number {
  return BLOCK_OVERHEAD + block.present.byteLength + block.values.byteLength;
}
