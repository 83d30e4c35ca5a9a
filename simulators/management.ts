/**
 * The demo's management data (issue 13): ledger entries a finance office would export (car
 * maintenance, repairs and tyres, monthly cleaning contracts, occasional works) and occupants'
 * feedback whose scores follow the simulated rooms — an answer given while the room is cold
 * (below 19 °C), hot (above 27 °C) or stuffy (CO2 above 1000 ppm) scores lower and names that
 * category. All amounts are **examples**.
 *
 * Deterministic from the seed: every plan is drawn from a stream keyed by (seed, purpose, subject,
 * day), and every entry carries a key (ledger `sourceKey`, feedback "browser"), so generating a
 * range again — at every `facility start` — stores nothing twice. Ledger entries cover the
 * calendar year up to `to` (finance data predates the telemetry); feedback covers [from, to).
 */
import { DateTime } from 'luxon';
import type { Facility } from '../core/facility/schema.ts';
import { calendarOf } from '../core/kpi/common.ts';
import { type FeedbackCategory, feedbackServices } from '../core/management/model.ts';
import type { CostLedger, FeedbackStore, NewCostEntry, NewFeedback } from '../core/management/ports.ts';
import type { SensorState } from '../core/telemetry.ts';
import { drawFor } from './random.ts';
import type { Simulation } from './simulation.ts';

const ACTOR = { tokenId: 'simulator', name: 'demo simulator 演示数据' };

const COMMENTS: Readonly<Record<string, readonly string[]>> = {
  'too-cold': ['太冷了，开会冻手', '空调温度太低', 'Too cold in here'],
  'too-hot': ['太热了', '空调不够凉'],
  stuffy: ['空气太闷，开会犯困', '人多的时候很闷'],
  good: ['环境很好', '干净整洁', ''],
  service: ['服务很好', '等待时间长', '希望增加菜品', ''],
};

/** The demo ledger entries dated in [the local 1 January of `to`'s year, `to`). */
export function simulatedLedger(facility: Facility, seed: number, to: number): NewCostEntry[] {
  const zone = facility.site.timezone;
  const end = DateTime.fromMillis(to, { zone });
  const today = DateTime.fromMillis(to - 1, { zone }).toISODate() as string;
  const out: NewCostEntry[] = [];
  const date = (month: DateTime, day: number) =>
    month.set({ day: Math.min(day, month.daysInMonth ?? 28) }).toISODate() as string;
  for (let month = end.startOf('year'); month < end; month = month.plus({ months: 1 })) {
    const tag = month.toFormat('yyyy-MM');
    for (const v of facility.vehicles) {
      const draw = drawFor(seed, 'ledger', v.id, tag);
      const add = (item: NewCostEntry['item'], amount: number, day: number, note: string) => {
        const d = date(month, day);
        if (d <= today) {
          out.push({
            item,
            subject: { kind: 'vehicle', id: v.id },
            amountCny: Math.round(amount * 100) / 100,
            date: d,
            note,
            source: 'simulator',
            sourceKey: `sim:${seed}:${v.id}:${tag}:${item}`,
          });
        }
      };
      if (draw.chance(0.3)) add('maintenance', draw.between(600, 1800), draw.int(1, 28), '定期保养（示例）');
      if (draw.chance(0.1)) add('repair', draw.between(1200, 6000), draw.int(1, 28), '维修（示例）');
      if (draw.chance(0.05)) add('tyres', draw.between(2000, 3600), draw.int(1, 28), '更换轮胎（示例）');
    }
    for (const b of facility.buildings) {
      const draw = drawFor(seed, 'ledger', b.id, tag);
      const cleaning = date(month, 5);
      if (cleaning <= today) {
        out.push({
          item: 'cleaning',
          subject: { kind: 'building', id: b.id },
          amountCny: Math.round(b.floorArea * 1.2),
          date: cleaning,
          note: '保洁合同月度费用（示例）',
          source: 'simulator',
          sourceKey: `sim:${seed}:${b.id}:${tag}:cleaning`,
        });
      }
      if (draw.chance(0.15)) {
        const d = date(month, draw.int(1, 28));
        if (d <= today) {
          out.push({
            item: 'works',
            subject: { kind: 'building', id: b.id },
            amountCny: Math.round(draw.between(3000, 30000)),
            date: d,
            note: '零星维修工程（示例）',
            source: 'simulator',
            sourceKey: `sim:${seed}:${b.id}:${tag}:works`,
          });
        }
      }
    }
  }
  return out;
}

