/**
 * The dead-letter sink on DuckDB: a `dead_letter` table, in the store's own file when the store
 * is DuckDB (through the store's write and read connections), or else in a state file of its
 * own (`{data}/state.duckdb`).
 *
 * The table keeps the newest `maxEntries` entries: a device sending garbage at its full rate
 * must not fill the disk. Times are BIGINT epoch ms, as in the store.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import type {
  DeadLetter,
  DeadLetterQuery,
  DeadLetterReason,
  DeadLetterSink,
  NewDeadLetter,
  PayloadEncoding,
} from '../../core/dead-letter.ts';
import { StoreError } from '../../core/store.ts';
import type { DeviceKind } from '../../core/telemetry.ts';

/**
 * Serialised access to an open DuckDB database: what `DuckDbStore` offers its sibling modules
 * (`exclusive` on the write connection, `read` on the read connection).
 */
export interface DuckDbAccess {
  exclusive<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  read<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
}

/** Options of {@link DuckDbDeadLetterSink}. */
export type DuckDbDeadLetterOptions = {
  /** Most entries kept; older ones are deleted as new ones come. Default 100,000. */
  readonly maxEntries?: number;
} & (
  | {
      /** An open database to share, e.g. the `DuckDbStore` (started before this sink). */
      readonly database: DuckDbAccess;
    }
  | {
      /** A database file of its own, opened by `start()` (its folder created if need be). */
      readonly path: string;
    }
);

const TABLE = 'dead_letter';
const COLUMNS = [
  'time',
  'topic',
  'kind',
  'device',
  'reason',
  'detail',
  'payload',
  'encoding',
  'size',
  'truncated',
] as const;
/** Rows per INSERT statement (each row binds one parameter per column). */
const ROWS_PER_INSERT = 200;

const SCHEMA = [
  `CREATE SEQUENCE IF NOT EXISTS ${TABLE}_id`,
  `CREATE TABLE IF NOT EXISTS ${TABLE} (
    "id" BIGINT NOT NULL DEFAULT nextval('${TABLE}_id'),
    "time" BIGINT NOT NULL,
    "topic" VARCHAR NOT NULL,
    "kind" VARCHAR,
    "device" VARCHAR,
    "reason" VARCHAR NOT NULL,
    "detail" VARCHAR NOT NULL,
    "payload" VARCHAR NOT NULL,
    "encoding" VARCHAR NOT NULL,
    "size" INTEGER NOT NULL,
    "truncated" BOOLEAN NOT NULL
  )`,
];

/** A database file this sink opened itself; one connection, one task at a time. */
class OwnDatabase implements DuckDbAccess {
  readonly instance: DuckDBInstance;
  readonly connection: DuckDBConnection;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(instance: DuckDBInstance, connection: DuckDBConnection) {
    this.instance = instance;
    this.connection = connection;
  }

