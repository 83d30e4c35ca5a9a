/**
 * The embedded DuckDB adapter of the {@link TimeSeriesStore} port. The layout (a series table,
 * a points table and a view per measurement) and the reasons for it are in `schema.ts`.
 *
 * Write path: each `write()` is one transaction on the write connection, one at a time. Tags
 * are turned into series numbers in memory ({@link SeriesCatalog}); new series are appended to
 * the series table; points go through the Appender in typed data chunks of 2,048 rows (one
 * native call per column and chunk, not per value).
 *
 * Idempotency on (site, device, time), without a primary key. An ART index over the key grows
 * with the table and must fit in memory; with `INSERT OR REPLACE` it measured 81k points/s on a
 * first write (180k rewriting the same data) against 158k (144k) for delete + insert, both on a
 * one-table layout; and a key over the points table could not see the device anyway, which
 * lives in the series table. So: a batch whose devices each move forward in time and have
 * nothing stored within their time range in the batch (the ingest's usual case, checked with
 * one lookup that the time column's min/max per row group prunes) is appended as it is.
 * Otherwise it is staged, the stored points it replaces are deleted, and it is inserted keeping
 * the last point of each (device, time) in the batch.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  BOOLEAN,
  DOUBLE,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDoubleVector,
  DuckDBInstance,
  DuckDBListVector,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVector,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import type {
  RollupLastQuery,
  RollupQuery,
  RollupSeries,
  RollupStore,
  RollupSumQuery,
  RollupSums,
  RollupWrite,
} from '../../core/rollup/schema.ts';
import {
  type ColumnQuery,
  type ColumnSeries,
  type FieldType,
  type FieldValue,
  type LatestPoint,
  type LatestQuery,
  MEASUREMENTS,
  type Measurement,
  type Point,
  type Query,
  type Row,
  type Series,
  StoreError,
  type TimeSeriesStore,
  validateColumnQuery,
  validateLatest,
  validatePoints,
  validateQuery,
} from '../../core/store.ts';
import { BLOCK_HOURS, BLOCK_MS, blockOf, emptyBlock, type HourBlock, HourBlockCache } from './hour-cache.ts';
import {
  distinctSql,
  latestSql,
  pointColumnsSql,
  querySql,
  quote,
  type SeriesSlot,
  seriesSql,
} from './query-sql.ts';
import {
  checkSumQuery,
  createRollupTables,
  HOUR_MS,
  hourTable,
  type ListRead,
  lastRollupsSql,
  listsSql,
  ROWS_PER_BATCH,
  RollupSumsBuilder,
  readRollupsSql,
  rollupDevicesSql,
  sumRollupsPlan,
  TIERED,
  toRollupSeries,
  writeRollupRows,
} from './rollups.ts';
import { pointsTable, schemaSql, seriesTable, stageTable } from './schema.ts';
import { SeriesCatalog } from './series-catalog.ts';
import { localToUtc, offsetSegments } from './time-zone.ts';

/** Options of {@link DuckDbStore}. */
export interface DuckDbStoreOptions {
  /**
   * Path of the database file. `start()` creates it, and its missing parent folders, if need
   * be. One process may hold a file at a time (DuckDB locks it).
   */
  readonly path: string;
  /**
   * Most rollup rows one read of a sum holds (devices × hours or buckets; default 2,000,000, 16 MB
   * per field): a sum over more devices reads them in batches.
   */
  readonly sumBatchRows?: number;
  /**
   * Bytes of the hour tier kept in memory for sums (hour-cache.ts; default 128 MB, 0 keeps none).
   * A year of one field of one device is about 85 KB (36 blocks of 256 hours, 9 bytes an hour).
   */
  readonly hourCacheBytes?: number;
}

/** The open database. */
interface Database {
  readonly file: string;
  readonly instance: DuckDBInstance;
  /** Writes, one at a time, each in its own transaction. Owns the staging tables. */
  readonly writer: DuckDBConnection;
  /**
   * Queries, each connection one at a time; they see committed data only. Several, so that the
   * store calls of one request (a summary makes five or six) and of concurrent requests run side
   * by side on DuckDB's threads instead of queueing behind each other.
   */
  readonly readers: readonly DuckDBConnection[];
  readonly catalogs: Readonly<Record<Measurement, SeriesCatalog>>;
}

/**
 * DuckDB locks a file against other processes only; a second instance on the same file in
 * this process would open it again and corrupt it. These are the files open here.
 */
const openFiles = new Set<string>();

const MEASUREMENT_NAMES = Object.keys(MEASUREMENTS) as Measurement[];
const VECTOR_TYPE: Readonly<Record<FieldType, DuckDBType>> = {
  float: DOUBLE,
  boolean: BOOLEAN,
  string: VARCHAR,
};
/** Read connections (see `Database.readers`). */
const READERS = 3;
/** Rows per data chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048;
/**
 * The time-series store in an embedded DuckDB file. Writes are serialised and each is one
 * transaction: a batch is stored whole or not at all.
 */
