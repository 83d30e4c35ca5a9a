/**
 * When an observation fires an alert and when an open alert resolves: the hold times and
 * hysteresis of core/alerts/rules.ts over the observations of core/alerts/evaluate.ts. Pure: the
 * {@link Tracker} keeps, per rule and subject, since when a condition has held or been clear, and
 * answers decisions; the engine (alerts/engine.ts) carries them out against the alert store, which
 * keeps one open alert per rule and subject.
 *
 * - An observation `fire` that has held for `forMinutes` (from its data `since`, else from the
 *   first evaluation that saw it) fires, unless an alert of that rule and subject is open.
 * - An open alert resolves once its observations have been `clear` for `clearMinutes`; `hold`
 *   (the hysteresis band) and `fire` keep it open.
 * - No observation (no data for the subject) changes nothing.
 */
import { type Alert, openKey } from './alert.ts';
import type { Observation } from './evaluate.ts';
import type { AlertRule } from './rules.ts';

const MINUTE_MS = 60_000;

export type Decision =
  | {
      readonly action: 'fire';
      readonly rule: AlertRule;
      readonly observation: Observation;
      readonly at: number;
    }
  | {
      readonly action: 'resolve';
      readonly alert: Alert;
      readonly observation: Observation;
      readonly at: number;
    };

interface Track {
  pendingSince?: number | undefined;
  clearSince?: number | undefined;
}

export class Tracker {
  readonly #tracks = new Map<string, Track>();

  /**
   * Decisions for one rule's observations at `now`, given the open alerts by
   * {@link openKey}. Updates the hold times.
   */
  step(
    rule: AlertRule,
    observations: readonly Observation[],
    now: number,
    open: ReadonlyMap<string, Alert>,
  ): Decision[] {
    const decisions: Decision[] = [];
    for (const observation of observations) {
      const key = openKey(rule.id, observation.subject);
      let track = this.#tracks.get(key);
      if (!track) {
        track = {};
        this.#tracks.set(key, track);
      }
      const alert = open.get(key);
      if (alert) {
        track.pendingSince = undefined;
        if (observation.level === 'clear') {
          track.clearSince ??= now;
          if (now - track.clearSince >= rule.clearMinutes * MINUTE_MS) {
            decisions.push({ action: 'resolve', alert, observation, at: now });
            track.clearSince = undefined;
          }
        } else track.clearSince = undefined;
        continue;
      }
      track.clearSince = undefined;
      if (observation.level !== 'fire') {
        track.pendingSince = undefined;
        if (track.clearSince === undefined) this.#tracks.delete(key);
        continue;
      }
      track.pendingSince ??= now;
      const start = observation.since ?? track.pendingSince;
      if (now - start >= rule.forMinutes * MINUTE_MS) {
        decisions.push({ action: 'fire', rule, observation, at: now });
        track.pendingSince = undefined;
      }
    }
    return decisions;
  }

  /** Forgets the hold times of a rule (changed or removed). */
  forget(ruleId: string): void {
    const prefix = `${ruleId}\u0000`;
    for (const key of this.#tracks.keys()) if (key.startsWith(prefix)) this.#tracks.delete(key);
  }
}
