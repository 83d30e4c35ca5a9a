/**
 * The spool: an append-only file of the readings messages the in-process ingest has acknowledged
 * to their devices and the store has not committed yet — a disk buffer like those of Telegraf
 * (`outputs.*.buffer`) or Vector (`buffer.type = "disk"`). With a remote store (InfluxDB), a store
 * that is down or restarting then holds nothing back from the devices: each batch is appended and
 * synced (one `fdatasync` per batch: group commit), acknowledged, and written to the store in the
 * order it arrived as soon as the store takes it; a restart finds what the store had not taken
 * yet and writes it then.
 *
 * Layout of `dir`: segments `0000000001.spool`, `0000000002.spool`, … (a new one at each start,
 * and when the current one passes `segmentBytes`), each a run of records:
 *
 * | bytes | what |
 * |---|---|
 * | 4 | body length, unsigned little-endian |
 * | 4 | messages in the record |
 * | 4 | points in the record |
 * | 4 | CRC-32 (IEEE 802.3) of the 12 bytes above and the body |
 * | length | body: UTF-8 JSON `[[topic, received epoch ms, payload text], …]` |
 *
 * and `drained`, `"{segment} {offset}\n"`: where the first record the store has not committed
 * begins. It is rewritten after the store commits, without a sync: if it is behind after a
 * crash, some records are written to the store twice, which the store absorbs (one point per
 * series and time). A segment wholly before it is deleted.
 *
 * A record cut short by a crash while it was being written (the process died before the sync, so
 * its messages were not acknowledged) ends its segment's scan at start-up, with a warning; a
 * record whose CRC does not match (the disk changed it) does too, with an error naming what is
 * skipped.
 *
 * The spool stores messages, not points: the ingest decodes them again when it reads them back,
 * at the time they were received, which gives the same points (core/telemetry/decode.ts is pure).
 * Records appended by this process keep their decoded form in memory while it fits in
 * `memoryBytes`, so the store is normally fed without reading the file back.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import type { Logger } from 'pino';
import { StoreError } from '../core/store.ts';

/** One message as the spool keeps it. */
export interface SpoolMessage {
  readonly topic: string;
  /** When the ingest received it, epoch ms: the clock its decoding used. */
  readonly received: number;
  /** The payload, UTF-8 text (the decoder accepted it, so it is valid UTF-8). */
  readonly payload: string;
}

/** A record of the spool: one appended batch. */
export interface SpoolRecord<H> {
  readonly segment: number;
  readonly offset: number;
  /** Bytes on disk, header included. */
  readonly size: number;
  readonly messages: number;
  readonly points: number;
  /** The appender's in-memory form of the batch, while the memory budget allows. */
  hot: H | undefined;
}

/** What the spool holds now. */
export interface SpoolStats {
  /** Bytes of records the store has not committed, headers included. */
  readonly bytes: number;
  /** Records (batches) the store has not committed. */
  readonly records: number;
  readonly messages: number;
  readonly points: number;
  /** Segment files on disk. */
  readonly segments: number;
  /** Most bytes it may hold; past it, appending fails (retriably) until the store takes some. */
  readonly maxBytes: number;
}

/** Options of {@link Spool}. */
export interface SpoolOptions {
  /** Folder of the spool; created if missing. One process at a time. */
  readonly dir: string;
  /** Most bytes held; default 1 GiB. */
  readonly maxBytes?: number;
  /** A new segment is begun past this size; default 16 MiB. */
  readonly segmentBytes?: number;
  /** Bytes of appended records whose in-memory form is kept for the drain; default 16 MiB. */
  readonly memoryBytes?: number;
}

/** Defaults of {@link SpoolOptions}. */
export const SPOOL_DEFAULTS = {
  maxBytes: 1024 * 1024 * 1024,
  segmentBytes: 16 * 1024 * 1024,
  memoryBytes: 16 * 1024 * 1024,
} as const;

const HEADER_BYTES = 16;
const SEGMENT = /^(\d{10})\.spool$/;

/** What {@link Spool.open} found. */
export interface SpoolRecovery {
  readonly records: number;
  readonly messages: number;
  readonly bytes: number;
}