export class DuckDbStore implements TimeSeriesStore, RollupStore {
  readonly name = 'duckdb';
  readonly #path: string;
  readonly #sumBatchRows: number;
  readonly #hours: HourBlockCache;
  #database: Promise<Database> | undefined;
  /** Tail of the write queue. */
  #writes: Promise<unknown> = Promise.resolve();
  /** Tail of each read connection's queue, and how many tasks each has queued. */
  #reads: Promise<unknown>[] = Array.from({ length: READERS }, () => Promise.resolve());
  #queued: number[] = new Array<number>(READERS).fill(0);

  constructor(options: DuckDbStoreOptions) {
    this.#path = options.path;
    const batch = options.sumBatchRows ?? ROWS_PER_BATCH;
    if (!(Number.isSafeInteger(batch) && batch >= 1))
      throw new RangeError(`sumBatchRows must be a whole number of at least 1, not ${batch}`);
    this.#sumBatchRows = batch;
    this.#hours = new HourBlockCache(options.hourCacheBytes);
  }

  /** The hour blocks kept for sums (hour-cache.ts): bytes, blocks, and blocks found and not. */
  get hourCache(): { bytes: number; blocks: number; hits: number; misses: number } {
    return this.#hours.stats;
  }

  /** Drops every hour block kept (a benchmark's cold start; writes drop what they touch themselves). */
  clearHourCache(): void {
    this.#hours.clear();
  }

