/**
 * The monthly cost-benefit report (成本效益分析月报): the month's scorecard and ranking, budget
 * status, vehicle and space costs, satisfaction, the largest avoidable costs with their amounts,
 * and plain recommendations derived by rules from those figures. `report-html.ts` and
 * `report-xlsx.ts` render it; the figures are the API's own (service.ts).
 *
 * **Avoidable costs** (estimates, each with how it is reckoned):
 * - `conditioned-empty`: a room's conditioned-while-empty hours × its area × its building's HVAC
 *   cost per m² and working hour (service.ts);
 * - `empty-hours`: the cost of a room's empty working hours (costs.ts `roomUseCost`) — space paid
 *   for and not used; avoidable by giving it up or sharing it, not by switching something off;
 * - `off-hours`: a department's electricity cost × (its off-hours share − the scorecard's target
 *   share), when above the target.
 * The ten largest are listed, largest first.
 *
 * **Recommendations**, one per rule that fires, in this order: a budget `over` or `at-risk`; the
 * largest conditioned-while-empty room; a department above its off-hours target; a car with a
 * replacement signal; a room whose comfort complaints the sensor confirms (too cold below 18 °C,
 * too hot above 28 °C, stuffy above 1000 ppm — the comfort band of core/kpi/room.ts widened by 2 °C
 * and GB/T 18883's CO2 limit); a car used under 10 % of working time.
 */

import { DateTime } from 'luxon';
import type { Name } from '../facility/schema.ts';
import type { Period } from './costs.ts';
import { BUDGET_ITEM_LABELS, scorecardConfig } from './model.ts';
import {
  type Budgets,
  budgets,
  type FeedbackSummary,
  feedbackSummary,
  kindCosts,
  type ManagementContext,
  monthPeriod,
  replacementSignals,
  type Scorecard,
  type SpaceCosts,
  scorecard,
  spaceCosts,
  type VehicleCosts,
  vehicleCosts,
} from './service.ts';

export interface AvoidableCost {
  readonly kind: 'conditioned-empty' | 'empty-hours' | 'off-hours';
  readonly subject: string;
  readonly name: Name;
  /** Hours behind it (rooms), or the off-hours share in % (departments). */
  readonly quantity: number;
  readonly unit: 'h' | '%';
  readonly amountCny: number;
  readonly how: Name;
}

export interface MonthlyReport {
  readonly month: string;
  readonly period: Period;
  readonly site: Name;
  readonly generatedAt: number;
  readonly scorecard: Scorecard;
  readonly budgets: Budgets;
  readonly vehicles: VehicleCosts;
  readonly buildings: SpaceCosts;
  readonly departments: SpaceCosts;
  readonly rooms: SpaceCosts;
  readonly feedback: FeedbackSummary;
  readonly replacements: readonly { readonly id: string; readonly plate: string; readonly message: Name }[];
  readonly avoidable: readonly AvoidableCost[];
  readonly recommendations: readonly Name[];
  readonly totals: {
    readonly energyCostCny: number;
    readonly vehicleCostCny: number;
    readonly spaceCostCny: number;
    readonly emptyHoursCostCny: number;
    readonly conditionedEmptyCostCny: number;
  };
}

