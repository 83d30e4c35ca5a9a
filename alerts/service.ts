/**
 * What the rest of the platform does with alerts: list them, acknowledge and comment (the API),
 * fire and resolve them (the engine), read and replace the rules. Every change goes through the
 * alert store (core/alerts/store.ts) and is then told to the listeners: the live feed's `alert`
 * event and the webhooks.
 *
 * **Where the rules come from.** The facility file's `alerts:` section, unless an admin saved
 * others through `PUT /api/v1/alert-rules`; those are kept in the alert store with the fingerprint
 * of the file's section at the time, and a file whose section changed since wins again (its
 * editor meant it). `DELETE /api/v1/alert-rules` goes back to the file's.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  type Alert,
  AlertStateError,
  acknowledge,
  addComment,
  resolve as resolveAlert,
} from '../core/alerts/alert.ts';
import type { Observation } from '../core/alerts/evaluate.ts';
import { type AlertEvent, type AlertRule, resolveRules } from '../core/alerts/rules.ts';
import type { AlertQuery, AlertStore } from '../core/alerts/store.ts';
import type { PathProblem } from '../core/facility/problem.ts';
import type { Facility } from '../core/facility/schema.ts';

export type AlertListener = (alert: Alert, event: AlertEvent) => void;

/** The rules in force and where they come from. */
export interface RulesInForce {
  readonly rules: readonly AlertRule[];
  readonly source: 'file' | 'api';
  readonly savedAt: number | null;
  readonly savedBy: string | null;
}

export class AlertNotFoundError extends Error {
  constructor(id: string) {
    super(`no alert "${id}"`);
    this.name = 'AlertNotFoundError';
  }
}

export interface AlertServiceOptions {
  readonly store: AlertStore;
  readonly facility: Facility;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export class AlertService {
  readonly store: AlertStore;
  readonly facility: Facility;
  readonly #now: () => number;
  readonly #listeners = new Set<AlertListener>();
  readonly #ruleListeners = new Set<(rules: RulesInForce) => void>();
  readonly #fileFingerprint: string;
  readonly #logger: Logger | undefined;

  constructor(options: AlertServiceOptions) {
    this.store = options.store;
    this.facility = options.facility;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#fileFingerprint = createHash('sha256')
      .update(JSON.stringify(options.facility.alerts.rules))
      .digest('base64url')
      .slice(0, 22);
  }

  /** Calls `listener` after every change of an alert (fired, acknowledged, commented, resolved). */
  onChange(listener: AlertListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` when the rules are replaced or reset here. */
  onRules(listener: (rules: RulesInForce) => void): () => void {
    this.#ruleListeners.add(listener);
    return () => this.#ruleListeners.delete(listener);
  }

  #emit(alert: Alert, event: AlertEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(alert, event);
      } catch (error) {
        this.#logger?.warn({ err: error, alert: alert.id }, 'an alert listener failed');
      }
    }
  }

  list(query: AlertQuery): Promise<Alert[]> {
    return this.store.list(query);
  }

  get(id: string): Promise<Alert | undefined> {
    return this.store.get(id);
  }

  openAlerts(): Promise<Alert[]> {
    return this.store.openAlerts();
  }

  async acknowledge(id: string, by: string, comment?: string): Promise<Alert> {
    const at = this.#now();
    const alert = await this.store.update(id, (stored) => acknowledge(stored, by, at, comment));
    if (!alert) throw new AlertNotFoundError(id);
    this.#emit(alert, 'acknowledged');
    return alert;
  }

  async comment(id: string, by: string, text: string): Promise<Alert> {
    const at = this.#now();
    const alert = await this.store.update(id, (stored) => addComment(stored, by, at, text));
    if (!alert) throw new AlertNotFoundError(id);
    this.#emit(alert, 'commented');
    return alert;
  }

  /** Opens an alert for an observation of a rule; answers the open one when there is one already. */
  async fire(
    rule: AlertRule,
    observation: Observation,
    at: number,
  ): Promise<{ alert: Alert; created: boolean }> {
    const alert: Alert = {
      id: `alt_${randomBytes(9).toString('base64url')}`,
      rule: rule.id,
      type: rule.type,
      severity: rule.severity,
      state: 'firing',
      subject: observation.subject,
      firedAt: at,
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      value: observation.value,
      threshold: observation.threshold,
      unit: observation.unit,
      title: rule.name
        ? { zh: `${rule.name.zh}：${observation.title.zh}`, en: `${rule.name.en}: ${observation.title.en}` }
        : observation.title,
      detail: observation.detail,
      comments: [],
    };
    const opened = await this.store.openAlert(alert);
    if (opened.created) this.#emit(opened.alert, 'fired');
    return opened;
  }

  /** Resolves an open alert (nothing when it is resolved already). */
  async resolve(
    id: string,
    at: number,
    value: number | null,
    note?: { by: string; text: string },
  ): Promise<Alert | undefined> {
    let changed = false;
    const alert = await this.store.update(id, (stored) => {
      if (stored.state === 'resolved') return stored;
      changed = true;
      const resolved = resolveAlert(stored, at, value);
      return note ? addComment(resolved, note.by, at, note.text) : resolved;
    });
    if (alert && changed) this.#emit(alert, 'resolved');
    return alert;
  }

  /** The rules in force: those saved through the API, unless the facility file changed since. */
  async rules(): Promise<RulesInForce> {
    const saved = await this.store.loadRules();
    if (saved && saved.fileFingerprint === this.#fileFingerprint) {
      const { rules, problems } = resolveRules(
        Array.isArray(saved.rules) ? saved.rules : [],
        this.#context(),
        ['rules'],
      );
      if (problems.length === 0)
        return { rules, source: 'api', savedAt: saved.savedAt, savedBy: saved.savedBy };
      this.#logger?.warn(
        { problems },
        'the alert rules saved through the API no longer fit the facility; using the file’s',
      );
    }
    return { rules: this.facility.alerts.rules, source: 'file', savedAt: null, savedBy: null };
  }

  /** Replaces the rules (each given in full or partly: missing fields take the type's defaults). */
  async setRules(
    given: readonly unknown[],
    by: string,
  ): Promise<{ ok: true; rules: RulesInForce } | { ok: false; problems: PathProblem[] }> {
    const { rules, problems } = resolveRules(given, this.#context(), ['rules']);
    if (problems.length > 0) return { ok: false, problems };
    const savedAt = this.#now();
    await this.store.saveRules({ rules, savedAt, savedBy: by, fileFingerprint: this.#fileFingerprint });
    const inForce: RulesInForce = { rules, source: 'api', savedAt, savedBy: by };
    for (const listener of this.#ruleListeners) listener(inForce);
    return { ok: true, rules: inForce };
  }

  /** Back to the facility file's rules. */
  async resetRules(): Promise<RulesInForce> {
    await this.store.clearRules();
    const inForce: RulesInForce = {
      rules: this.facility.alerts.rules,
      source: 'file',
      savedAt: null,
      savedBy: null,
    };
    for (const listener of this.#ruleListeners) listener(inForce);
    return inForce;
  }

  #context() {
    return {
      buildings: this.facility.buildings.map((b) => b.id),
      geofences: this.facility.geofences.map((g) => g.id),
    };
  }
}

export { AlertStateError };