  async start(): Promise<void> {
    if (!this.#database) {
      const opening = open(resolve(this.#path));
      this.#database = opening;
      opening.catch(() => {
        if (this.#database === opening) this.#database = undefined;
      });
    }
    await this.#database;
  }

  async stop(): Promise<void> {
    const opening = this.#database;
    if (!opening) return;
    this.#database = undefined;
    this.#hours.clear();
    const database = await opening.catch(() => undefined);
    if (!database) return;
    await Promise.allSettled([this.#writes, ...this.#reads]);
    try {
      database.writer.closeSync();
      for (const reader of database.readers) reader.closeSync();
      // Closing the last handle checkpoints the write-ahead log into the file.
      database.instance.closeSync();
    } finally {
      openFiles.delete(database.file);
    }
  }

  async write(points: readonly Point[]): Promise<void> {
    validatePoints(points);
    if (points.length === 0) return;
    await this.#exclusive(async (database) => {
      const { file, writer, catalogs } = database;
      const groups = byMeasurement(points);
      await writer.run('BEGIN TRANSACTION');
      try {
        for (const [measurement, group] of groups) {
          await writeMeasurement(writer, catalogs[measurement], measurement, group);
        }
        await writer.run('COMMIT');
      } catch (error) {
        await writer.run('ROLLBACK').catch(() => undefined);
        for (const measurement of groups.keys()) catalogs[measurement].rollback();
        throw storeError('WRITE_FAILED', `DuckDB write to "${file}" failed`, error);
      }
      for (const measurement of groups.keys()) catalogs[measurement].commit();
    });
  }

  async query(query: Query): Promise<Series[]> {
    validateQuery(query);
    const segments = query.every ? offsetSegments(query.timezone ?? 'UTC', query.from, query.to) : [];
    const statement = querySql(query, segments);
    const rows = await this.#select(statement.sql, statement.params);

    const groupCount = statement.groupBy.length;
    const fieldAt = groupCount + (statement.timed ? 1 : 0);
    const series: Array<{ tags: Record<string, string>; rows: Row[] }> = [];
    let previous: DuckDBValue[] | undefined;
    for (const row of rows) {
      if (!previous || !sameGroup(previous, row, groupCount)) {
        const tags: Record<string, string> = {};
        statement.groupBy.forEach((tag, i) => {
          tags[tag] = row[i] as string;
        });
        series.push({ tags, rows: [] });
      }
      previous = row;
      const at = row[groupCount] as number;
      const time = !statement.timed ? query.from : statement.localWindows ? localToUtc(segments, at) : at;
      series.at(-1)?.rows.push({ time, values: fieldValues(statement.fields, row, fieldAt) });
    }
    // DuckDB orders strings by UTF-8 bytes; sort as JavaScript (and the InfluxDB adapter) does.
    return series.sort((a, b) => compareTags(a.tags, b.tags, statement.groupBy));
  }

  /**
   * Two reads on the read connection: the matching series (few), then their points column by
   * column from DuckDB's data chunks — copying each chunk's DOUBLE vectors takes a fraction of
   * the time that turning rows into JavaScript values does (4–10 µs a row).
   */
  async queryColumns(query: ColumnQuery): Promise<ColumnSeries[]> {
    validateColumnQuery(query);
    const schema = MEASUREMENTS[query.measurement];
    const fields = [...new Set(query.fields)];
    const groupBy = [...new Set(query.groupBy ?? [])];
    return this.read(async (connection) => {
      // One snapshot for the three steps, so that the dictionaries hold every string read.
      const strings = fields.some((field) => schema.fields[field] === 'string');
      if (strings) await connection.run('BEGIN TRANSACTION');
      try {
        const found = seriesSql(query);
        const rows = await select(connection, found.sql, found.params);
        if (rows.length === 0) return [];
        const slots = seriesSlots(rows, schema.tags, groupBy, ['site', schema.key], query.startOf);
        const dictionaries: Record<string, string[]> = {};
        for (const field of fields) {
          if (schema.fields[field] !== 'string') continue;
          const values = await select(connection, distinctSql(query, slots.slots, field));
          dictionaries[field] = values.map(([value]) => value as string);
        }
        const statement = pointColumnsSql(query, slots.slots, dictionaries);
        const columns = await readColumns(connection, statement.sql, statement.params, 2 + fields.length);
        const group = columns[0] as Float64Array;
        const time = columns[1] as Float64Array;
        const out: ColumnSeries[] = [];
        for (let start = 0; start < group.length; ) {
          let end = start + 1;
          while (end < group.length && group[end] === group[start]) end++;
          const values: Record<string, Float64Array | (string | null)[]> = {};
          fields.forEach((field, f) => {
            const column = (columns[2 + f] as Float64Array).subarray(start, end);
            const dictionary = dictionaries[field];
            values[field] = dictionary === undefined ? column : decode(column, dictionary);
          });
          const tags: Record<string, string> = {};
          for (const tag of groupBy) tags[tag] = slots.groups[group[start] as number]?.[tag] ?? '';
          out.push({ tags, time: time.subarray(start, end), values });
          start = end;
        }
        return out;
      } catch (error) {
        throw storeError('QUERY_FAILED', `DuckDB query of "${resolve(this.#path)}" failed`, error);
      } finally {
        if (strings) await connection.run('COMMIT').catch(() => undefined);
      }
    });
  }

  async latest(query: LatestQuery): Promise<LatestPoint[]> {
    validateLatest(query);
    const schema = MEASUREMENTS[query.measurement];
    const statement = latestSql(query);
    const rows = await this.#select(statement.sql, statement.params);
    const points = rows.map((row): LatestPoint => {
      const tags: Record<string, string> = {};
      schema.tags.forEach((tag, i) => {
        tags[tag] = row[i] as string;
      });
      return {
        tags,
        time: row[schema.tags.length] as number,
        values: fieldValues(statement.fields, row, schema.tags.length + 1),
      };
    });
    return points.sort((a, b) => compareTags(a.tags, b.tags, ['site', schema.key]));
  }

  async writeRollups(writes: readonly RollupWrite[]): Promise<void> {
    if (writes.length === 0) return;
    // The hour blocks the writes touch go, and none of their devices' is served or kept until the
    // transaction is over (hour-cache.ts).
    const tiered = writes.filter((w) => TIERED.has(w.kind));
    const marks = (mark: (key: string, from: number, to: number) => void) => {
      for (const w of tiered)
        mark(HourBlockCache.key(w.kind, w.site, w.device), w.from, w.to ?? Number.POSITIVE_INFINITY);
    };
    await this.#exclusive(async ({ file, writer }) => {
      marks((key, from, to) => this.#hours.beginWrite(key, from, to));
      await writer.run('BEGIN TRANSACTION');
      try {
        await writeRollupRows(writer, writes);
        await writer.run('COMMIT');
      } catch (error) {
        await writer.run('ROLLBACK').catch(() => undefined);
        if (error instanceof RangeError)
          throw new StoreError(error.message, { code: 'INVALID_ROLLUP', retriable: false });
        throw storeError('WRITE_FAILED', `DuckDB rollup write to "${file}" failed`, error);
      } finally {
        marks((key, from, to) => this.#hours.endWrite(key, from, to));
      }
    });
  }

  async readRollups(query: RollupQuery): Promise<RollupSeries[]> {
    const statement = this.#rollupStatement(() => readRollupsSql(query));
    const rows = await this.#selectTyped(statement);
    return toRollupSeries(query.kind, query.fields, rows);
  }

  async sumRollups(query: RollupSumQuery): Promise<RollupSums[]> {
    this.#rollupStatement(() => checkSumQuery(query));
    return this.read(async (connection) => {
      try {
        // Taken before the transaction begins (hour-cache.ts).
        const since = this.#hours.tick;
        const sum = await this.#sumIn(connection, query, since);
        // A device written while the sum read: a block served from memory may be older than the
        // transaction's snapshot, so the sum is read again, straight from DuckDB.
        const changed = sum.cached.some((key) => this.#hours.changedSince(key, since));
        return (changed ? await this.#sumIn(connection, query, undefined) : sum).builder.result();
      } catch (error) {
        throw storeError('QUERY_FAILED', `DuckDB query of "${resolve(this.#path)}" failed`, error);
      }
    });
  }

  /**
   * A sum in one transaction: hour blocks from memory and kept (from `since` on), unless `since`
   * is undefined; with the keys of the devices whose blocks were used.
   */
  async #sumIn(
    connection: DuckDBConnection,
    query: RollupSumQuery,
    since: number | undefined,
  ): Promise<{ builder: RollupSumsBuilder; cached: string[] }> {
    await connection.run('BEGIN TRANSACTION');
    try {
      const listed = rollupDevicesSql(query);
      const devices =
        query.devices === undefined
          ? (await connection.runAndReadAll(listed.sql, listed.values, listed.types))
              .getRows()
              .map(([device]) => device as string)
          : [...new Set(query.devices)].sort();
      // A field asked for twice is summed once (the answer has one column per name).
      const sums = { ...query, devices, fields: [...new Set(query.fields)] };
      const builder = new RollupSumsBuilder(sums);
      const cached: string[] = [];
      if (devices.length > 0) {
        for (const read of sumRollupsPlan(sums, this.#sumBatchRows)) {
          if (since !== undefined && read.tier && this.#hours.fits(blocksOf(sums, read))) {
            await this.#sumHours(connection, sums, read, builder, since);
            cached.push(...devices.map((device) => HourBlockCache.key(sums.kind, sums.site, device)));
          } else {
            await readLists(connection, read.batches, (device, times, fields) =>
              builder.addRows(read, device, times, fields),
            );
          }
        }
      }
      await connection.run('COMMIT');
      return { builder, cached };
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * Adds a read of the hour tier to `builder` from the blocks in memory (hour-cache.ts), reading
   * from DuckDB only the blocks it does not hold: for the devices missing any, one read of the
   * fields missing from their first missing block to their last.
   */
  async #sumHours(
    connection: DuckDBConnection,
    query: RollupSumQuery & { readonly devices: readonly string[] },
    read: ListRead,
    builder: RollupSumsBuilder,
    since: number,
  ): Promise<void> {
    const { kind, site, devices, fields } = query;
    const to = read.from + read.interval.length * HOUR_MS;
    const [first, last] = [blockOf(read.from), blockOf(to - 1)];
    // Per device with blocks to read, by field and block start: the block once a row of it is read.
    const wanted = new Map<number, Map<string, Map<number, HourBlock | null>>>();
    const missingFields = new Set<string>();
    let [low, high] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const keys = devices.map((device) => HourBlockCache.key(kind, site, device));
    devices.forEach((_, d) => {
      fields.forEach((field, f) => {
        for (let start = first; start <= last; start += BLOCK_MS) {
          const block = this.#hours.get(keys[d] as string, field, start);
          if (block) {
            builder.addBlock(read, d, f, start, block);
            continue;
          }
          let byField = wanted.get(d);
          if (!byField) wanted.set(d, (byField = new Map()));
          let byStart = byField.get(field);
          if (!byStart) byField.set(field, (byStart = new Map()));
          byStart.set(start, null);
          missingFields.add(field);
          low = Math.min(low, start);
          high = Math.max(high, start);
        }
      });
    });
    if (wanted.size === 0) return;
    const reading = [...wanted.keys()];
    const fieldsRead = fields.filter((field) => missingFields.has(field));
    const statements = listsSql(
      {
        table: hourTable(kind),
        site,
        devices: reading.map((d) => devices[d] as string),
        fields: fieldsRead,
        from: low,
        to: high + BLOCK_MS,
      },
      (high + BLOCK_MS - low) / HOUR_MS,
      this.#sumBatchRows,
    );
    const newBlock = (): HourBlock => ({
      present: new Uint8Array(BLOCK_HOURS),
      values: new Float64Array(BLOCK_HOURS),
    });
    await readLists(connection, statements, (r, times, lists) => {
      const byField = wanted.get(reading[r] as number) as Map<string, Map<number, HourBlock | null>>;
      fieldsRead.forEach((field, f) => {
        const byStart = byField.get(field);
        if (!byStart) return;
        const list = lists[f] as { values: Float64Array; offset: number };
        for (let k = 0; k < times.length; k++) {
          const time = times.values[times.offset + k] as number;
          const start = blockOf(time);
          if (!byStart.has(start)) continue;
          let block = byStart.get(start);
          if (!block) byStart.set(start, (block = newBlock()));
          const h = Math.floor((time - start) / HOUR_MS);
          block.present[h] = 1;
          block.values[h] = (block.values[h] as number) + (list.values[list.offset + k] as number);
        }
      });
    });
    for (const [d, byField] of wanted) {
      for (const [field, byStart] of byField) {
        for (const [start, filled] of byStart) {
          const block = filled ?? emptyBlock();
          this.#hours.put(keys[d] as string, field, start, block, since);
          builder.addBlock(read, d, fields.indexOf(field), start, block);
        }
      }
    }
  }

  /** Looks back a day, then a year, then to the beginning: the last row is nearly always recent. */
  async lastRollups(query: RollupLastQuery): Promise<RollupSeries[]> {
    const wanted = query.devices === undefined ? undefined : new Set(query.devices);
    const found = new Map<string, RollupSeries>();
    for (const within of [86_400_000, 366 * 86_400_000, null]) {
      const missing = wanted === undefined ? undefined : [...wanted].filter((d) => !found.has(d));
      if (missing !== undefined && missing.length === 0) break;
      const statement = this.#rollupStatement(() =>
        lastRollupsSql(missing === undefined ? query : { ...query, devices: missing }, within),
      );
      for (const series of toRollupSeries(query.kind, query.fields, await this.#selectTyped(statement))) {
        if (!found.has(series.device)) found.set(series.device, series);
      }
      if (missing === undefined && within === null) break;
    }
    return [...found.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }

  #rollupStatement<T>(build: () => T): T {
    try {
      return build();
    } catch (error) {
      throw new StoreError(error instanceof Error ? error.message : String(error), {
        code: 'INVALID_QUERY',
        retriable: false,
      });
    }
  }

  #selectTyped(statement: {
    sql: string;
    values: DuckDBValue[];
    types: DuckDBType[];
  }): Promise<DuckDBValue[][]> {
    return this.read(async (connection) => {
      try {
        return (await connection.runAndReadAll(statement.sql, statement.values, statement.types)).getRows();
      } catch (error) {
        throw storeError('QUERY_FAILED', `DuckDB query of "${resolve(this.#path)}" failed`, error);
      }
    });
  }

  /**
   * Run `task` on the write connection, one task at a time with the store's own writes.
   *
   * @internal For modules of `storage/duckdb` that keep application state in the same file.
   * A task that opens a transaction must end it.
   */
  exclusive<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.#exclusive((database) => task(database.writer));
  }

  /**
   * Run `task` on the read connection, one task at a time; it sees committed data only.
   *
   * @internal For modules of `storage/duckdb` that keep application state in the same file.
   */
  read<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const database = this.#opened();
    // The connection with the fewest tasks queued (the first of equals).
    const k = this.#queued.indexOf(Math.min(...this.#queued));
    this.#queued[k] = (this.#queued[k] as number) + 1;
    const run = (this.#reads[k] as Promise<unknown>).then(async () =>
      task((await database).readers[k] as DuckDBConnection),
    );
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#reads[k] = settled;
    void settled.then(() => {
      this.#queued[k] = (this.#queued[k] as number) - 1;
    });
    return run;
  }

  #select(sql: string, params: string[]): Promise<DuckDBValue[][]> {
    return this.read((connection) =>
      select(connection, sql, params).catch((error: unknown) => {
        throw storeError('QUERY_FAILED', `DuckDB query of "${resolve(this.#path)}" failed`, error);
      }),
    );
  }

  #exclusive<T>(task: (database: Database) => Promise<T>): Promise<T> {
    const database = this.#opened();
    const run = this.#writes.then(async () => task(await database));
    this.#writes = run.catch(() => undefined);
    return run;
  }

