/**
 * The management layer's state on DuckDB (core/management/ports.ts): the cost ledger, its audit
 * trail and the feedback answers, as tables in the store's own DuckDB file (through the store's
 * connections) or in the state file (`DATA/state.duckdb`, {@link DuckDbStateFile}) when the store
 * is InfluxDB — beside the dead-letter table either way.
 *
 * Amounts are kept in fen (BIGINT, 0.01 CNY), so sums are exact. A deleted ledger entry is kept,
 * marked `deleted_at`, for the audit trail. "One answer per browser, subject and day" is a UNIQUE
 * constraint, so two answers racing each other still leave one. Times are BIGINT epoch ms.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { FeedbackAnswer } from '../../core/management/feedback.ts';
import type { FeedbackCategory, LedgerItem, SubjectKind } from '../../core/management/model.ts';
import type {
  Actor,
  AuditEntry,
  CostEntry,
  CostQuery,
  EntrySource,
  ManagementState,
  NewCostEntry,
  NewFeedback,
} from '../../core/management/ports.ts';
import { StoreError } from '../../core/store.ts';
import type { DuckDbAccess } from './dead-letter.ts';

const SCHEMA = [
  'CREATE SEQUENCE IF NOT EXISTS cost_ledger_id',
  `CREATE TABLE IF NOT EXISTS cost_ledger (
    "id" BIGINT PRIMARY KEY DEFAULT nextval('cost_ledger_id'),
    "item" VARCHAR NOT NULL,
    "subject_kind" VARCHAR NOT NULL,
    "subject" VARCHAR NOT NULL,
    "amount_fen" BIGINT NOT NULL,
    "date" VARCHAR NOT NULL,
    "day_ms" BIGINT NOT NULL,
    "note" VARCHAR NOT NULL,
    "source" VARCHAR NOT NULL,
    "source_key" VARCHAR UNIQUE,
    "created_at" BIGINT NOT NULL,
    "created_by" VARCHAR NOT NULL,
    "deleted_at" BIGINT,
    "deleted_by" VARCHAR
  )`,
  'CREATE SEQUENCE IF NOT EXISTS audit_log_id',
  `CREATE TABLE IF NOT EXISTS audit_log (
    "id" BIGINT PRIMARY KEY DEFAULT nextval('audit_log_id'),
    "time" BIGINT NOT NULL,
    "actor" VARCHAR NOT NULL,
    "actor_name" VARCHAR NOT NULL,
    "action" VARCHAR NOT NULL,
    "target" VARCHAR NOT NULL,
    "detail" VARCHAR NOT NULL
  )`,
  'CREATE SEQUENCE IF NOT EXISTS feedback_id',
  `CREATE TABLE IF NOT EXISTS feedback (
    "id" BIGINT PRIMARY KEY DEFAULT nextval('feedback_id'),
    "time" BIGINT NOT NULL,
    "day" VARCHAR NOT NULL,
    "subject_kind" VARCHAR NOT NULL,
    "subject" VARCHAR NOT NULL,
    "score" INTEGER NOT NULL,
    "categories" VARCHAR NOT NULL,
    "comment" VARCHAR NOT NULL,
    "browser" VARCHAR NOT NULL,
    "source" VARCHAR NOT NULL,
    UNIQUE ("browser", "subject_kind", "subject", "day")
  )`,
];

export interface DuckDbManagementStateOptions {
  /** The store (or state file) to keep the tables in; started before this. */
  readonly database: DuckDbAccess;
  /** epoch ms; default Date.now. */
  readonly now?: () => number;
  /** Local midnight of a `YYYY-MM-DD` (the site's zone), for date-range queries. */
  readonly dayStart: (date: string) => number;
}

const COST_COLUMNS =
  '"id"::DOUBLE, "item", "subject_kind", "subject", "amount_fen"::DOUBLE, "date", "note", "source", "source_key", "created_at"::DOUBLE, "created_by"';

/** See the module comment. `start()` creates the tables; both it and `stop()` are idempotent. */
export class DuckDbManagementState implements ManagementState {
  readonly #options: DuckDbManagementStateOptions;
  readonly #now: () => number;
  #ready: Promise<void> | undefined;