  exclusive<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => task(this.connection));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  read<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.exclusive(task);
  }

  async close(): Promise<void> {
    await this.#tail;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** See the module comment. `start()` and `stop()` are idempotent. */
export class DuckDbDeadLetterSink implements DeadLetterSink {
  readonly name = 'duckdb';
  readonly #options: DuckDbDeadLetterOptions;
  readonly #maxEntries: number;
  #database: Promise<DuckDbAccess> | undefined;

  constructor(options: DuckDbDeadLetterOptions) {
    this.#options = options;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  async start(): Promise<void> {
    if (!this.#database) {
      const opening = this.#open();
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
    const database = await opening.catch(() => undefined);
    if (database instanceof OwnDatabase) await database.close();
  }

  async add(entries: readonly NewDeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    const database = await this.#opened();
    await database
      .exclusive(async (connection) => {
        await connection.run('BEGIN TRANSACTION');
        try {
          for (let from = 0; from < entries.length; from += ROWS_PER_INSERT) {
            const rows = entries.slice(from, from + ROWS_PER_INSERT);
            const placeholders = `(${COLUMNS.map(() => '?').join(', ')})`;
            await connection.run(
              `INSERT INTO ${TABLE} (${COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES ${rows.map(() => placeholders).join(', ')}`,
              rows.flatMap(rowValues),
            );
          }
          await connection.run(
            `DELETE FROM ${TABLE} WHERE "id" <= (SELECT max("id") FROM ${TABLE}) - ${this.#maxEntries}`,
          );
          await connection.run('COMMIT');
        } catch (error) {
          await connection.run('ROLLBACK').catch(() => undefined);
          throw error;
        }
      })
      .catch((error: unknown) => {
        throw storeError('DEAD_LETTER_WRITE_FAILED', 'dead-letter write failed', error);
      });
  }

  async list(query: DeadLetterQuery): Promise<DeadLetter[]> {
    if (!Number.isSafeInteger(query.limit) || query.limit < 0) {
      throw new StoreError(`limit: must be a whole number ≥ 0, got ${query.limit}`, {
        code: 'INVALID_QUERY',
        retriable: false,
      });
    }
    const where: string[] = [];
    const params: DuckDBValue[] = [];
    if (query.before !== undefined) {
      where.push('"id" < ?');
      params.push(query.before);
    }
    if (query.device !== undefined) {
      where.push('"device" = ?');
      params.push(query.device);
    }
    if (query.reason !== undefined) {
      where.push('"reason" = ?');
      params.push(query.reason);
    }
    const sql =
      `SELECT "id"::DOUBLE, "time"::DOUBLE, ${COLUMNS.slice(1)
        .map((c) => `"${c}"`)
        .join(', ')} FROM ${TABLE}` +
      `${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY "id" DESC LIMIT ${query.limit}`;
    const database = await this.#opened();
    const rows = await database
      .read(async (connection) => (await connection.runAndReadAll(sql, params)).getRows())
      .catch((error: unknown) => {
        throw storeError('DEAD_LETTER_QUERY_FAILED', 'dead-letter query failed', error);
      });
    return rows.map(fromRow);
  }

  async #open(): Promise<DuckDbAccess> {
    const options = this.#options;
    if (!(this.#maxEntries >= 1)) throw new RangeError('dead-letter maxEntries must be ≥ 1');
    const database = 'database' in options ? options.database : await openFile(resolve(options.path));
    try {
      await database.exclusive(async (connection) => {
        for (const statement of SCHEMA) await connection.run(statement);
      });
    } catch (error) {
      if (database instanceof OwnDatabase) await database.close().catch(() => undefined);
      throw storeError('DEAD_LETTER_OPEN_FAILED', 'cannot prepare the dead-letter table', error);
    }
    return database;
  }

  #opened(): Promise<DuckDbAccess> {
    if (!this.#database) {
      throw new StoreError('the DuckDB dead-letter sink is not started', {
        code: 'NOT_STARTED',
        retriable: false,
      });
    }
    return this.#database;
  }
}

async function openFile(file: string): Promise<OwnDatabase> {
  try {
    await mkdir(dirname(file), { recursive: true });
    const instance = await DuckDBInstance.create(file, {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    try {
      return new OwnDatabase(instance, await instance.connect());
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  } catch (error) {
    const locked = /lock/i.test(message(error));
    throw new StoreError(`cannot open DuckDB file "${file}": ${message(error)}`, {
      code: locked ? 'STORE_LOCKED' : 'STORE_OPEN_FAILED',
      retriable: locked,
      cause: error,
    });
  }
}

function rowValues(entry: NewDeadLetter): DuckDBValue[] {
  return [
    entry.time,
    entry.topic,
    entry.device?.kind ?? null,
    entry.device?.id ?? null,
    entry.reason,
    entry.detail,
    entry.payload,
    entry.encoding,
    entry.size,
    entry.truncated,
  ];
}

function fromRow(row: readonly DuckDBValue[]): DeadLetter {
  const [id, time, topic, kind, device, reason, detail, payload, encoding, size, truncated] = row;
  return {
    id: id as number,
    time: time as number,
    topic: topic as string,
    ...(device === null || kind === null
      ? {}
      : { device: { kind: kind as DeviceKind, id: device as string } }),
    reason: reason as DeadLetterReason,
    detail: detail as string,
    payload: payload as string,
    encoding: encoding as PayloadEncoding,
    size: size as number,
    truncated: truncated as boolean,
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** As the store does: I/O errors, transaction conflicts, memory and interrupts may pass later. */
function storeError(code: string, context: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const text = message(error);
  const retriable = /^(IO|TransactionContext|Out of Memory|Interrupt) Error/i.test(text);
  return new StoreError(`${context}: ${text}`, { code, retriable, cause: error });
}