  #opened(): Promise<Database> {
    if (!this.#database) {
      throw new StoreError(`DuckDB store "${this.#path}" is not started`, {
        code: 'NOT_STARTED',
        retriable: false,
      });
    }
    return this.#database;
  }
}

async function open(file: string): Promise<Database> {
  if (openFiles.has(file)) {
    throw new StoreError(`DuckDB file "${file}" is already open in this process`, {
      code: 'STORE_LOCKED',
      retriable: true,
    });
  }
  openFiles.add(file);
  let instance: DuckDBInstance | undefined;
  const connections: DuckDBConnection[] = [];
  try {
    try {
      await mkdir(dirname(file), { recursive: true });
    } catch (error) {
      throw new StoreError(`cannot create the folder of DuckDB file "${file}": ${message(error)}`, {
        code: 'STORE_OPEN_FAILED',
        retriable: false,
        cause: error,
      });
    }
    try {
      instance = await DuckDBInstance.create(file, {
        // Nothing may be downloaded at run time; the extensions in use are bundled.
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
      });
    } catch (error) {
      const locked = /lock/i.test(message(error));
      throw new StoreError(
        locked
          ? `DuckDB file "${file}" is locked by another process: ${message(error)}`
          : `cannot open DuckDB file "${file}": ${message(error)}`,
        { code: locked ? 'STORE_LOCKED' : 'STORE_OPEN_FAILED', retriable: locked, cause: error },
      );
    }
    const writer = await instance.connect();
    connections.push(writer);
    const readers: DuckDBConnection[] = [];
    for (let i = 0; i < READERS; i++) {
      const reader = await instance.connect();
      connections.push(reader);
      readers.push(reader);
    }
    const catalogs = {} as Record<Measurement, SeriesCatalog>;
    for (const measurement of MEASUREMENT_NAMES) {
      for (const statement of schemaSql(measurement)) await writer.run(statement);
      catalogs[measurement] = await loadCatalog(writer, measurement);
    }
    await createRollupTables(writer);
    // The hourly register summary of earlier versions, replaced by the rollups.
    await writer.run('DROP TABLE IF EXISTS "meter_register"');
    await writer.run('DROP TABLE IF EXISTS "meter_register_dirty"');
    return { file, instance, writer, readers, catalogs };
  } catch (error) {
    for (const connection of connections) connection.closeSync();
    instance?.closeSync();
    openFiles.delete(file);
    throw storeError('STORE_OPEN_FAILED', `cannot prepare DuckDB file "${file}"`, error);
  }
}