/** See the module comment. `H` is the appender's in-memory form of a batch. */
export class Spool<H> {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  readonly #memoryBytes: number;
  readonly #log: Logger;
  /** Records not yet committed by the store, oldest first. */
  #records: Array<SpoolRecord<H>> = [];
  /** Records released out of order, waiting for those before them. */
  readonly #released = new Set<SpoolRecord<H>>();
  /** Index in `#records` of the next record {@link next} hands out. */
  #handed = 0;
  #bytes = 0;
  #messages = 0;
  #points = 0;
  #hotBytes = 0;
  /** Segments on disk, ascending. */
  #segments: number[] = [];
  #writer: { segment: number; fd: FileHandle; size: number; broken: boolean } | undefined;
  #appending: Promise<void> = Promise.resolve();
  readonly #readers = new Map<number, FileHandle>();
  #waiters: Array<() => void> = [];
  #closed = false;
  #markWriting: Promise<void> | undefined;
  #markDirty = false;

  constructor(options: SpoolOptions, log: Logger) {
    this.#dir = options.dir;
    this.#maxBytes = options.maxBytes ?? SPOOL_DEFAULTS.maxBytes;
    this.#segmentBytes = options.segmentBytes ?? SPOOL_DEFAULTS.segmentBytes;
    this.#memoryBytes = options.memoryBytes ?? SPOOL_DEFAULTS.memoryBytes;
    this.#log = log;
    if (!(this.#maxBytes > 0) || !(this.#segmentBytes > 0) || !(this.#memoryBytes >= 0)) {
      throw new RangeError('spool: maxBytes and segmentBytes must be > 0, memoryBytes ≥ 0');
    }
  }

  /** The spool's folder. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * Reads what an earlier run left (records the store had not committed), and begins a new
   * segment for this run's appends.
   */
  async open(): Promise<SpoolRecovery> {
    await mkdir(this.#dir, { recursive: true });
    const mark = await this.#readMark();
    const segments = (await readdir(this.#dir))
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const segment of segments) {
      if (mark && segment < mark.segment) {
        await rm(this.#segmentPath(segment), { force: true });
        continue;
      }
      this.#segments.push(segment);
      await this.#scan(segment, mark && segment === mark.segment ? mark.offset : 0);
    }
    const recovered = { records: this.#records.length, messages: this.#messages, bytes: this.#bytes };
    await this.#begin((segments.at(-1) ?? 0) + 1);
    await this.#dropDrainedSegments();
    return recovered;
  }

  /**
   * Appends a batch and syncs it to disk; resolves once it is durable. Appends are written in
   * call order. Rejects with a retriable `StoreError` when the spool is full or the disk fails;
   * nothing of a failed append is kept.
   */
  append(messages: readonly SpoolMessage[], points: number, hot: H): Promise<void> {
    const body = Buffer.from(JSON.stringify(messages.map((m) => [m.topic, m.received, m.payload])), 'utf8');
    const run = this.#appending.then(() => this.#append(body, messages.length, points, hot));
    this.#appending = run.catch(() => undefined);
    return run;
  }

  /**
   * The oldest record not handed out yet, in append order; waits for one. Resolves `undefined`
   * once the spool is closed.
   */
  async next(): Promise<SpoolRecord<H> | undefined> {
    while (!this.#closed) {
      const record = this.#records[this.#handed];
      if (record) {
        this.#handed++;
        return record;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return undefined;
  }

  /** A record's messages, read back from its segment (for a record without its in-memory form). */
  async read(record: SpoolRecord<H>): Promise<SpoolMessage[]> {
    let reader = this.#readers.get(record.segment);
    if (!reader) {
      reader = await open(this.#segmentPath(record.segment), 'r');
      this.#readers.set(record.segment, reader);
    }
    const buffer = Buffer.alloc(record.size);
    const { bytesRead } = await reader.read(buffer, 0, record.size, record.offset);
    const parsed = bytesRead === record.size ? parseRecord(buffer, 0) : undefined;
    if (parsed?.kind !== 'record') {
      throw new StoreError(`spool: record at ${record.segment}:${record.offset} cannot be read back`, {
        code: 'SPOOL_READ',
        retriable: true,
      });
    }
    return parsed.entries();
  }

  /**
   * The store committed the record's messages. Records are forgotten in append order: one
   * released early waits for those before it.
   */
  release(record: SpoolRecord<H>): void {
    this.#released.add(record);
    let moved = false;
    while (this.#records.length > 0 && this.#released.has(this.#records[0] as SpoolRecord<H>)) {
      const head = this.#records.shift() as SpoolRecord<H>;
      this.#released.delete(head);
      this.#handed--;
      this.#bytes -= head.size;
      this.#messages -= head.messages;
      this.#points -= head.points;
      if (head.hot !== undefined) {
        this.#hotBytes -= head.size;
        head.hot = undefined;
      }
      moved = true;
    }
    if (moved) this.#writeMark();
  }

  /** What it holds now. */
  stats(): SpoolStats {
    return {
      bytes: this.#bytes,
      records: this.#records.length,
      messages: this.#messages,
      points: this.#points,
      segments: this.#segments.length,
      maxBytes: this.#maxBytes,
    };
  }

  /**
   * Stops handing out records, writes where the store is up to, closes the files; when the store
   * has everything, deletes the segments too. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of this.#waiters.splice(0)) wake();
    await this.#appending;
    await this.#markWriting;
    if (this.#markDirty) await this.#writeMarkNow();
    const files = [...this.#readers.values(), ...(this.#writer ? [this.#writer.fd] : [])];
    this.#readers.clear();
    this.#writer = undefined;
    await Promise.all(files.map((fd) => fd.close().catch(() => undefined)));
    if (this.#records.length === 0) {
      for (const segment of this.#segments.splice(0)) await rm(this.#segmentPath(segment), { force: true });
      await rm(join(this.#dir, 'drained'), { force: true });
    }
  }

  async #append(body: Buffer, messages: number, points: number, hot: H): Promise<void> {
    if (this.#closed) throw spoolError('the spool is closed');
    const size = HEADER_BYTES + body.length;
    if (this.#bytes + size > this.#maxBytes) {
      throw spoolError(
        `the spool is full (${this.#bytes.toLocaleString('en-US')} of ${this.#maxBytes.toLocaleString('en-US')} bytes): the store has not taken it for too long`,
        'SPOOL_FULL',
      );
    }
    let writer = this.#writer;
    if (!writer || writer.broken || (writer.size > 0 && writer.size + size > this.#segmentBytes)) {
      await this.#begin((this.#segments.at(-1) ?? 0) + 1);
      writer = this.#writer;
    }
    if (!writer) throw spoolError('no segment open');
    const record = Buffer.allocUnsafe(size);
    record.writeUInt32LE(body.length, 0);
    record.writeUInt32LE(messages, 4);
    record.writeUInt32LE(points, 8);
    body.copy(record, HEADER_BYTES);
    record.writeUInt32LE(crc32(record, HEADER_BYTES, size, crc32(record, 0, 12)), 12);
    const offset = writer.size;
    const segment = writer;
    try {
      for (let written = 0; written < size; ) {
        const { bytesWritten } = await segment.fd.write(record, written, size - written);
        written += bytesWritten;
      }
      await segment.fd.datasync();
    } catch (error) {
      // Leave no part of it behind: the next append would follow garbage.
      await segment.fd.truncate(offset).catch(() => {
        segment.broken = true;
      });
      throw spoolError(`cannot write the spool: ${(error as Error).message}`, 'SPOOL_WRITE', error);
    }
    writer.size += size;
    const keep = this.#hotBytes + size <= this.#memoryBytes;
    if (keep) this.#hotBytes += size;
    this.#records.push({
      segment: writer.segment,
      offset,
      size,
      messages,
      points,
      hot: keep ? hot : undefined,
    });
    this.#bytes += size;
    this.#messages += messages;
    this.#points += points;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Opens segment `segment` for appending (a new, empty file) and syncs the folder entry. */
  async #begin(segment: number): Promise<void> {
    const previous = this.#writer;
    const fd = await open(this.#segmentPath(segment), 'a');
    this.#writer = { segment, fd, size: (await fd.stat()).size, broken: false };
    this.#segments.push(segment);
    syncFolder(this.#dir);
    if (previous) await previous.fd.close().catch(() => undefined);
  }

  /** Reads a segment from `from`, adding its records; stops at the first that does not check out. */
  async #scan(segment: number, from: number): Promise<void> {
    const path = this.#segmentPath(segment);
    const data = await readFile(path);
    let at = from <= data.length ? from : 0;
    if (from > data.length) {
      this.#log.warn(
        { segment: path, drained: from, size: data.length },
        'spool: drained mark past the end; reading the whole segment',
      );
    }
    while (at < data.length) {
      const parsed = parseRecord(data, at);
      if (parsed.kind !== 'record') {
        const skipped = data.length - at;
        if (parsed.kind === 'short') {
          this.#log.warn(
            { segment: path, offset: at, bytes: skipped },
            'spool: a record cut short by a crash while it was written (never acknowledged); skipped',
          );
        } else {
          this.#log.error(
            { segment: path, offset: at, bytes: skipped },
            'spool: a record does not match its checksum; it and the rest of its segment are skipped',
          );
        }
        break;
      }
      const { size, messages, points } = parsed;
      this.#records.push({ segment, offset: at, size, messages, points, hot: undefined });
      this.#bytes += size;
      this.#messages += messages;
      this.#points += points;
      at += size;
    }
  }

  async #readMark(): Promise<{ segment: number; offset: number } | undefined> {
    try {
      const text = await readFile(join(this.#dir, 'drained'), 'utf8');
      const match = /^(\d+) (\d+)\s*$/.exec(text);
      if (match) return { segment: Number(match[1]), offset: Number(match[2]) };
      this.#log.warn({ text: text.slice(0, 80) }, 'spool: unreadable drained mark; reading every segment');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return undefined;
  }

  /** Where the first record not committed begins: the oldest record, or the end of the writes. */
  #mark(): { segment: number; offset: number } {
    const head = this.#records[0];
    if (head) return { segment: head.segment, offset: head.offset };
    return { segment: this.#writer?.segment ?? 0, offset: this.#writer?.size ?? 0 };
  }

  #writeMark(): void {
    this.#markDirty = true;
    if (this.#markWriting) return;
    this.#markWriting = (async () => {
      while (this.#markDirty) await this.#writeMarkNow();
    })()
      .catch((error: unknown) =>
        this.#log.warn({ err: String(error) }, 'spool: cannot write the drained mark'),
      )
      .finally(() => {
        this.#markWriting = undefined;
      });
  }

  async #writeMarkNow(): Promise<void> {
    this.#markDirty = false;
    const { segment, offset } = this.#mark();
    await writeFile(join(this.#dir, 'drained'), `${segment} ${offset}\n`);
    await this.#dropDrainedSegments();
  }

  /** Deletes the segments wholly before the oldest record (never the one being appended to). */
  async #dropDrainedSegments(): Promise<void> {
    const { segment: first } = this.#mark();
    while (this.#segments.length > 0 && (this.#segments[0] as number) < first) {
      const segment = this.#segments.shift() as number;
      const reader = this.#readers.get(segment);
      this.#readers.delete(segment);
      await reader?.close().catch(() => undefined);
      await rm(this.#segmentPath(segment), { force: true });
    }
  }

  #segmentPath(segment: number): string {
    return join(this.#dir, `${String(segment).padStart(10, '0')}.spool`);
  }
}

type Parsed =
  | {
      readonly kind: 'record';
      readonly size: number;
      readonly messages: number;
      readonly points: number;
      entries(): SpoolMessage[];
    }
  | { readonly kind: 'short' }
  | { readonly kind: 'corrupt' };

/** The record at `at` of `data`, checked; `messages()` parses its body. */
function parseRecord(data: Buffer, at: number): Parsed {
  if (data.length - at < HEADER_BYTES) return { kind: 'short' };
  const length = data.readUInt32LE(at);
  const size = HEADER_BYTES + length;
  if (data.length - at < size) return { kind: 'short' };
  const expected = data.readUInt32LE(at + 12);
  if (crc32(data, at + HEADER_BYTES, at + size, crc32(data, at, at + 12)) !== expected)
    return { kind: 'corrupt' };
  return {
    kind: 'record',
    size,
    messages: data.readUInt32LE(at + 4),
    points: data.readUInt32LE(at + 8),
    entries() {
      const rows = JSON.parse(data.toString('utf8', at + HEADER_BYTES, at + size)) as Array<
        [string, number, string]
      >;
      return rows.map(([topic, received, payload]) => ({ topic, received, payload }));
    },
  };
}

function spoolError(message: string, code = 'SPOOL', cause?: unknown): StoreError {
  return new StoreError(`spool: ${message}`, {
    code,
    retriable: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Makes a new file's folder entry durable (POSIX: fsync the folder). Best effort where unsupported. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot sync a folder; the file's own syncs still hold its data.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** `zlib.crc32`, native from Node 20.15 and 22.2; absent before. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/**
 * CRC-32 (IEEE 802.3, the one of zip and PNG) of `data[from, to)`, continuing from the CRC of
 * what came before it (`previous`, 0 for none), as `zlib.crc32(data, previous)` does.
 */
export function crc32(data: Uint8Array, from: number, to: number, previous = 0): number {
  if (nativeCrc32) return nativeCrc32(data.subarray(from, to), previous);
  return crc32Table(data, from, to, previous);
}

/** {@link crc32} in JavaScript, for Node before 20.15. */
export function crc32Table(data: Uint8Array, from: number, to: number, previous = 0): number {
  let c = ~previous >>> 0;
  for (let i = from; i < to; i++) c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
