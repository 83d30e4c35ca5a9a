/**
 * The monthly report as an Excel workbook (exceljs): a summary sheet, one sheet per scorecard
 * perspective, and the budgets and avoidable costs. Numbers are written as numbers (never as
 * text), units are in the headers, and every header is in Chinese and English.
 */
import ExcelJS from 'exceljs';
import type { Facility, ScorecardPerspective } from '../facility/schema.ts';
import {
  BUDGET_ITEM_LABELS,
  indicatorsOf,
  PERSPECTIVE_LABELS,
  PERSPECTIVES,
  scorecardConfig,
} from './model.ts';
import type { MonthlyReport } from './report.ts';

/** The media type of an .xlsx workbook. */
export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Sheet names (Excel: at most 31 characters). */
export const SHEETS = {
  summary: '汇总 Summary',
  cost: '成本 Cost',
  process: '流程 Process',
  service: '服务 Service',
  improvement: '改进 Improvement',
  budgets: '预算 Budgets',
  avoidable: '可避免成本 Avoidable',
} as const;

const round = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined ? null : Math.round(v * 10 ** digits) / 10 ** digits;

function header(sheet: ExcelJS.Worksheet, titles: readonly string[]): void {
  const row = sheet.addRow([...titles]);
  row.font = { bold: true };
  sheet.columns.forEach((column, i) => {
    column.width = Math.max(12, Math.min(40, (titles[i]?.length ?? 10) + 4));
  });
}

/** The workbook as .xlsx bytes. */
export async function reportXlsx(report: MonthlyReport, facility: Facility): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  book.creator = 'Smart Facility Platform 智慧机关运行平台';
  book.created = new Date(report.generatedAt);
  const summary = book.addWorksheet(SHEETS.summary);
  header(summary, [
    '排名 Rank',
    '部门 Department',
    '部门编号 Id',
    ...PERSPECTIVES.map((p) => `${PERSPECTIVE_LABELS[p].zh} ${PERSPECTIVE_LABELS[p].en} (0–100)`),
    '总分 Total (0–100)',
    '上月总分 Last month (0–100)',
    '变化 Change (points)',
  ]);
  for (const item of [...report.scorecard.items].sort((a, b) => (a.rank ?? 999) - (b.rank ?? 999))) {
    summary.addRow([
      item.rank,
      item.name.zh,
      item.department,
      ...PERSPECTIVES.map((p) => round(item.perspectives[p].score)),
      round(item.total),
      round(item.previousTotal),
      round(item.change),
    ]);
  }
  summary.addRow([]);
  summary.addRow(['月份 Month', report.month]);
  summary.addRow(['楼宇能源费用 Energy cost (CNY)', round(report.totals.energyCostCny)]);
  summary.addRow(['公务用车成本 Vehicle cost (CNY)', round(report.totals.vehicleCostCny)]);
  summary.addRow(['空间成本 Space cost (CNY)', round(report.totals.spaceCostCny)]);
  summary.addRow([
    '空置工作时段成本 Cost of empty working hours (CNY)',
    round(report.totals.emptyHoursCostCny),
  ]);
  summary.addRow([
    '无人空调成本 Conditioned while empty (CNY)',
    round(report.totals.conditionedEmptyCostCny),
  ]);

  const config = scorecardConfig(facility);
  for (const perspective of PERSPECTIVES as readonly ScorecardPerspective[]) {
    const sheet = book.addWorksheet(SHEETS[perspective]);
    const ids = indicatorsOf(perspective);
    header(sheet, [
      '部门 Department',
      '部门编号 Id',
      ...ids.flatMap((id) => {
        const spec = config.indicators[id];
        return [
          `${spec.name.zh} ${spec.name.en} (${spec.unit})`,
          `${spec.name.zh} 目标 target (${spec.unit})`,
          `${spec.name.zh} 得分 score (0–100)`,
        ];
      }),
      `${PERSPECTIVE_LABELS[perspective].zh} 得分 score (0–100)`,
    ]);
    for (const item of report.scorecard.items) {
      const p = item.perspectives[perspective];
      sheet.addRow([
        item.name.zh,
        item.department,
        ...ids.flatMap((id) => {
          const indicator = p.indicators.find((x) => x.id === id);
          return [round(indicator?.value, 4), round(indicator?.target, 4), round(indicator?.score)];
        }),
        round(p.score),
      ]);
    }
  }

  const budgets = book.addWorksheet(SHEETS.budgets);
  header(budgets, [
    '部门 Department',
    '部门编号 Id',
    '项目 Item',
    '年度预算 Budget (CNY)',
    '应支出 Expected to date (CNY)',
    '实际 Actual (CNY)',
    '差异 Variance (CNY)',
    '年末预测 Projected (CNY)',
    '预测占预算 Projected (%)',
    '状态 Status',
  ]);
  for (const d of report.budgets.items) {
    for (const line of d.items) {
      if (line.budget === null) continue;
      budgets.addRow([
        d.name.zh,
        d.department,
        `${BUDGET_ITEM_LABELS[line.item].zh} ${line.item}`,
        round(line.budget),
        round(line.expectedToDate),
        round(line.actual),
        round(line.variance),
        round(line.projectedYearEnd),
        round(line.projectedPercent, 1),
        line.status,
      ]);
    }
  }
  const avoidable = book.addWorksheet(SHEETS.avoidable);
  header(avoidable, [
    '对象 Subject',
    '编号 Id',
    '类型 Kind',
    '数量 Quantity',
    '单位 Unit',
    '金额 Amount (CNY)',
    '计算方法 How',
  ]);
  for (const a of report.avoidable) {
    avoidable.addRow([
      a.name.zh,
      a.subject,
      a.kind,
      round(a.quantity, 2),
      a.unit,
      round(a.amountCny),
      a.how.zh,
    ]);
  }
  avoidable.addRow([]);
  avoidable.addRow(['建议 Recommendations']);
  for (const r of report.recommendations) avoidable.addRow([r.zh, r.en]);
  return Buffer.from(await book.xlsx.writeBuffer());
}