  constructor(options: DuckDbManagementStateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  start(): Promise<void> {
    if (!this.#ready) {
      const ready = this.#options.database
        .exclusive(async (connection) => {
          for (const statement of SCHEMA) await connection.run(statement);
        })
        .catch((error: unknown) => {
          throw storeError('STATE_OPEN_FAILED', 'cannot prepare the management tables', error);
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

  async addCosts(
    entries: readonly NewCostEntry[],
    actor: Actor,
    audit: { readonly action: string; readonly target: string },
  ): Promise<CostEntry[]> {
    const now = this.#now();
    return this.#write(async (connection) => {
      const stored: CostEntry[] = [];
      for (const entry of entries) {
        const rows = (
          await connection.runAndReadAll(
            `INSERT INTO cost_ledger ("item", "subject_kind", "subject", "amount_fen", "date", "day_ms", "note", "source", "source_key", "created_at", "created_by")
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING "id"::DOUBLE`,
            [
              entry.item,
              entry.subject.kind,
              entry.subject.id,
              Math.round(entry.amountCny * 100),
              entry.date,
              this.#options.dayStart(entry.date),
              entry.note,
              entry.source,
              entry.sourceKey ?? null,
              now,
              actor.tokenId,
            ],
          )
        ).getRows();
        const id = rows[0]?.[0];
        if (typeof id === 'number') {
          stored.push({ ...entry, id, createdAt: now, createdBy: actor.tokenId });
        }
      }
      if (stored.length > 0 || audit.action !== 'cost.simulate') {
        await insertAudit(connection, now, actor, audit.action, audit.target, {
          entries: stored.length,
          ids: stored.map((e) => e.id),
          totalCny: stored.reduce((sum, e) => sum + Math.round(e.amountCny * 100), 0) / 100,
        });
      }
      return stored;
    });
  }

  async listCosts(query: CostQuery): Promise<CostEntry[]> {
    const where = ['"deleted_at" IS NULL'];
    const params: DuckDBValue[] = [];
    if (query.from !== undefined) {
      where.push('"day_ms" >= ?');
      params.push(query.from);
    }
    if (query.to !== undefined) {
      where.push('"day_ms" < ?');
      params.push(query.to);
    }
    if (query.subject) {
      where.push('"subject_kind" = ? AND "subject" = ?');
      params.push(query.subject.kind, query.subject.id);
    }
    const rows = await this.#read(
      `SELECT ${COST_COLUMNS} FROM cost_ledger WHERE ${where.join(' AND ')} ORDER BY "day_ms", "id"`,
      params,
    );
    return rows.map(costFromRow);
  }

  async deleteCost(id: number, actor: Actor): Promise<CostEntry | undefined> {
    const now = this.#now();
    return this.#write(async (connection) => {
      const rows = (
        await connection.runAndReadAll(
          `SELECT ${COST_COLUMNS} FROM cost_ledger WHERE "id" = ? AND "deleted_at" IS NULL`,
          [id],
        )
      ).getRows();
      const row = rows[0];
      if (!row) return undefined;
      const entry = costFromRow(row);
      await connection.run('UPDATE cost_ledger SET "deleted_at" = ?, "deleted_by" = ? WHERE "id" = ?', [
        now,
        actor.tokenId,
        id,
      ]);
      await insertAudit(connection, now, actor, 'cost.delete', `cost:${id}`, entry);
      return entry;
    });
  }