async function loadCatalog(connection: DuckDBConnection, measurement: Measurement): Promise<SeriesCatalog> {
  const schema = MEASUREMENTS[measurement];
  const catalog = new SeriesCatalog(schema);
  const rows = await select(
    connection,
    `SELECT "sid", "device", ${schema.tags.map(quote).join(', ')} FROM ${quote(seriesTable(measurement))} ORDER BY "sid"`,
  );
  for (const [sid, device, ...values] of rows) {
    catalog.load({ sid: sid as number, device: device as number, values: values as string[] });
  }
  return catalog;
}

function byMeasurement(points: readonly Point[]): Map<Measurement, readonly Point[]> {
  const first = points[0]?.measurement as Measurement;
  if (points.every((point) => point.measurement === first)) return new Map([[first, points]]);
  const groups = new Map<Measurement, Point[]>();
  for (const point of points) {
    const group = groups.get(point.measurement);
    if (group) group.push(point);
    else groups.set(point.measurement, [point]);
  }
  return groups;
}

/** Write the points of one measurement inside the caller's transaction. */
async function writeMeasurement(
  connection: DuckDBConnection,
  catalog: SeriesCatalog,
  measurement: Measurement,
  points: readonly Point[],
): Promise<void> {
  const count = points.length;
  const sids = new Int32Array(count);
  const devices = new Int32Array(count);
  const times = new Float64Array(count);
  // Per device (sparse arrays indexed by device number): its time range in this batch.
  const low: number[] = [];
  const high: number[] = [];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let unordered = false;
  for (let i = 0; i < count; i++) {
    const point = points[i] as Point;
    const sid = catalog.id(point.tags);
    const device = catalog.deviceOf[sid] as number;
    const time = point.time; // whole milliseconds: validatePoints checked it
    sids[i] = sid;
    devices[i] = device;
    times[i] = time;
    if (time < min) min = time;
    if (time > max) max = time;
    const top = high[device];
    if (top === undefined) {
      low[device] = time;
      high[device] = time;
    } else if (time > top) {
      high[device] = time;
    } else {
      // Not strictly increasing: the batch may repeat a (device, time).
      unordered = true;
      if (time < (low[device] as number)) low[device] = time;
    }
  }

  if (catalog.pending.length > 0) {
    const appender = await connection.createAppender(seriesTable(measurement), 'main');
    await withAppender(appender, () => {
      for (const row of catalog.pending) {
        appender.appendInteger(row.sid);
        appender.appendInteger(row.device);
        for (const value of row.values) appender.appendVarchar(value);
        appender.endRow();
      }
    });
  }

  const fields = Object.entries(MEASUREMENTS[measurement].fields) as Array<[string, FieldType]>;
  const target = quote(pointsTable(measurement));
  const replaces = unordered || (await storesAny(connection, catalog, target, low, high, min, max));
  if (!replaces) {
    const appender = await connection.createAppender(pointsTable(measurement), 'main');
    await withAppender(appender, () =>
      appendRows(appender, [INTEGER, DOUBLE], [sids, times], fields, points),
    );
    return;
  }

  const seq = Int32Array.from({ length: count }, (_, i) => i);
  const appender = await connection.createAppender(stageTable(measurement), 'main', 'temp');
  await withAppender(appender, () =>
    appendRows(appender, [INTEGER, INTEGER, INTEGER, DOUBLE], [sids, devices, seq, times], fields, points),
  );
  const stage = quote(stageTable(measurement));
  const series = quote(seriesTable(measurement));
  await connection.run(
    `DELETE FROM ${target} USING (SELECT DISTINCT s."sid", g."time" FROM ${stage} g JOIN ${series} s USING ("device")) d ` +
      `WHERE ${target}."time" BETWEEN ${min} AND ${max} AND ${target}."sid" = d."sid" AND ${target}."time" = d."time"`,
  );
  const columns = ['"sid"', '"time"', ...fields.map(([field]) => quote(field))].join(', ');
  await connection.run(
    `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage}` +
      (unordered ? ' QUALIFY row_number() OVER (PARTITION BY "device", "time" ORDER BY "seq" DESC) = 1' : ''),
  );
  // Emptied inside the transaction, so the staged rows never reach the commit.
  await connection.run(`DELETE FROM ${stage}`);
}

