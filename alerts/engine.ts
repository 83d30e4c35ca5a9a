/**
 * The alert engine: evaluates the rules (core/alerts/evaluate.ts) over the live state of the live
 * feed, on the stream (at most once a `streamMs`, leading edge, after the batches that changed
 * something) and on a schedule (every `tickMs`), and carries out the life cycle's decisions
 * (core/alerts/lifecycle.ts) through the alert service: fire, auto-resolve. Energy figures from the
 * rollups are read again when the 15 minutes roll over, and the quota projections every
 * `everyMinutes` of the forecast rule.
 *
 * Evaluations run one at a time, and the alert store opens at most one alert per rule and subject
 * (atomically), so concurrent messages cannot open duplicates; open alerts are read from the store
 * at start, so a restart neither fires again what is open nor forgets it.
 *
 * Runs in the process that holds the live stream: `facility start`, or the one `facility api` with
 * `--alert-engine` in a scaled deployment (docs/architecture.md, "Alerts when scaled out").
 */
import type { Logger } from 'pino';
import { type Alert, openKey } from '../core/alerts/alert.ts';
import {
  type EnergyFigures,
  type EvaluationInput,
  evaluateRule,
  NO_ENERGY_FIGURES,
} from '../core/alerts/evaluate.ts';
import { type Decision, Tracker } from '../core/alerts/lifecycle.ts';
import type { AlertRule, RuleType } from '../core/alerts/rules.ts';
import type { KpiContext } from '../core/kpi/types.ts';
import { bucketOf } from '../core/rollup/schema.ts';
import type { LiveFeed, LiveUpdate } from '../live/feed.ts';
import { baselines, baselineWeeks, forecasts, monthBeforeToday } from './energy-figures.ts';
import type { AlertService, RulesInForce } from './service.ts';

/** Rule types judged on the stream (the others on the schedule only). */
const STREAM_TYPES: ReadonlySet<RuleType> = new Set([
  'room-empty-conditioned',
  'room-setpoint',
  'room-co2',
  'vehicle-off-hours',
  'vehicle-geofence',
  'vehicle-speeding',
  'device-offline',
  'data-quality',
  'off-hours-load',
]);

