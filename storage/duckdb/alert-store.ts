/**
 * The {@link AlertStore} on DuckDB: tables `alerts`, `alert_rules` and `alert_deliveries` in the
 * store's own file (or `{data}/state.duckdb` beside InfluxDB), through the serialised access the
 * store offers (`exclusive` writes one task at a time, so "insert unless one is open" cannot
 * interleave with another insert).
 *
 * An alert is kept as its JSON (`doc`) beside the columns it is filtered on. No primary key or
 * unique index: DuckDB updates an indexed row as a delete and an insert, and the one-open-alert rule
 * is kept by the serialised check instead. The delivery log keeps the newest `maxDeliveries` rows.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { type Alert, AlertStateError, openKey } from '../../core/alerts/alert.ts';
import {
  type AlertQuery,
  type AlertStore,
  byNewest,
  type Delivery,
  matches,
  type NewDelivery,
  type SavedRules,
} from '../../core/alerts/store.ts';
import { StoreError } from '../../core/store.ts';
import type { DuckDbAccess } from './dead-letter.ts';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS alerts (
    "id" VARCHAR NOT NULL,
    "open_key" VARCHAR,
    "state" VARCHAR NOT NULL,
    "severity" VARCHAR NOT NULL,
    "department" VARCHAR,
    "fired_at" BIGINT NOT NULL,
    "resolved_at" BIGINT,
    "doc" VARCHAR NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS alert_rules (
    "rules" VARCHAR NOT NULL,
    "saved_at" BIGINT NOT NULL,
    "saved_by" VARCHAR NOT NULL,
    "file_fingerprint" VARCHAR NOT NULL
  )`,
  'CREATE SEQUENCE IF NOT EXISTS alert_deliveries_id',
  `CREATE TABLE IF NOT EXISTS alert_deliveries (
    "id" BIGINT NOT NULL DEFAULT nextval('alert_deliveries_id'),
    "alert" VARCHAR NOT NULL,
    "webhook" VARCHAR NOT NULL,
    "event" VARCHAR NOT NULL,
    "at" BIGINT NOT NULL,
    "attempts" INTEGER NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "status" INTEGER,
    "error" VARCHAR
  )`,
];

export interface DuckDbAlertStoreOptions {
  /** The open database: the `DuckDbStore`, or a `DuckDbStateFile`, started before this store. */
  readonly database: DuckDbAccess;
  /** Delivery log rows kept. Default 10,000. */
  readonly maxDeliveries?: number;
}

export class DuckDbAlertStore implements AlertStore {
  readonly name = 'duckdb';
  readonly #database: DuckDbAccess;
  readonly #maxDeliveries: number;
  #ready: Promise<void> | undefined;

  constructor(options: DuckDbAlertStoreOptions) {
    this.#database = options.database;
    this.#maxDeliveries = options.maxDeliveries ?? 10_000;
  }

  start(): Promise<void> {
    if (!this.#ready) {
      const ready = this.#database
        .exclusive(async (connection) => {
          for (const statement of SCHEMA) await connection.run(statement);
        })
        .catch((error: unknown) => {
          throw storeError('ALERT_STORE_OPEN_FAILED', 'cannot prepare the alert tables', error);
        });
      this.#ready = ready;
      ready.catch(() => {
        if (this.#ready === ready) this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  async stop(): Promise<void> {
    this.#ready = undefined;
  }

  async openAlert(alert: Alert): Promise<{ alert: Alert; created: boolean }> {
    await this.#started();
    const key = openKey(alert.rule, alert.subject);
    return this.#write(async (connection) => {
      const rows = (
        await connection.runAndReadAll('SELECT "doc" FROM alerts WHERE "open_key" = ? LIMIT 1', [key])
      ).getRows();
      const open = rows[0];
      if (open) return { alert: JSON.parse(open[0] as string) as Alert, created: false };
      await connection.run(
        'INSERT INTO alerts ("id", "open_key", "state", "severity", "department", "fired_at", "resolved_at", "doc") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        rowOf(alert),
      );
      return { alert, created: true };
    });
  }

  async update(id: string, change: (alert: Alert) => Alert): Promise<Alert | undefined> {
    await this.#started();
    return this.#write(async (connection) => {
      const rows = (
        await connection.runAndReadAll('SELECT "doc" FROM alerts WHERE "id" = ?', [id])
      ).getRows();
      const row = rows[0];
      if (!row) return undefined;
      const next = change(JSON.parse(row[0] as string) as Alert);
      const [, openKeyValue, state, severity, department, firedAt, resolvedAt, doc] = rowOf(next);
      await connection.run(
        'UPDATE alerts SET "open_key" = ?, "state" = ?, "severity" = ?, "department" = ?, "fired_at" = ?, "resolved_at" = ?, "doc" = ? WHERE "id" = ?',
        [openKeyValue, state, severity, department, firedAt, resolvedAt, doc, id] as DuckDBValue[],
      );
      return next;
    });
  }

  async get(id: string): Promise<Alert | undefined> {
    await this.#started();
    const rows = await this.#read('SELECT "doc" FROM alerts WHERE "id" = ?', [id]);
    return rows[0] ? (JSON.parse(rows[0][0] as string) as Alert) : undefined;
  }

  async openAlerts(): Promise<Alert[]> {
    await this.#started();
    const rows = await this.#read('SELECT "doc" FROM alerts WHERE "open_key" IS NOT NULL', []);
    return rows.map((row) => JSON.parse(row[0] as string) as Alert).sort(byNewest);
  }

