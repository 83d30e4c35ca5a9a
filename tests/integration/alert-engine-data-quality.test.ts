/**
 * The data-quality rule on real parts (tests/setup/alert-harness.ts: DuckDB, its dead-letter,
 * the live feed, the engine with a set clock): a meter whose messages are dead-lettered more than
 * `maxPerHour` (10) times in the last hour. Worked by hand: 11 rejections of b1-e-main one a
 * minute from t0 (t0 … t0 + 10 min).
 *
 * - t0 + 10 min: 11 in the last hour > 10: fires at once (`forMinutes` 0);
 * - a restart at t0 + 30 min reads the last hour of the dead-letter back: the same alert, no second;
 * - t0 + 59 min: still 11 (the hour is (t − 60 min, t]);
 * - t0 + 60 min: the one at t0 has left the hour: 10, not over: clear; held `clearMinutes` (10):
 *   resolved at t0 + 70 min, when the hour holds none of them (value 0).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { type AlertRule, RULE_DEFAULTS } from '../../core/alerts/rules.ts';
import { createSimulation } from '../../simulators/simulation.ts';
import { AlertHarness } from '../setup/alert-harness.ts';
import { demoFacility } from '../setup/wait.ts';

const FACILITY = demoFacility();
const SIM = createSimulation(FACILITY, { seed: 20_261_128 });
const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 18, 2, 0); // Wednesday 18 Nov 2026, 10:00 in Chengdu

describe('data-quality: a meter whose messages keep being dead-lettered', () => {
  it('fires over 10 an hour, survives a restart, and resolves once the hour holds 10 or fewer', async () => {
    const rule = { id: 'data-quality', type: 'data-quality', ...RULE_DEFAULTS['data-quality'] } as AlertRule;
    const harness = await AlertHarness.open(
      { facility: FACILITY, rules: [rule], simulation: SIM, devices: ['b1-e-main'] },
      T0 - 60 * MIN,
      T0,
    );
    onTestFinished(() => harness.close());
    await harness.parts.deadLetters.add(
      Array.from({ length: 11 }, (_, k) => ({
        time: T0 + k * MIN,
        topic: 'fac/cd-compound/meter/b1-e-main/reading',
        device: { kind: 'meter' as const, id: 'b1-e-main' },
        reason: 'schema' as const,
        detail: `total: 不是数字 not a number #${k}`,
        payload: '{"ts":1,"total":"x"}',
        encoding: 'utf8' as const,
        size: 20,
        truncated: false,
      })),
    );
    const at = async (minutes: number) => {
      harness.now = T0 + minutes * MIN;
      await harness.parts.engine.evaluate(harness.now);
      return (await harness.alerts()).filter((a) => a.rule === 'data-quality');
    };

    expect(await at(9)).toEqual([]); // 10 by then: not over
    const [fired, ...more] = await at(10);
    expect(more).toEqual([]);
    expect(fired).toMatchObject({
      state: 'firing',
      subject: { kind: 'meter', id: 'b1-e-main' },
      firedAt: T0 + 10 * MIN,
      value: 11,
      threshold: 10,
      unit: '/h',
    });
    expect(fired?.detail.zh).toContain('近一小时 11 条消息被拒收');
    await harness.parts.service.acknowledge(fired?.id as string, 'wang');

    harness.now = T0 + 30 * MIN;
    await harness.restart();
    expect((await at(30)).map((a) => [a.id, a.state])).toEqual([[fired?.id, 'acknowledged']]);
    expect((await at(59)).map((a) => a.state)).toEqual(['acknowledged']);
    expect((await at(60)).map((a) => a.state)).toEqual(['acknowledged']);
    expect((await at(69)).map((a) => a.state)).toEqual(['acknowledged']);
    const [resolved] = await at(70);
    expect(resolved).toMatchObject({
      id: fired?.id,
      state: 'resolved',
      resolvedAt: T0 + 70 * MIN,
      // (t0 + 10 min, t0 + 70 min] holds none of the 11 any more.
      value: 0,
    });
  }, 60_000);
});