export interface AlertEngineOptions {
  readonly service: AlertService;
  readonly feed: LiveFeed;
  /** For the energy figures and quota projections (the store's rollups). */
  readonly kpi: KpiContext;
  /** Scheduled evaluation, ms; 0: none (tests call {@link AlertEngine.evaluate}). Default 10 s. */
  readonly tickMs?: number;
  /** Least time between two evaluations on the stream, ms; 0: none (tests). Default 1 s. */
  readonly streamMs?: number;
  /** How often rules saved by another process are looked for, ms. Default 30 s. */
  readonly rulesPollMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export class AlertEngine {
  readonly #options: AlertEngineOptions;
  readonly #service: AlertService;
  readonly #feed: LiveFeed;
  readonly #now: () => number;
  readonly #tracker = new Tracker();
  readonly #open = new Map<string, Alert>();
  #rules: RulesInForce | undefined;
  #energy: EnergyFigures = NO_ENERGY_FIGURES;
  #energyBucket = Number.NaN;
  #forecastAt = Number.NEGATIVE_INFINITY;
  #chain: Promise<unknown> = Promise.resolve();
  #timers: NodeJS.Timeout[] = [];
  #streamTimer: NodeJS.Timeout | undefined;
  #lastStream = Number.NEGATIVE_INFINITY;
  #unsubscribe: Array<() => void> = [];
  #running = false;
  #watchingSince = Number.NEGATIVE_INFINITY;

  constructor(options: AlertEngineOptions) {
    this.#options = options;
    this.#service = options.service;
    this.#feed = options.feed;
    this.#now = options.now ?? Date.now;
  }

  /** The rules in force. */
  get rules(): readonly AlertRule[] {
    return this.#rules?.rules ?? [];
  }

  /** The open alerts as the engine knows them. */
  get open(): readonly Alert[] {
    return [...this.#open.values()];
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#watchingSince = this.#now();
    this.#rules = await this.#service.rules();
    for (const alert of await this.#service.openAlerts())
      this.#open.set(openKey(alert.rule, alert.subject), alert);
    this.#feed.setOpenAlerts(this.#open.size);
    this.#unsubscribe.push(
      this.#service.onChange((alert) => {
        const key = openKey(alert.rule, alert.subject);
        if (alert.state === 'resolved') {
          if (this.#open.get(key)?.id === alert.id) this.#open.delete(key);
        } else this.#open.set(key, alert);
        this.#feed.setOpenAlerts(this.#open.size);
      }),
      this.#service.onRules((rules) => void this.#serial(() => this.#applyRules(rules))),
      this.#feed.onUpdate((updates) => this.#onStream(updates)),
    );
    const tickMs = this.#options.tickMs ?? 10_000;
    if (tickMs > 0) {
      const tick = setInterval(() => void this.evaluate().catch((error) => this.#failed(error)), tickMs);
      tick.unref();
      this.#timers.push(tick);
      const pollMs = this.#options.rulesPollMs ?? 30_000;
      const poll = setInterval(() => void this.#pollRules(), pollMs);
      poll.unref();
      this.#timers.push(poll);
      // The first evaluation at once: what is under way at start fires within seconds.
      void this.evaluate().catch((error) => this.#failed(error));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    if (this.#streamTimer) clearTimeout(this.#streamTimer);
    this.#streamTimer = undefined;
    for (const stop of this.#unsubscribe.splice(0)) stop();
    await this.#chain.catch(() => undefined);
  }

  /**
   * Evaluates the rules (all, or those of `types`) at `now` and carries out the decisions; resolves
   * with them once the alert store has them. One evaluation at a time.
   */
  evaluate(now: number = this.#now(), types?: ReadonlySet<RuleType>): Promise<Decision[]> {
    return this.#serial(() => this.#evaluate(now, types));
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task, task);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #failed(error: unknown): void {
    this.#options.logger?.error({ err: error }, 'alert evaluation failed; trying again at the next tick');
  }

  #onStream(updates: readonly LiveUpdate[]): void {
    if (!this.#running || updates.every((u) => u.topic === 'ingest')) return;
    const minMs = this.#options.streamMs ?? 1000;
    const run = () => {
      this.#streamTimer = undefined;
      this.#lastStream = Date.now();
      void this.evaluate(this.#now(), STREAM_TYPES).catch((error) => this.#failed(error));
    };
    if (minMs <= 0) return run();
    if (this.#streamTimer) return;
    const wait = this.#lastStream + minMs - Date.now();
    if (wait <= 0) run();
    else {
      this.#streamTimer = setTimeout(run, wait);
      this.#streamTimer.unref();
    }
  }

  async #pollRules(): Promise<void> {
    try {
      const rules = await this.#service.rules();
      if (JSON.stringify(rules.rules) !== JSON.stringify(this.#rules?.rules)) {
        await this.#serial(() => this.#applyRules(rules));
      }
    } catch (error) {
      this.#options.logger?.warn({ err: error }, 'reading the alert rules failed; keeping the ones in force');
    }
  }

  /** New rules: hold times of changed rules are forgotten, open alerts of rules gone or turned off resolve. */
  async #applyRules(rules: RulesInForce): Promise<void> {
    const before = new Map((this.#rules?.rules ?? []).map((r) => [r.id, r]));
    this.#rules = rules;
    const now = this.#now();
    for (const rule of rules.rules) {
      if (JSON.stringify(before.get(rule.id)) !== JSON.stringify(rule)) this.#tracker.forget(rule.id);
    }
    const active = new Set(rules.rules.filter((r) => r.enabled).map((r) => r.id));
    for (const alert of [...this.#open.values()]) {
      if (active.has(alert.rule)) continue;
      this.#tracker.forget(alert.rule);
      await this.#service.resolve(alert.id, now, alert.value, {
        by: 'system',
        text: '规则已删除或停用 The rule was removed or turned off',
      });
    }
    this.#energyBucket = Number.NaN;
    this.#forecastAt = Number.NEGATIVE_INFINITY;
  }

  async #evaluate(now: number, types?: ReadonlySet<RuleType>): Promise<Decision[]> {
    const rules = (this.#rules?.rules ?? []).filter((r) => r.enabled && (!types || types.has(r.type)));
    if (!types) await this.#refreshEnergy(now, rules);
    const input: EvaluationInput = {
      now,
      live: this.#feed.state,
      energy: this.#energy,
      watchingSince: this.#watchingSince,
    };
    const decisions: Decision[] = [];
    for (const rule of rules) {
      let observations: ReturnType<typeof evaluateRule>;
      try {
        observations = evaluateRule(rule, input);
      } catch (error) {
        this.#options.logger?.error(
          { err: error, rule: rule.id },
          'an alert rule failed to evaluate; the others go on',
        );
        continue;
      }
      decisions.push(...this.#tracker.step(rule, observations, now, this.#open));
    }
    for (const decision of decisions) {
      if (decision.action === 'fire') {
        const { alert } = await this.#service.fire(decision.rule, decision.observation, decision.at);
        this.#open.set(openKey(alert.rule, alert.subject), alert);
      } else {
        await this.#service.resolve(decision.alert.id, decision.at, decision.observation.value);
        const key = openKey(decision.alert.rule, decision.alert.subject);
        if (this.#open.get(key)?.id === decision.alert.id) this.#open.delete(key);
      }
    }
    if (decisions.length > 0) this.#feed.setOpenAlerts(this.#open.size);
    return decisions;
  }

  /** Reads the energy figures again when the 15 minutes rolled over, the projections when due. */
  async #refreshEnergy(now: number, rules: readonly AlertRule[]): Promise<void> {
    const needs = new Set(rules.map((r) => r.type));
    if (!needs.has('energy-quota') && !needs.has('energy-baseline') && !needs.has('quota-forecast')) return;
    const { store } = this.#options.kpi;
    const live = this.#feed.state;
    const bucket = bucketOf(now);
    try {
      if (bucket !== this.#energyBucket) {
        const month = needs.has('energy-quota') ? await monthBeforeToday(store, live, now) : {};
        const weeks = baselineWeeks(rules);
        const base = weeks > 0 ? await baselines(store, live, now, weeks) : {};
        this.#energy = { ...this.#energy, ...month, ...base };
        this.#energyBucket = bucket;
      }
      const forecast = rules.find((r) => r.type === 'quota-forecast');
      if (
        forecast &&
        forecast.type === 'quota-forecast' &&
        now - this.#forecastAt >= forecast.everyMinutes * 60_000
      ) {
        this.#energy = { ...this.#energy, forecasts: await forecasts(this.#options.kpi, live, now) };
        this.#forecastAt = now;
      }
    } catch (error) {
      this.#options.logger?.warn(
        { err: error },
        'reading the energy figures for the alert rules failed; using the last ones',
      );
    }
  }
}
