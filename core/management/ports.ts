/**
 * The management layer's state ports (issue 13): the cost ledger with its audit trail, the
 * feedback answers, and what the scorecard reads of alerts. `storage/duckdb/management-state.ts`
 * keeps the first three in DuckDB beside the store (or in `DATA/state.duckdb`); alerts are another
 * part's, read through {@link AlertReader} when one is wired.
 */
import type { FeedbackAnswer } from './feedback.ts';
import type { FeedbackCategory, LedgerItem, Subject } from './model.ts';

/** Where a ledger entry or an answer came from. */
export type EntrySource = 'api' | 'import' | 'simulator';

export interface NewCostEntry {
  readonly item: LedgerItem;
  readonly subject: Subject;
  /** CNY, > 0, at most two decimals. */
  readonly amountCny: number;
  /** `YYYY-MM-DD`, local date the cost belongs to. */
  readonly date: string;
  readonly note: string;
  readonly source: EntrySource;
  /** Entries with the same key are stored once (the simulator's entries, re-generated at each start). */
  readonly sourceKey?: string;
}

export interface CostEntry extends NewCostEntry {
  readonly id: number;
  /** epoch ms */
  readonly createdAt: number;
  /** Token id of who entered it (`simulator` for the demo's). */
  readonly createdBy: string;
}

/** Who changes the ledger, for its audit entries. */
export interface Actor {
  readonly tokenId: string;
  readonly name: string;
}

export interface CostQuery {
  /** Local midnight of the first date included, and of the first date after, epoch ms. */
  readonly from?: number;
  readonly to?: number;
  readonly subject?: Subject;
}

export interface AuditEntry {
  readonly id: number;
  readonly time: number;
  readonly actor: string;
  readonly actorName: string;
  /** `cost.create`, `cost.import`, `cost.delete`. */
  readonly action: string;
  /** What it touched, e.g. `cost:42`, `import:finance-2026-11.csv`. */
  readonly target: string;
  /** JSON text: the entry as it was, the rows imported. */
  readonly detail: string;
}

export interface CostLedger {
  /** Stores every entry or none, with one audit entry; entries whose `sourceKey` is stored are skipped. */
  addCosts(
    entries: readonly NewCostEntry[],
    actor: Actor,
    audit: { readonly action: string; readonly target: string },
  ): Promise<CostEntry[]>;
  /** Entries not deleted, by date then id. */
  listCosts(query: CostQuery): Promise<CostEntry[]>;
  /** Marks an entry deleted (kept for the audit), with an audit entry; undefined when there is none. */
  deleteCost(id: number, actor: Actor): Promise<CostEntry | undefined>;
  /** Newest first. */
  listAudit(limit: number, before?: number): Promise<AuditEntry[]>;
}

export interface NewFeedback {
  readonly time: number;
  /** Local `YYYY-MM-DD` of `time`: one answer per browser, subject and day. */
  readonly day: string;
  readonly subjectKind: 'room' | 'service';
  readonly subject: string;
  readonly score: number;
  readonly categories: readonly FeedbackCategory[];
  readonly comment: string;
  /** A hash of the browser's cookie (or the simulator's key). */
  readonly browser: string;
  readonly source: EntrySource;
}

export interface FeedbackStore {
  /** Stores the answer unless that browser answered about that subject that day already. */
  addFeedback(answer: NewFeedback): Promise<{ stored: true; id: number } | { stored: false }>;
  /** Stores many at once, skipping those already there (same browser, subject, day); how many were new. */
  addFeedbackBatch(answers: readonly NewFeedback[]): Promise<number>;
  /** Answers with time in [from, to), oldest first. */
  listFeedback(from: number, to: number): Promise<FeedbackAnswer[]>;
}

/** An alert as the scorecard reads it. */
export interface AlertRecord {
  readonly department?: string;
  /** epoch ms */
  readonly raisedAt: number;
  readonly acknowledgedAt: number | null;
}

/**
 * What the scorecard's "alerts acknowledged in time" reads: the alerts raised in [from, to). The
 * alert engine (another issue) implements it; until one is wired the indicator is null,
 * `no-alert-store`.
 */
export interface AlertReader {
  alertsRaised(from: number, to: number): Promise<readonly AlertRecord[]>;
}

/** Everything the management layer keeps. */
export interface ManagementState extends CostLedger, FeedbackStore {
  start(): Promise<void>;
  stop(): Promise<void>;
}