  async listAudit(limit: number, before?: number): Promise<AuditEntry[]> {
    const rows = await this.#read(
      `SELECT "id"::DOUBLE, "time"::DOUBLE, "actor", "actor_name", "action", "target", "detail" FROM audit_log
       ${before === undefined ? '' : 'WHERE "id" < ?'} ORDER BY "id" DESC LIMIT ${Math.max(0, Math.floor(limit))}`,
      before === undefined ? [] : [before],
    );
    return rows.map(([id, time, actor, actorName, action, target, detail]) => ({
      id: id as number,
      time: time as number,
      actor: actor as string,
      actorName: actorName as string,
      action: action as string,
      target: target as string,
      detail: detail as string,
    }));
  }

  async addFeedback(answer: NewFeedback): Promise<{ stored: true; id: number } | { stored: false }> {
    return this.#write(async (connection) => {
      const id = await insertFeedback(connection, answer);
      return id === undefined ? { stored: false as const } : { stored: true as const, id };
    });
  }

  async addFeedbackBatch(answers: readonly NewFeedback[]): Promise<number> {
    return this.#write(async (connection) => {
      let stored = 0;
      for (const answer of answers) if ((await insertFeedback(connection, answer)) !== undefined) stored++;
      return stored;
    });
  }

  async listFeedback(from: number, to: number): Promise<FeedbackAnswer[]> {
    const rows = await this.#read(
      `SELECT "id"::DOUBLE, "time"::DOUBLE, "subject_kind", "subject", "score", "categories", "comment"
       FROM feedback WHERE "time" >= ? AND "time" < ? ORDER BY "time", "id"`,
      [from, to],
    );
    return rows.map(([id, time, kind, subject, score, categories, comment]) => ({
      id: id as number,
      time: time as number,
      subjectKind: kind as 'room' | 'service',
      subject: subject as string,
      score: score as number,
      categories:
        (categories as string) === '' ? [] : ((categories as string).split(',') as FeedbackCategory[]),
      comment: comment as string,
    }));
  }

  /** A write in one transaction, rolled back whole on any failure. */
  async #write<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    await this.#started();
    return this.#options.database
      .exclusive(async (connection) => {
        await connection.run('BEGIN TRANSACTION');
        try {
          const result = await task(connection);
          await connection.run('COMMIT');
          return result;
        } catch (error) {
          await connection.run('ROLLBACK').catch(() => undefined);
          throw error;
        }
      })
      .catch((error: unknown) => {
        throw storeError('STATE_WRITE_FAILED', 'management state write failed', error);
      });
  }

  async #read(sql: string, params: DuckDBValue[]): Promise<DuckDBValue[][]> {
    await this.#started();
    return this.#options.database
      .read(async (connection) => (await connection.runAndReadAll(sql, params)).getRows() as DuckDBValue[][])
      .catch((error: unknown) => {
        throw storeError('STATE_QUERY_FAILED', 'management state query failed', error);
      });
  }

  #started(): Promise<void> {
    if (!this.#ready) {
      throw new StoreError('the management state is not started', { code: 'NOT_STARTED', retriable: false });
    }
    return this.#ready;
  }
}

async function insertFeedback(
  connection: DuckDBConnection,
  answer: NewFeedback,
): Promise<number | undefined> {
  const rows = (
    await connection.runAndReadAll(
      `INSERT INTO feedback ("time", "day", "subject_kind", "subject", "score", "categories", "comment", "browser", "source")
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING "id"::DOUBLE`,
      [
        answer.time,
        answer.day,
        answer.subjectKind,
        answer.subject,
        answer.score,
        answer.categories.join(','),
        answer.comment,
        answer.browser,
        answer.source,
      ],
    )
  ).getRows();
  const id = rows[0]?.[0];
  return typeof id === 'number' ? id : undefined;
}

async function insertAudit(
  connection: DuckDBConnection,
  time: number,
  actor: Actor,
  action: string,
  target: string,
  detail: unknown,
): Promise<void> {
  await connection.run(
    'INSERT INTO audit_log ("time", "actor", "actor_name", "action", "target", "detail") VALUES (?, ?, ?, ?, ?, ?)',
    [time, actor.tokenId, actor.name, action, target, JSON.stringify(detail)],
  );
}

function costFromRow(row: readonly DuckDBValue[]): CostEntry {
  const [id, item, kind, subject, fen, date, note, source, sourceKey, createdAt, createdBy] = row;
  return {
    id: id as number,
    item: item as LedgerItem,
    subject: { kind: kind as SubjectKind, id: subject as string },
    amountCny: (fen as number) / 100,
    date: date as string,
    note: note as string,
    source: source as EntrySource,
    ...(sourceKey === null ? {} : { sourceKey: sourceKey as string }),
    createdAt: createdAt as number,
    createdBy: createdBy as string,
  };
}

function storeError(code: string, context: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const retriable = /^(IO|TransactionContext|Out of Memory|Interrupt) Error/i.test(text);
  return new StoreError(`${context}: ${text}`, { code, retriable, cause: error });
}
