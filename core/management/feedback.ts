/**
 * Occupant feedback (满意度), pure: what an answer may hold, and how answers are summed up.
 *
 * **An answer** is a score 1–5, any of the categories (core/management/model.ts) and a comment of
 * at most {@link MAX_COMMENT_LENGTH} characters. The comment is kept as text: Unicode NFC, control
 * characters other than line breaks replaced by spaces, trimmed. It is never interpreted — every
 * place that shows it escapes it (HTML pages and reports; CSV answers are formula-safe).
 *
 * **A summary** of a group of answers: `count`, `meanScore` (null without answers), the
 * `distribution` of scores 1–5, and the `topCategories` by how many answers name them (most first,
 * ties in the order of the category list). For comfort complaints (`too-hot`, `too-cold`,
 * `stuffy`) about a room, each carries the temperature and CO2 the room's sensor last reported
 * before the answer (within three of its intervals), and `comfort` gives per category how many
 * there were and the mean and range of the measured temperature and CO2 — so a "too cold" at
 * 24 °C is told from one at 17 °C.
 */
import { COMFORT_CATEGORIES, FEEDBACK_CATEGORIES, type FeedbackCategory } from './model.ts';

export const MAX_COMMENT_LENGTH = 500;

/** The comment as stored (see the module comment). */
export function normaliseComment(text: string): string {
  return text
    .normalize('NFC')
    .replace(/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, ' ')
    .replace(/\r\n?/g, '\n')
    .trim();
}

/** Characters as a person counts them (code points, so one emoji is one). */
export function characters(text: string): number {
  return [...text].length;
}

export interface FeedbackAnswer {
  readonly id: number;
  /** epoch ms */
  readonly time: number;
  readonly subjectKind: 'room' | 'service';
  readonly subject: string;
  readonly score: number;
  readonly categories: readonly FeedbackCategory[];
  readonly comment: string;
}

/** What a room's sensor measured at a comfort complaint. */
export interface Measured {
  readonly temperatureC: number | null;
  readonly co2Ppm: number | null;
  /** When the sensor reported the values, epoch ms (null when it had reported nothing recent). */
  readonly at: number | null;
}

export interface ComfortFigures {
  readonly count: number;
  /** Complaints with a measured temperature, and their mean, lowest and highest, °C. */
  readonly measured: number;
  readonly meanTemperatureC: number | null;
  readonly minTemperatureC: number | null;
  readonly maxTemperatureC: number | null;
  readonly meanCo2Ppm: number | null;
  readonly maxCo2Ppm: number | null;
}

export interface FeedbackGroupSummary {
  readonly count: number;
  readonly meanScore: number | null;
  readonly distribution: Readonly<Record<'1' | '2' | '3' | '4' | '5', number>>;
  readonly topCategories: readonly { readonly category: FeedbackCategory; readonly count: number }[];
  readonly comfort: Readonly<Partial<Record<FeedbackCategory, ComfortFigures>>>;
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;

/** The summary of a group of answers; `measured` gives the sensor values of comfort complaints by answer id. */
export function summariseFeedback(
  answers: readonly FeedbackAnswer[],
  measured: ReadonlyMap<number, Measured> = new Map(),
): FeedbackGroupSummary {
  const distribution = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 };
  const byCategory = new Map<FeedbackCategory, number>();
  for (const answer of answers) {
    const key = String(answer.score) as keyof typeof distribution;
    if (key in distribution) distribution[key]++;
    for (const category of new Set(answer.categories)) {
      byCategory.set(category, (byCategory.get(category) ?? 0) + 1);
    }
  }
  const topCategories = FEEDBACK_CATEGORIES.filter((c) => byCategory.has(c))
    .map((category) => ({ category, count: byCategory.get(category) as number }))
    .sort((a, b) => b.count - a.count);
  const comfort: Partial<Record<FeedbackCategory, ComfortFigures>> = {};
  for (const category of COMFORT_CATEGORIES) {
    const complaints = answers.filter((a) => a.subjectKind === 'room' && a.categories.includes(category));
    if (complaints.length === 0) continue;
    const values = complaints.map((a) => measured.get(a.id)).filter((m): m is Measured => m !== undefined);
    const temps = values.flatMap((m) => (m.temperatureC === null ? [] : [m.temperatureC]));
    const co2 = values.flatMap((m) => (m.co2Ppm === null ? [] : [m.co2Ppm]));
    comfort[category] = {
      count: complaints.length,
      measured: temps.length,
      meanTemperatureC: mean(temps),
      minTemperatureC: temps.length > 0 ? Math.min(...temps) : null,
      maxTemperatureC: temps.length > 0 ? Math.max(...temps) : null,
      meanCo2Ppm: mean(co2),
      maxCo2Ppm: co2.length > 0 ? Math.max(...co2) : null,
    };
  }
  return {
    count: answers.length,
    meanScore: mean(answers.map((a) => a.score)),
    distribution,
    topCategories,
    comfort,
  };
}

/** The last reported temperature and CO2 at or before `at` within `holdMs`, from a room's samples sorted by time. */
export function measuredAt(
  samples: {
    readonly time: ArrayLike<number>;
    readonly temperature: ArrayLike<number>;
    readonly co2: ArrayLike<number>;
  },
  at: number,
  holdMs: number,
): Measured {
  let temperatureC: number | null = null;
  let co2Ppm: number | null = null;
  let when: number | null = null;
  for (let i = samples.time.length - 1; i >= 0; i--) {
    const t = samples.time[i] as number;
    if (t > at) continue;
    if (t < at - holdMs) break;
    const temp = samples.temperature[i] as number;
    const co2 = samples.co2[i] as number;
    if (temperatureC === null && Number.isFinite(temp)) {
      temperatureC = temp;
      when = Math.max(when ?? t, t);
    }
    if (co2Ppm === null && Number.isFinite(co2)) {
      co2Ppm = co2;
      when = Math.max(when ?? t, t);
    }
    if (temperatureC !== null && co2Ppm !== null) break;
  }
  return { temperatureC, co2Ppm, at: when };
}