/** Whether any device of the batch has a stored point within its time range in the batch. */
async function storesAny(
  connection: DuckDBConnection,
  catalog: SeriesCatalog,
  points: string,
  low: readonly number[],
  high: readonly number[],
  min: number,
  max: number,
): Promise<boolean> {
  const ranges: string[] = [];
  high.forEach((top, device) => {
    for (const sid of catalog.storedSeries(device)) ranges.push(`(${sid}, ${low[device]}, ${top})`);
  });
  if (ranges.length === 0) return false;
  const rows = await select(
    connection,
    `SELECT count(*)::DOUBLE FROM (SELECT 1 FROM ${points} p JOIN (VALUES ${ranges.join(', ')}) r("sid", "low", "high") ` +
      `ON p."sid" = r."sid" WHERE p."time" BETWEEN ${min} AND ${max} AND p."time" BETWEEN r."low" AND r."high" LIMIT 1)`,
  );
  return rows[0]?.[0] !== 0;
}

/**
 * Append `points` through typed data chunks: the `leading` columns from typed arrays, then the
 * measurement's fields (NULL where a point has none). Filled column by column, so each loop
 * stays on one vector type.
 */
function appendRows(
  appender: DuckDBAppender,
  leadingTypes: readonly DuckDBType[],
  leading: ReadonlyArray<Int32Array | Float64Array>,
  fields: ReadonlyArray<[string, FieldType]>,
  points: readonly Point[],
): void {
  const types = [...leadingTypes, ...fields.map(([, type]) => VECTOR_TYPE[type])];
  for (let offset = 0; offset < points.length; offset += CHUNK_ROWS) {
    const count = Math.min(CHUNK_ROWS, points.length - offset);
    const chunk = DuckDBDataChunk.create(types, count);
    leading.forEach((values, column) => {
      const vector = chunk.getColumnVector(column);
      for (let row = 0; row < count; row++) vector.setItem(row, values[offset + row] as number);
      vector.flush();
    });
    fields.forEach(([field], f) => {
      const vector = chunk.getColumnVector(leading.length + f);
      for (let row = 0; row < count; row++)
        vector.setItem(row, (points[offset + row] as Point).fields[field] ?? null);
      vector.flush();
    });
    appender.appendDataChunk(chunk);
  }
}

