/**
 * The monthly report as one printable HTML page: A4, Chinese (with English beside the headings),
 * charts drawn as inline SVG, no script and nothing loaded from elsewhere. Every text that comes
 * from data (names, comments) is escaped.
 */
import { DateTime } from 'luxon';
import { BUDGET_ITEM_LABELS, PERSPECTIVE_LABELS, PERSPECTIVES } from './model.ts';
import type { MonthlyReport } from './report.ts';

/** Text safe inside HTML element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}
const e = escapeHtml;
const nf = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });
const num = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined
    ? '—'
    : new Intl.NumberFormat('zh-CN', { maximumFractionDigits: digits }).format(v);
const cny = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : `¥${nf.format(Math.round(v * 100) / 100)}`;
const STATUS: Record<string, string> = { 'on-track': '正常', 'at-risk': '有超支风险', over: '已超支' };

/** A horizontal bar chart as inline SVG: one bar per row, value printed at its end. */
export function barChart(
  title: string,
  rows: readonly { label: string; value: number; mark?: number }[],
  unit: string,
  width = 640,
): string {
  const bar = 18;
  const gap = 8;
  const left = 170;
  const right = 90;
  const height = rows.length * (bar + gap) + gap;
  const max = Math.max(1e-9, ...rows.map((r) => Math.max(r.value, r.mark ?? 0)));
  const scale = (v: number) => ((width - left - right) * Math.max(0, v)) / max;
  const body = rows
    .map((r, i) => {
      const y = gap + i * (bar + gap);
      const w = scale(r.value);
      const mark =
        r.mark === undefined
          ? ''
          : `<line x1="${left + scale(r.mark)}" x2="${left + scale(r.mark)}" y1="${y - 3}" y2="${y + bar + 3}" stroke="#c0392b" stroke-width="2"/>`;
      return (
        `<text x="${left - 6}" y="${y + bar - 5}" text-anchor="end" font-size="11">${e(r.label)}</text>` +
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="#2e86c1"/>${mark}` +
        `<text x="${left + w + 4}" y="${y + bar - 5}" font-size="11">${e(num(r.value, 1))} ${e(unit)}</text>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${e(title)}" font-family="Noto Sans CJK SC, Source Han Sans SC, sans-serif"><title>${e(title)}</title>${body}</svg>`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** The report as HTML (see the module comment). */
export function reportHtml(report: MonthlyReport, zone: string): string {
  const month = DateTime.fromMillis(report.period.from, { zone });
  const title = `${report.site.zh} 成本效益分析月报 ${month.year}年${month.month}月`;
  const card = report.scorecard.items;
  const ranked = [...card].sort((a, b) => (a.rank ?? 999) - (b.rank ?? 999));
  const budgetRows = report.budgets.items.flatMap((d) =>
    d.items
      .filter((l) => l.budget !== null)
      .map((l) => [
        d.name.zh,
        BUDGET_ITEM_LABELS[l.item].zh,
        cny(l.budget),
        cny(l.expectedToDate),
        cny(l.actual),
        cny(l.projectedYearEnd),
        l.status === null ? '—' : (STATUS[l.status] ?? l.status),
      ]),
  );
  const sections = [
    `<h1>${e(title)}</h1><p class="sub">Monthly cost-benefit report · ${e(report.site.en)} · ${e(month.toFormat('yyyy-MM'))} · 生成于 ${e(DateTime.fromMillis(report.generatedAt, { zone }).toFormat('yyyy-MM-dd HH:mm'))}</p>`,
    `<h2>一、总体情况 Overview</h2>${table(
      ['指标 Figure', '金额 Amount (CNY)'],
      [
        ['楼宇能源费用 Energy cost of the buildings', cny(report.totals.energyCostCny)],
        [
          '公务用车成本 Vehicle cost (depreciation, insurance, upkeep, fuel)',
          cny(report.totals.vehicleCostCny),
        ],
        ['空间成本 Space cost (energy, property fee, depreciation, upkeep)', cny(report.totals.spaceCostCny)],
        ['空置工作时段成本 Cost of empty working hours', cny(report.totals.emptyHoursCostCny)],
        ['无人空调成本 Conditioned while empty', cny(report.totals.conditionedEmptyCostCny)],
      ],
    )}`,
    `<h2>二、部门综合评分与排名 Scorecard and ranking</h2>${barChart(
      '部门综合评分 Total score by department',
      ranked.filter((i) => i.total !== null).map((i) => ({ label: i.name.zh, value: i.total as number })),
      '分',
    )}${table(
      [
        '排名 Rank',
        '部门 Department',
        ...PERSPECTIVES.map((p) => `${PERSPECTIVE_LABELS[p].zh} ${PERSPECTIVE_LABELS[p].en}`),
        '总分 Total',
        '上月 Last month',
        '变化 Change',
      ],
      ranked.map((i) => [
        i.rank === null ? '—' : String(i.rank),
        i.name.zh,
        ...PERSPECTIVES.map((p) => num(i.perspectives[p].score, 1)),
        num(i.total, 1),
        num(i.previousTotal, 1),
        i.change === null ? '—' : `${i.change >= 0 ? '+' : ''}${num(i.change, 1)}`,
      ]),
    )}<p class="note">评分 0–100；各项目标值如标注“示例”，为产品默认示例值，请在设施文件 scorecard 中设定本单位目标。</p>`,
    `<h2>三、预算执行 Budget status (${report.budgets.year})</h2>${barChart(
      '年初至今支出与预算进度 Spent to date against the budget',
      report.budgets.items
        .filter((d) => d.total.budget !== null)
        .map((d) => ({ label: d.name.zh, value: d.total.actual ?? 0, mark: d.total.expectedToDate ?? 0 })),
      'CNY',
    )}<p class="note">蓝条：年初至今实际支出；红线：按时间进度的预算。Bars: spent to date; red line: budget pro-rated to date.</p>${table(
      [
        '部门',
        '项目',
        '年度预算 Budget',
        '应支出 Expected',
        '实际 Actual',
        '年末预测 Projected',
        '状态 Status',
      ],
      budgetRows,
    )}`,
    `<h2>四、公务用车成本 Vehicle costs</h2>${table(
      [
        '车牌 Plate',
        '部门',
        '折旧',
        '保险',
        '维修保养',
        '燃油/电费',
        '合计 Total',
        '里程 km',
        '每公里 CNY/km',
        '每趟 CNY/trip',
      ],
      [
        ...report.vehicles.items.map((v) => [
          v.plate,
          v.department,
          cny(v.depreciationCny),
          cny(v.insuranceCny),
          cny(v.maintenanceCny),
          cny(v.fuelCny),
          cny(v.totalCny),
          num(v.distanceKm, 1),
          num(v.perKm),
          num(v.perTrip),
        ]),
        [
          '车队 Fleet',
          '',
          cny(report.vehicles.fleet.depreciationCny),
          cny(report.vehicles.fleet.insuranceCny),
          cny(report.vehicles.fleet.maintenanceCny),
          cny(report.vehicles.fleet.fuelCny),
          cny(report.vehicles.fleet.totalCny),
          num(report.vehicles.fleet.distanceKm, 1),
          num(report.vehicles.fleet.perKm),
          num(report.vehicles.fleet.perTrip),
        ],
      ],
    )}`,
    `<h2>五、空间成本 Space costs</h2>${table(
      [
        '楼宇 Building',
        '能源',
        '物业费',
        '折旧',
        '台账',
        '合计',
        '每平方米·年 CNY/m²·a',
        '每工位·年 CNY/workstation·a',
      ],
      report.buildings.items.map((b) => [
        b.name.zh,
        cny(b.energyCostCny),
        cny(b.propertyFeeCny),
        cny(b.depreciationCny),
        cny(b.ledgerCny),
        cny(b.totalCny),
        num(b.perM2Year),
        num(b.perWorkstationYear),
      ]),
    )}`,
    `<h2>六、服务满意度 Occupant satisfaction</h2>${table(
      [
        '房间 Room',
        '评价数 Answers',
        '平均分 Mean (1–5)',
        '主要问题 Top categories',
        '最新留言 Latest comment',
      ],
      report.feedback.items
        .filter((g) => g.count > 0)
        .map((g) => [
          g.name.zh,
          String(g.count),
          num(g.meanScore),
          g.topCategories
            .slice(0, 3)
            .map((c) => `${c.category} ×${c.count}`)
            .join('、'),
          g.comments[0]?.comment ?? '',
        ]),
    )}`,
    `<h2>七、可避免成本 Largest avoidable costs</h2>${table(
      ['对象 Subject', '类型 Kind', '数量 Quantity', '金额 Amount', '计算方法 How'],
      report.avoidable.map((a) => [
        a.name.zh,
        a.kind,
        `${num(a.quantity, 1)} ${a.unit}`,
        cny(a.amountCny),
        a.how.zh,
      ]),
    )}`,
    `<h2>八、建议 Recommendations</h2><ol>${report.recommendations.map((r) => `<li>${e(r.zh)}<br><span class="en">${e(r.en)}</span></li>`).join('') || '<li>本月无需特别处理。</li>'}</ol>`,
  ];
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${e(title)}</title>
<style>
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; font-size: 11px; color: #222; max-width: 186mm; margin: 0 auto; }
h1 { font-size: 20px; margin: 0 0 2px; } h2 { font-size: 14px; border-bottom: 2px solid #2e86c1; padding-bottom: 2px; margin-top: 16px; page-break-after: avoid; }
.sub, .note, .en { color: #666; } .note { font-size: 10px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; page-break-inside: auto; } tr { page-break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: left; } th { background: #eaf2f8; }
td:not(:first-child) { font-variant-numeric: tabular-nums; }
svg { display: block; margin: 6px 0; }
</style></head><body>
${sections.join('\n')}
</body></html>`;
}
