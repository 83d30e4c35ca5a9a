/**
 * The corrections' audit (core/corrections.ts) in a `correction_audit` table of the app-state
 * DuckDB file: the store's own file, or `{data}/state.duckdb` beside InfluxDB. Entries are never
 * trimmed: a correction of history stays on record.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { Correction, CorrectionLog, CorrectionQuery, NewCorrection } from '../../core/corrections.ts';
import { type FieldValue, StoreError } from '../../core/store.ts';
import type { DeviceKind } from '../../core/telemetry.ts';
import type { DuckDbAccess } from './dead-letter.ts';

const TABLE = 'correction_audit';
const SCHEMA = [
  `CREATE SEQUENCE IF NOT EXISTS ${TABLE}_id`,
  `CREATE TABLE IF NOT EXISTS ${TABLE} (
    "id" BIGINT NOT NULL DEFAULT nextval('${TABLE}_id'),
    "at" BIGINT NOT NULL,
    "by_name" VARCHAR NOT NULL,
    "by_token" VARCHAR NOT NULL,
    "by_role" VARCHAR NOT NULL,
    "kind" VARCHAR NOT NULL,
    "device" VARCHAR NOT NULL,
    "time" BIGINT NOT NULL,
    "previous" VARCHAR,
    "value" VARCHAR NOT NULL,
    "reason" VARCHAR NOT NULL
  )`,
];
const COLUMNS = [
  'at',
  'by_name',
  'by_token',
  'by_role',
  'kind',
  'device',
  'time',
  'previous',
  'value',
  'reason',
];

/** See the module comment. The database is opened (and closed) by its owner. */
export class DuckDbCorrectionLog implements CorrectionLog {
  readonly #database: DuckDbAccess;
  #ready: Promise<void> | undefined;

  constructor(options: { readonly database: DuckDbAccess }) {
    this.#database = options.database;
  }

  async add(entry: NewCorrection): Promise<Correction> {
    await this.#prepared();
    const values: DuckDBValue[] = [
      entry.at,
      entry.by.name,
      entry.by.tokenId,
      entry.by.role,
      entry.device.kind,
      entry.device.id,
      entry.time,
      entry.previous === null ? null : JSON.stringify(entry.previous),
      JSON.stringify(entry.value),
      entry.reason,
    ];
    const rows = await this.#database
      .exclusive(async (connection) =>
        (
          await connection.runAndReadAll(
            `INSERT INTO ${TABLE} (${COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')}) RETURNING "id"::DOUBLE`,
            values,
          )
        ).getRows(),
      )
      .catch((error: unknown) => {
        throw failure('CORRECTION_WRITE_FAILED', 'the correction audit could not be written', error);
      });
    return { ...entry, id: Number(rows[0]?.[0]) };
  }

  async remove(id: number): Promise<void> {
    await this.#prepared();
    await this.#database.exclusive((connection) =>
      connection.run(`DELETE FROM ${TABLE} WHERE "id" = ?`, [id]),
    );
  }

  async list(query: CorrectionQuery): Promise<Correction[]> {
    await this.#prepared();
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
    const limit = Math.max(0, Math.floor(query.limit));
    const sql =
      `SELECT "id"::DOUBLE, "at"::DOUBLE, ${COLUMNS.slice(1, 6)
        .map((c) => `"${c}"`)
        .join(', ')}, "time"::DOUBLE, "previous", "value", "reason" FROM ${TABLE}` +
      `${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY "id" DESC LIMIT ${limit}`;
    const rows = await this.#database
      .read(async (connection) => (await connection.runAndReadAll(sql, params)).getRows())
      .catch((error: unknown) => {
        throw failure('CORRECTION_QUERY_FAILED', 'the correction audit could not be read', error);
      });
    return rows.map((row) => ({
      id: Number(row[0]),
      at: Number(row[1]),
      by: { name: String(row[2]), tokenId: String(row[3]), role: String(row[4]) },
      device: { kind: String(row[5]) as DeviceKind, id: String(row[6]) },
      time: Number(row[7]),
      previous: row[8] === null ? null : (JSON.parse(String(row[8])) as Record<string, FieldValue>),
      value: JSON.parse(String(row[9])) as Record<string, FieldValue>,
      reason: String(row[10]),
    }));
  }

  #prepared(): Promise<void> {
    if (!this.#ready) {
      const ready = this.#database.exclusive(async (connection) => {
        for (const statement of SCHEMA) await connection.run(statement);
      });
      this.#ready = ready;
      ready.catch(() => {
        if (this.#ready === ready) this.#ready = undefined;
      });
    }
    return this.#ready;
  }
}

function failure(code: string, text: string, error: unknown): StoreError {
  const detail = error instanceof Error ? error.message : String(error);
  return new StoreError(`${text}: ${detail}`, { code, retriable: true, cause: error });
}