const yuan = (v: number) => `¥${v.toLocaleString('zh-CN', { maximumFractionDigits: v < 100 ? 2 : 0 })}`;
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** The report of a month `YYYY-MM`. */
export async function monthlyReport(ctx: ManagementContext, month: string): Promise<MonthlyReport> {
  const { facility } = ctx.kpi;
  const zone = facility.site.timezone;
  const period = monthPeriod(month, zone);
  const year = DateTime.fromMillis(period.from, { zone }).year;
  const [card, budget, vehicles, buildings, departments, rooms, feedback, energy] = await Promise.all([
    scorecard(ctx, month),
    budgets(ctx, year, undefined, period.to),
    vehicleCosts(ctx, period),
    spaceCosts(ctx, period, 'building'),
    spaceCosts(ctx, period, 'department'),
    spaceCosts(ctx, period, 'room'),
    feedbackSummary(ctx, period, 'room'),
    ctx.services.energySummary(ctx.kpi, { ...period, groupBy: 'department' }),
  ]);
  const signals = await replacementSignals(ctx, Math.min((ctx.kpi.now ?? Date.now)(), period.to));
  const replacements = facility.vehicles.flatMap((v) => {
    const signal = signals.get(v.id);
    return signal?.replace ? [{ id: v.id, plate: v.plate, message: signal.message }] : [];
  });
  const config = scorecardConfig(facility);
  const offTarget = config.indicators.offHoursShare.target ?? 30;
  const avoidable: AvoidableCost[] = [];
  for (const r of rooms.items) {
    if (r.conditionedEmptyCostCny && r.conditionedEmptyCostCny > 0) {
      avoidable.push({
        kind: 'conditioned-empty',
        subject: r.id,
        name: r.name,
        quantity: r.conditionedEmptyHours ?? 0,
        unit: 'h',
        amountCny: r.conditionedEmptyCostCny,
        how: {
          zh: '无人时空调/照明开启时长 × 面积 × 楼宇空调单位成本',
          en: 'conditioned-while-empty hours × area × the building’s HVAC cost per m²·h',
        },
      });
    }
    if (r.emptyHoursCostCny && r.emptyHoursCostCny > 0) {
      avoidable.push({
        kind: 'empty-hours',
        subject: r.id,
        name: r.name,
        quantity: r.emptyWorkingHours ?? 0,
        unit: 'h',
        amountCny: r.emptyHoursCostCny,
        how: {
          zh: '房间成本 × 工作时间内空置时长 ÷ 工作时长',
          en: 'room cost × empty working hours ÷ working hours',
        },
      });
    }
  }
  for (const row of energy.items) {
    const d = facility.departments.find((x) => x.id === row.id);
    if (!d || row.offHoursShare === null) continue;
    const electricity = kindCosts(facility, row).electricity;
    const excess = row.offHoursShare * 100 - offTarget;
    if (electricity !== null && excess > 0) {
      avoidable.push({
        kind: 'off-hours',
        subject: d.id,
        name: d.name,
        quantity: row.offHoursShare * 100,
        unit: '%',
        amountCny: (electricity * excess) / 100,
        how: {
          zh: `电费 × (非工作时间占比 − 目标 ${offTarget}%)`,
          en: `electricity cost × (off-hours share − the ${offTarget} % target)`,
        },
      });
    }
  }
  avoidable.sort((a, b) => b.amountCny - a.amountCny);
  const top = avoidable.slice(0, 10);

  const recommendations: Name[] = [];
  for (const d of budget.items) {
    for (const line of d.items) {
      if (line.status === 'over' || line.status === 'at-risk') {
        const label = BUDGET_ITEM_LABELS[line.item];
        recommendations.push({
          zh: `${d.name.zh}${label.zh}${line.status === 'over' ? '已超出年度预算' : `预计年末达到预算的 ${Math.round(line.projectedPercent ?? 0)}%`}，请核查支出并调整计划。`,
          en: `${d.name.en}: ${label.en} ${line.status === 'over' ? 'is over its annual budget' : `is projected at ${Math.round(line.projectedPercent ?? 0)} % of its budget`}; review the spending.`,
        });
      }
    }
  }
  const conditioned = avoidable.find((a) => a.kind === 'conditioned-empty');
  if (conditioned) {
    recommendations.push({
      zh: `${conditioned.name.zh}本月无人时空调/照明开启 ${conditioned.quantity.toFixed(1)} 小时，约 ${yuan(conditioned.amountCny)}：建议会后自动关闭空调和照明。`,
      en: `${conditioned.name.en} was conditioned while empty for ${conditioned.quantity.toFixed(1)} h this month, about ${yuan(conditioned.amountCny)}: switch HVAC and lights off after meetings.`,
    });
  }
  for (const a of avoidable.filter((x) => x.kind === 'off-hours').slice(0, 3)) {
    recommendations.push({
      zh: `${a.name.zh}非工作时间用电占比 ${a.quantity.toFixed(0)}%（目标 ${offTarget}%），约 ${yuan(a.amountCny)} 可避免：检查夜间和周末用电。`,
      en: `${a.name.en} used ${a.quantity.toFixed(0)} % of its electricity off hours (target ${offTarget} %), about ${yuan(a.amountCny)} avoidable: check night and weekend use.`,
    });
  }
  for (const r of replacements)
    recommendations.push({ zh: `车辆 ${r.plate}：${r.message.zh}`, en: `Car ${r.plate}: ${r.message.en}` });
  for (const g of feedback.items) {
    const cold = g.comfort['too-cold'];
    const hot = g.comfort['too-hot'];
    const stuffy = g.comfort.stuffy;
    if (cold && cold.meanTemperatureC !== null && cold.meanTemperatureC < 18) {
      recommendations.push({
        zh: `${g.name.zh}有 ${cold.count} 条“太冷”评价，传感器实测平均 ${cold.meanTemperatureC.toFixed(1)} °C：检查供暖。`,
        en: `${g.name.en}: ${cold.count} “too cold” answers at a measured ${cold.meanTemperatureC.toFixed(1)} °C on average: check the heating.`,
      });
    }
    if (hot && hot.meanTemperatureC !== null && hot.meanTemperatureC > 28) {
      recommendations.push({
        zh: `${g.name.zh}有 ${hot.count} 条“太热”评价，实测平均 ${hot.meanTemperatureC.toFixed(1)} °C：检查制冷。`,
        en: `${g.name.en}: ${hot.count} “too hot” answers at a measured ${hot.meanTemperatureC.toFixed(1)} °C: check the cooling.`,
      });
    }
    if (stuffy && stuffy.meanCo2Ppm !== null && stuffy.meanCo2Ppm > 1000) {
      recommendations.push({
        zh: `${g.name.zh}有 ${stuffy.count} 条“闷”评价，实测 CO2 平均 ${Math.round(stuffy.meanCo2Ppm)} ppm（超过 1000 ppm）：加大新风。`,
        en: `${g.name.en}: ${stuffy.count} “stuffy” answers at a measured ${Math.round(stuffy.meanCo2Ppm)} ppm CO2 (over 1000): raise the fresh air.`,
      });
    }
  }
  const util = await ctx.services.vehicleUtilization(ctx.kpi, period);
  for (const v of util.items.filter((x) => x.utilization < 0.1).slice(0, 3)) {
    recommendations.push({
      zh: `车辆 ${v.plate} 本月使用率仅 ${(v.utilization * 100).toFixed(1)}%：建议纳入统一调度或调剂。`,
      en: `Car ${v.plate} was used ${(v.utilization * 100).toFixed(1)} % of working time this month: pool it or reassign it.`,
    });
  }
  return {
    month,
    period,
    site: facility.site.name,
    generatedAt: (ctx.kpi.now ?? Date.now)(),
    scorecard: card,
    budgets: budget,
    vehicles,
    buildings,
    departments,
    rooms,
    feedback,
    replacements,
    avoidable: top,
    recommendations,
    totals: {
      energyCostCny: sum(buildings.items.map((b) => b.energyCostCny ?? 0)),
      vehicleCostCny: vehicles.fleet.totalCny,
      spaceCostCny: sum(buildings.items.map((b) => b.totalCny)),
      emptyHoursCostCny: sum(rooms.items.map((r) => r.emptyHoursCostCny ?? 0)),
      conditionedEmptyCostCny: sum(rooms.items.map((r) => r.conditionedEmptyCostCny ?? 0)),
    },
  };
}