/** Run `fill`, flush the appender and close it, even when `fill` throws. */
async function withAppender(appender: DuckDBAppender, fill: () => void): Promise<void> {
  try {
    fill();
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/**
 * Where each series found goes in a columnar read: groups (of the group-by tags) and devices
 * numbered in JavaScript's string order, as `query()` sorts them. `rows` are `sid` then every tag.
 */
function seriesSlots(
  rows: readonly DuckDBValue[][],
  tagNames: readonly string[],
  groupBy: readonly string[],
  device: readonly string[],
  /** Per value of the device tag (the last of `device`), a later start for its points. */
  startOf: Readonly<Record<string, number>> = {},
): { slots: SeriesSlot[]; groups: Record<string, string>[] } {
  const tagsOf = rows.map((row) => {
    const tags: Record<string, string> = {};
    tagNames.forEach((tag, i) => {
      tags[tag] = row[i + 1] as string;
    });
    return tags;
  });
  const groupKey = (tags: Record<string, string>) => JSON.stringify(groupBy.map((tag) => tags[tag]));
  const groups = [...new Map(tagsOf.map((tags) => [groupKey(tags), tags])).values()].sort((a, b) =>
    compareTags(a, b, groupBy),
  );
  const groupNumber = new Map(groups.map((tags, i) => [groupKey(tags), i]));
  const byDevice = [...tagsOf.keys()].sort((a, b) =>
    compareTags(tagsOf[a] as Record<string, string>, tagsOf[b] as Record<string, string>, device),
  );
  const rank = new Map(byDevice.map((row, i) => [row, i]));
  const slots = rows.map(
    (row, i): SeriesSlot => ({
      sid: row[0] as number,
      group: groupNumber.get(groupKey(tagsOf[i] as Record<string, string>)) as number,
      rank: rank.get(i) as number,
      start: startOfDevice(startOf, (tagsOf[i] as Record<string, string>)[device.at(-1) as string]),
    }),
  );
  return { slots, groups };
}

/** A device's own start in a ColumnQuery's `startOf` (an id such as "constructor" is not inherited). */
function startOfDevice(startOf: Readonly<Record<string, number>>, device: string | undefined): number | null {
  return device !== undefined && Object.hasOwn(startOf, device) ? (startOf[device] as number) : null;
}

/**
 * Run a query whose columns are all DOUBLE and read them chunk by chunk, each into one
 * Float64Array copied from the vectors' own memory.
 */
async function readColumns(
  connection: DuckDBConnection,
  sql: string,
  values: readonly DuckDBValue[],
  count: number,
  types?: DuckDBType[],
): Promise<Float64Array[]> {
  // Streamed: a materialised result (`run`) took about twice as long for the same chunks.
  const result = await connection.stream(sql, [...values], types);
  // Grown by doubling, so each value is copied once from DuckDB's memory (and again per doubling).
  let capacity = CHUNK_ROWS;
  let columns = Array.from({ length: count }, () => new Float64Array(capacity));
  let total = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const rows = chunk.rowCount;
    if (total + rows > capacity) {
      while (total + rows > capacity) capacity *= 2;
      columns = columns.map((column) => {
        const grown = new Float64Array(capacity);
        grown.set(column.subarray(0, total));
        return grown;
      });
    }
    columns.forEach((column, j) => {
      column.set(doubles(chunk.getColumnVector(j)).subarray(0, rows), total);
    });
    total += rows;
  }
  return columns.map((column) => column.subarray(0, total));
}

/** How many hour blocks (hour-cache.ts) a read of the hour tier covers. */
function blocksOf(query: RollupSumQuery & { readonly devices: readonly string[] }, read: ListRead): number {
  const to = read.from + read.interval.length * HOUR_MS;
  const blocks = (blockOf(to - 1) - blockOf(read.from)) / BLOCK_MS + 1;
  return query.devices.length * query.fields.length * blocks;
}

/** A device's list of times in a chunk of lists: element `k` at `offset + k` of `values`. */
interface TimesList {
  readonly values: Float64Array;
  readonly offset: number;
  readonly length: number;
}

/** A field's list of the same device, aligned with its {@link TimesList}. */
interface FieldList {
  readonly values: Float64Array;
  readonly offset: number;
}

/**
 * Runs statements of rollups.ts `listsSql` and hands each row to `row`: the device's index, its
 * times, and each field's values.
 */
async function readLists(
  connection: DuckDBConnection,
  batches: readonly { sql: string; values: readonly DuckDBValue[]; types: DuckDBType[] }[],
  row: (device: number, times: TimesList, fields: FieldList[]) => void,
): Promise<void> {
  for (const { sql, values, types } of batches) {
    const result = await connection.stream(sql, [...values], types);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const device = doubles(chunk.getColumnVector(0));
      const lists = Array.from({ length: chunk.columnCount - 1 }, (_, j) => {
        const vector = chunk.getColumnVector(j + 1);
        if (!(vector instanceof DuckDBListVector))
          throw new Error(`expected a LIST column, not ${vector.type.toString()}`);
        return { vector, values: doubles(vector.childVector) };
      });
      const [times, ...fields] = lists as [(typeof lists)[number], ...typeof lists];
      for (let r = 0; r < chunk.rowCount; r++) {
        row(
          device[r] as number,
          {
            values: times.values,
            offset: times.vector.getEntryOffset(r),
            length: times.vector.getEntryLength(r),
          },
          fields.map(({ vector, values }) => ({ values, offset: vector.getEntryOffset(r) })),
        );
      }
    }
  }
}