  async list(query: AlertQuery): Promise<Alert[]> {
    await this.#started();
    const where: string[] = [];
    const params: DuckDBValue[] = [];
    if (query.states) {
      if (query.states.length === 0) return [];
      where.push(`"state" IN (${query.states.map(() => '?').join(', ')})`);
      params.push(...query.states);
    }
    if (query.severities) {
      if (query.severities.length === 0) return [];
      where.push(`"severity" IN (${query.severities.map(() => '?').join(', ')})`);
      params.push(...query.severities);
    }
    if (query.to !== undefined) {
      where.push('"fired_at" < ?');
      params.push(query.to);
    }
    if (query.from !== undefined) {
      where.push('("resolved_at" IS NULL OR "resolved_at" >= ?)');
      params.push(query.from);
    }
    if (query.department !== undefined) {
      where.push('"department" = ?');
      params.push(query.department);
    }
    const limit = Math.max(0, Math.floor(query.limit));
    const rows = await this.#read(
      `SELECT "doc" FROM alerts${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY "fired_at" DESC, "id" DESC LIMIT ${limit}`,
      params,
    );
    return rows
      .map((row) => JSON.parse(row[0] as string) as Alert)
      .filter((alert) => matches(alert, query))
      .sort(byNewest);
  }

  async loadRules(): Promise<SavedRules | undefined> {
    await this.#started();
    const rows = await this.#read(
      'SELECT "rules", "saved_at"::DOUBLE, "saved_by", "file_fingerprint" FROM alert_rules LIMIT 1',
      [],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      rules: JSON.parse(row[0] as string) as unknown,
      savedAt: row[1] as number,
      savedBy: row[2] as string,
      fileFingerprint: row[3] as string,
    };
  }

  async saveRules(rules: SavedRules): Promise<void> {
    await this.#started();
    await this.#write(async (connection) => {
      await connection.run('BEGIN TRANSACTION');
      try {
        await connection.run('DELETE FROM alert_rules');
        await connection.run(
          'INSERT INTO alert_rules ("rules", "saved_at", "saved_by", "file_fingerprint") VALUES (?, ?, ?, ?)',
          [JSON.stringify(rules.rules), rules.savedAt, rules.savedBy, rules.fileFingerprint],
        );
        await connection.run('COMMIT');
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  async clearRules(): Promise<void> {
    await this.#started();
    await this.#write(async (connection) => {
      await connection.run('DELETE FROM alert_rules');
    });
  }

  async addDelivery(delivery: NewDelivery): Promise<void> {
    await this.#started();
    await this.#write(async (connection) => {
      await connection.run(
        'INSERT INTO alert_deliveries ("alert", "webhook", "event", "at", "attempts", "ok", "status", "error") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
          delivery.alert,
          delivery.webhook,
          delivery.event,
          delivery.at,
          delivery.attempts,
          delivery.ok,
          delivery.status,
          delivery.error,
        ],
      );
      await connection.run(
        `DELETE FROM alert_deliveries WHERE "id" <= (SELECT max("id") FROM alert_deliveries) - ${this.#maxDeliveries}`,
      );
    });
  }

  async deliveries(query: { readonly alert?: string; readonly limit: number }): Promise<Delivery[]> {
    await this.#started();
    const rows = await this.#read(
      `SELECT "id"::DOUBLE, "alert", "webhook", "event", "at"::DOUBLE, "attempts", "ok", "status", "error" FROM alert_deliveries${query.alert === undefined ? '' : ' WHERE "alert" = ?'} ORDER BY "id" DESC LIMIT ${Math.max(0, Math.floor(query.limit))}`,
      query.alert === undefined ? [] : [query.alert],
    );
    return rows.map(([id, alert, webhook, event, at, attempts, ok, status, error]) => ({
      id: id as number,
      alert: alert as string,
      webhook: webhook as string,
      event: event as Delivery['event'],
      at: at as number,
      attempts: attempts as number,
      ok: ok as boolean,
      status: (status as number | null) ?? null,
      error: (error as string | null) ?? null,
    }));
  }

  async #started(): Promise<void> {
    if (!this.#ready) {
      throw new StoreError('the DuckDB alert store is not started', {
        code: 'NOT_STARTED',
        retriable: false,
      });
    }
    await this.#ready;
  }

  #write<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.#database.exclusive(task).catch((error: unknown) => {
      // A change the alert's state refuses (acknowledging it twice) is the caller's answer, not a
      // store failure.
      if (error instanceof AlertStateError) throw error;
      throw storeError('ALERT_STORE_WRITE_FAILED', 'alert store write failed', error);
    });
  }

  #read(sql: string, params: DuckDBValue[]): Promise<DuckDBValue[][]> {
    return this.#database
      .read(async (connection) => (await connection.runAndReadAll(sql, params)).getRows() as DuckDBValue[][])
      .catch((error: unknown) => {
        throw storeError('ALERT_STORE_QUERY_FAILED', 'alert store query failed', error);
      });
  }
}

function rowOf(alert: Alert): DuckDBValue[] {
  const open = alert.state !== 'resolved';
  return [
    alert.id,
    open ? openKey(alert.rule, alert.subject) : null,
    alert.state,
    alert.severity,
    alert.subject.department,
    alert.firedAt,
    alert.resolvedAt,
    JSON.stringify(alert),
  ];
}

function storeError(code: string, context: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const retriable = /^(IO|TransactionContext|Out of Memory|Interrupt) Error/i.test(text);
  return new StoreError(`${context}: ${text}`, { code, retriable, cause: error });
}
