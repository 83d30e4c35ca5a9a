/**
 * One alert rule against one planted fault of the simulators (seed 20261128), on real parts
 * (tests/setup/alert-harness.ts): the simulated readings are committed step by step as the ingest
 * would, the engine evaluates on the stream and after each step with the data's clock, and the
 * scenario checks the life cycle: the alert fires once, inside the fault; an operator acknowledges
 * it; the platform restarts on the same file while it is open and neither fires it again nor
 * forgets the acknowledgement; it resolves by itself once the fault is over.
 */
import { expect, onTestFinished } from 'vitest';
import type { Alert, SubjectKind } from '../../core/alerts/alert.ts';
import type { AlertRule } from '../../core/alerts/rules.ts';
import type { Facility } from '../../core/facility/schema.ts';
import type { Simulation } from '../../simulators/simulation.ts';
import { AlertHarness } from './alert-harness.ts';

export interface Scenario {
  readonly facility: Facility;
  readonly simulation: Simulation;
  readonly rule: AlertRule;
  readonly devices: readonly string[];
  /** History written before the engine starts. */
  readonly historyFrom: number;
  /** When the engine starts. */
  readonly start: number;
  /** How far the data goes (the scenario stops once the alert resolved). */
  readonly end: number;
  readonly stepMs: number;
  /**
   * Longer steps while the alert is open, acknowledged and restarted, until two steps before the
   * condition can clear (evaluated after each, so it must stay open throughout). Default `stepMs`.
   */
  readonly coastMs?: number;
  readonly subject: { readonly kind: SubjectKind; readonly id: string };
  /** When it must fire, `[from, to]`. */
  readonly fired: readonly [number, number];
  /** When it must resolve, `[from, to]`. */
  readonly resolved: readonly [number, number];
}

export interface Outcome {
  readonly alert: Alert;
  readonly harness: AlertHarness;
}

/** Runs a scenario and checks the life cycle; answers the resolved alert. */
export async function runScenario(spec: Scenario): Promise<Outcome> {
  const harness = await AlertHarness.open(
    { facility: spec.facility, rules: [spec.rule], simulation: spec.simulation, devices: spec.devices },
    spec.historyFrom,
    spec.start,
  );
  onTestFinished(() => harness.close());
  const mine = async () => (await harness.alerts()).filter((a) => a.rule === spec.rule.id);
  let fired: Alert | undefined;
  let restarted = false;
  let resolved: Alert | undefined;
  // The first evaluation, at the start (what is already under way fires at once).
  await harness.parts.engine.evaluate(spec.start);
  const step = async (at: number): Promise<boolean> => {
    const alerts = await mine();
    if (!fired && alerts.length > 0) {
      fired = alerts[0] as Alert;
      await harness.parts.service.acknowledge(fired.id, 'wang', '已通知值班人员 duty notified');
      return false;
    }
    if (fired && !restarted && alerts.every((a) => a.state !== 'resolved')) {
      // Restart while it is open: the same alert, still acknowledged, no second one.
      await harness.restart();
      await harness.parts.engine.evaluate(at);
      const again = await mine();
      expect(again.map((a) => a.id)).toEqual([fired.id]);
      expect(again[0]).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'wang' });
      expect(harness.parts.engine.open.map((a) => a.id)).toContain(fired.id);
      restarted = true;
      return false;
    }
    resolved = alerts.find((a) => a.state === 'resolved');
    return resolved !== undefined;
  };
  if (await step(spec.start)) throw new Error('resolved at the start');
  let t = spec.start;
  while (t < spec.end) {
    // Fine steps again before the condition can clear (the resolution less the clear time).
    const fine = spec.resolved[0] - spec.rule.clearMinutes * 60_000 - 2 * spec.stepMs;
    const coasting = restarted && spec.coastMs !== undefined && t + spec.coastMs < fine;
    const next = Math.min(spec.end, t + (coasting ? (spec.coastMs as number) : spec.stepMs));
    await harness.write(t, next);
    const decisions = await harness.parts.engine.evaluate(next);
    if (process.env.ALERT_SCENARIO_LOG)
      process.stderr.write(`${iso(next)} ${decisions.map((d) => d.action).join(',')}\n`);
    t = next;
    if (await step(t)) break;
  }

  const all = await mine();
  const describe = all.map(
    (a) =>
      `${a.subject.kind}:${a.subject.id} ${a.state} ${iso(a.firedAt)}→${a.resolvedAt ? iso(a.resolvedAt) : '…'} ${a.detail.en}`,
  );
  expect(all, describe.join('\n')).toHaveLength(1);
  const alert = all[0] as Alert;
  expect(alert.subject).toMatchObject(spec.subject);
  expect(restarted, 'the platform was restarted while the alert was open').toBe(true);
  expect(alert.state, describe.join('\n')).toBe('resolved');
  expect(alert.acknowledgedBy).toBe('wang');
  expect(alert.comments.map((c) => c.text)).toEqual(['已通知值班人员 duty notified']);
  if (process.env.ALERT_SCENARIO_LOG) {
    process.stderr.write(
      `${spec.rule.id}: fired ${iso(alert.firedAt)} resolved ${iso(alert.resolvedAt ?? 0)} — ${alert.detail.en}\n`,
    );
  }
  const within = (t: number | null, [a, b]: readonly [number, number]) => t !== null && t >= a && t <= b;
  expect(
    within(alert.firedAt, spec.fired),
    `fired at ${iso(alert.firedAt)}, not in ${iso(spec.fired[0])}…${iso(spec.fired[1])}`,
  ).toBe(true);
  expect(
    within(alert.resolvedAt, spec.resolved),
    `resolved at ${alert.resolvedAt === null ? '-' : iso(alert.resolvedAt)}, not in ${iso(spec.resolved[0])}…${iso(spec.resolved[1])}`,
  ).toBe(true);
  return { alert, harness };
}

/** Chengdu local time, for messages. */
export function iso(t: number): string {
  return new Date(t + 8 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
}