/**
 * The Float64Array a DOUBLE vector reads from. The client keeps it in a private field
 * (`DuckDBDoubleVector.items`); NULLs are not told apart there, which is why the SQL turns them
 * into NaN first.
 */
function doubles(vector: DuckDBVector): Float64Array {
  const items =
    vector instanceof DuckDBDoubleVector ? (vector as unknown as { items?: unknown }).items : undefined;
  if (!(items instanceof Float64Array))
    throw new Error(`expected a DOUBLE column, not ${vector.type.toString()}`);
  return items;
}

/** String values from their indexes in `dictionary` (NaN: none). */
function decode(codes: Float64Array, dictionary: readonly string[]): (string | null)[] {
  const out: (string | null)[] = new Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i] as number;
    out[i] = Number.isNaN(code) ? null : (dictionary[code] ?? null);
  }
  return out;
}

async function select(
  connection: DuckDBConnection,
  sql: string,
  params: string[] = [],
): Promise<DuckDBValue[][]> {
  return (await connection.runAndReadAll(sql, params)).getRows();
}

function fieldValues(
  fields: readonly string[],
  row: readonly DuckDBValue[],
  from: number,
): Record<string, FieldValue | null> {
  const values: Record<string, FieldValue | null> = {};
  fields.forEach((field, i) => {
    values[field] = (row[from + i] ?? null) as FieldValue | null;
  });
  return values;
}

function sameGroup(a: readonly DuckDBValue[], b: readonly DuckDBValue[], count: number): boolean {
  for (let i = 0; i < count; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compareTags(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
  keys: readonly string[],
): number {
  for (const key of keys) {
    const x = a[key] ?? '';
    const y = b[key] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Wrap a DuckDB error. I/O errors, transaction conflicts, memory exhaustion and interrupts may
 * pass on a later try; anything else (a bad statement, a constraint) will not.
 */
function storeError(code: string, context: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const text = message(error);
  const retriable = /^(IO|TransactionContext|Out of Memory|Interrupt) Error/i.test(text);
  return new StoreError(`${context}: ${text}`, { code, retriable, cause: error });
}
