/**
 * The quality of an item's energy figures, from how the readings of the meters behind it were
 * judged (core/register.ts): a rise faster than the meter's `maxRate` is counted but doubtful, so
 * it lowers the quality; outliers (left out) and resets (counted from zero) are noted, since an
 * operator signing the figures should know of them, but the figures already account for them.
 */
import { MAX_RATE_UNITS, registerRules } from '../facility/meter-rules.ts';
import type { Facility } from '../facility/schema.ts';
import type { MeterQuality } from '../rollup/query.ts';
import type { DataQuality, QualityNote } from './types.ts';

const number = (n: number) => n.toLocaleString('en-US');

/** The quality of figures that depend on `meters`, given how each meter's readings were judged. */
export function qualityOf(
  facility: Pick<Facility, 'meters'>,
  meters: readonly string[],
  judged: ReadonlyMap<string, MeterQuality> | undefined,
): DataQuality {
  const notes: QualityNote[] = [];
  for (const id of meters) {
    const q = judged?.get(id);
    if (!q) continue;
    const meter = facility.meters.find((m) => m.id === id);
    if (q.rateExceeded > 0) {
      const rate = meter
        ? `${number(registerRules(meter).maxRatePerHour)} ${MAX_RATE_UNITS[meter.kind]}`
        : 'its maxRate';
      notes.push({
        reason: 'rate-exceeded',
        meter: id,
        readings: q.rateExceeded,
        lowersQuality: true,
        message: {
          zh: `表计 ${id} 有 ${number(q.rateExceeded)} 个读数的增幅超过其最大速率（${rate}）：已计入，请核查表计`,
          en: `${number(q.rateExceeded)} reading(s) of meter ${id} rose faster than its maxRate (${rate}): counted, but check the meter`,
        },
      });
    }
    if (q.outliers > 0) {
      notes.push({
        reason: 'register-outlier',
        meter: id,
        readings: q.outliers,
        lowersQuality: false,
        message: {
          zh: `表计 ${id} 有 ${number(q.outliers)} 个读数偏离前后读数的趋势，未计入用量（见数据拒收记录）`,
          en: `${number(q.outliers)} reading(s) of meter ${id} broke the trend of their neighbours and were left out (listed with the rejections)`,
        },
      });
    }
    if (q.resets > 0) {
      notes.push({
        reason: 'register-reset',
        meter: id,
        readings: q.resets,
        lowersQuality: false,
        message: {
          zh: `表计 ${id} 清零或翻转 ${number(q.resets)} 次，之后从零重新计量`,
          en: `meter ${id} was reset or rolled over ${number(q.resets)} time(s), and counted on from zero`,
        },
      });
    }
  }
  return { status: notes.some((n) => n.lowersQuality) ? 'degraded' : 'good', notes };
}
