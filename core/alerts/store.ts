/**
 * The alert store port: where alerts, the rules saved through the API and the webhook delivery
 * log live. `storage/duckdb/alert-store.ts` keeps them in the DuckDB file (the store's own, or
 * `{data}/state.duckdb` beside InfluxDB); `storage/redis/alert-store.ts` in Redis, so that every
 * `facility api` process of a scaled deployment answers from the same alerts. One contract test
 * suite runs against both (tests/integration/alert-store-contract.ts).
 *
 * One open alert per rule and subject: {@link AlertStore.openAlert} inserts only when none is
 * open under the same {@link openKey}, atomically, so two evaluations racing (two messages of one
 * device, two engines) cannot open two.
 */
import type { Alert, AlertState } from './alert.ts';
import type { AlertEvent, Severity } from './rules.ts';

/** What {@link AlertStore.list} returns. */
export interface AlertQuery {
  /** Only alerts in these states (`open` is firing and acknowledged). */
  readonly states?: readonly AlertState[];
  readonly severities?: readonly Severity[];
  /** Only alerts open at some instant of `[from, to)` (fired before `to`, not resolved before `from`). */
  readonly from?: number;
  readonly to?: number;
  /** Only alerts whose subject belongs to this department. */
  readonly department?: string;
  /** Most alerts, newest fired first. */
  readonly limit: number;
}

/** A webhook delivery, as logged. */
export interface Delivery {
  readonly id: number;
  readonly alert: string;
  readonly webhook: string;
  readonly event: AlertEvent;
  /** When the last attempt ended, epoch ms. */
  readonly at: number;
  readonly attempts: number;
  readonly ok: boolean;
  /** HTTP status of the last attempt, null when none came back. */
  readonly status: number | null;
  /** Why the last attempt failed. */
  readonly error: string | null;
}

export type NewDelivery = Omit<Delivery, 'id'>;

/** Rules saved through the API. */
export interface SavedRules {
  /** The rules as saved (validated when saved; validated again when loaded). */
  readonly rules: unknown;
  readonly savedAt: number;
  readonly savedBy: string;
  /**
   * Fingerprint of the facility file's `alerts:` section when they were saved: a file changed
   * since wins over them (core/alerts/rules-source.ts).
   */
  readonly fileFingerprint: string;
}

export interface AlertStore {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Opens `alert` (state firing) unless an alert of its rule and subject is open: answers the open
   * one, and whether it is the new one.
   */
  openAlert(alert: Alert): Promise<{ readonly alert: Alert; readonly created: boolean }>;
  /**
   * Changes one alert atomically (`change` gets the stored alert and returns the new one, or throws
   * to change nothing); undefined when there is no alert with that id.
   */
  update(id: string, change: (alert: Alert) => Alert): Promise<Alert | undefined>;
  get(id: string): Promise<Alert | undefined>;
  /** Every open alert (firing or acknowledged). */
  openAlerts(): Promise<Alert[]>;
  list(query: AlertQuery): Promise<Alert[]>;
  loadRules(): Promise<SavedRules | undefined>;
  saveRules(rules: SavedRules): Promise<void>;
  /** Removes the saved rules (back to the facility file's). */
  clearRules(): Promise<void>;
  addDelivery(delivery: NewDelivery): Promise<void>;
  /** Newest first. */
  deliveries(query: { readonly alert?: string; readonly limit: number }): Promise<Delivery[]>;
}

/** Whether an alert is in the query's states, severities, period and department. */
export function matches(alert: Alert, query: Omit<AlertQuery, 'limit'>): boolean {
  if (query.states && !query.states.includes(alert.state)) return false;
  if (query.severities && !query.severities.includes(alert.severity)) return false;
  if (query.to !== undefined && alert.firedAt >= query.to) return false;
  if (query.from !== undefined && alert.resolvedAt !== null && alert.resolvedAt < query.from) return false;
  if (query.department !== undefined && alert.subject.department !== query.department) return false;
  return true;
}

/** Newest fired first, then by id. */
export function byNewest(a: Alert, b: Alert): number {
  return b.firedAt - a.firedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