const clampScore = (x: number) => Math.max(1, Math.min(5, Math.round(x)));

/** The demo feedback in [from, to): rooms with a sensor (scores follow the room), and the services. */
export function simulatedFeedback(
  facility: Facility,
  simulation: Simulation,
  seed: number,
  from: number,
  to: number,
): NewFeedback[] {
  const zone = facility.site.timezone;
  const calendar = calendarOf(facility);
  const out: NewFeedback[] = [];
  const sensors = facility.sensors.filter((s) => s.measures.includes('temperature'));
  const services = feedbackServices(facility);
  for (
    let day = DateTime.fromMillis(from, { zone }).startOf('day');
    day.toMillis() < to;
    day = day.plus({ days: 1 })
  ) {
    const date = day.toISODate() as string;
    if (!calendar.isWorkday(date)) continue;
    for (const sensor of sensors) {
      const room = facility.rooms.find((r) => r.id === sensor.room);
      if (!room) continue;
      const draw = drawFor(seed, 'feedback', room.id, date);
      const answers = draw.int(0, room.type === 'meeting' ? 2 : 4);
      for (let k = 0; k < answers; k++) {
        const t = day.toMillis() + draw.int(9 * 60, 17 * 60 + 50) * 60_000;
        if (t < from || t >= to) continue;
        let state: SensorState | undefined;
        try {
          state = simulation.readings('sensor', sensor.id, t - sensor.interval * 1000, t + 1).at(-1) as
            | SensorState
            | undefined;
        } catch {
          state = undefined;
        }
        const categories: FeedbackCategory[] = [];
        let score = draw.between(3.6, 5.2);
        const temperature = state?.temperature;
        const co2 = state?.co2;
        if (typeof temperature === 'number' && temperature < 19) {
          categories.push('too-cold');
          score -= 1.5 + (19 - temperature) * 0.3;
        } else if (typeof temperature === 'number' && temperature > 27) {
          categories.push('too-hot');
          score -= 1.5 + (temperature - 27) * 0.3;
        } else if (draw.chance(0.04)) categories.push(draw.pick(['too-cold', 'too-hot'] as const));
        if (typeof co2 === 'number' && co2 > 1000) {
          categories.push('stuffy');
          score -= 1.2;
        }
        if (draw.chance(0.05)) categories.push(draw.pick(['noisy', 'dirty', 'broken', 'booking'] as const));
        const pool = COMMENTS[categories[0] ?? 'good'] ?? [''];
        out.push({
          time: t,
          day: date,
          subjectKind: 'room',
          subject: room.id,
          score: clampScore(score),
          categories,
          comment: draw.chance(0.4) ? draw.pick(pool) : '',
          browser: `sim:${seed}:${room.id}:${date}:${k}`,
          source: 'simulator',
        });
      }
    }
    for (const service of services) {
      const draw = drawFor(seed, 'feedback', service.id, date);
      for (let k = draw.int(0, 3); k > 0; k--) {
        const t = day.toMillis() + draw.int(8 * 60, 18 * 60) * 60_000;
        if (t < from || t >= to) continue;
        const unhappy = draw.chance(0.15);
        out.push({
          time: t,
          day: date,
          subjectKind: 'service',
          subject: service.id,
          score: clampScore(unhappy ? draw.between(1, 3) : draw.between(3.6, 5.2)),
          categories: unhappy ? [draw.pick(['dirty', 'booking', 'broken', 'other'] as const)] : [],
          comment: draw.chance(0.3) ? draw.pick(COMMENTS.service ?? ['']) : '',
          browser: `sim:${seed}:${service.id}:${date}:${k}`,
          source: 'simulator',
        });
      }
    }
  }
  return out;
}

/** Stores the demo's ledger and feedback for [from, to); what is there already is kept once. */
export async function simulateManagement(options: {
  readonly facility: Facility;
  readonly state: CostLedger & FeedbackStore;
  readonly seed: number;
  readonly simulation: Simulation;
  readonly from: number;
  readonly to: number;
}): Promise<{ ledger: number; feedback: number }> {
  const { facility, state, seed, simulation, from, to } = options;
  const ledger = await state.addCosts(simulatedLedger(facility, seed, to), ACTOR, {
    action: 'cost.simulate',
    target: 'simulator',
  });
  const feedback = await state.addFeedbackBatch(simulatedFeedback(facility, simulation, seed, from, to));
  return { ledger: ledger.length, feedback };
}
