/**
 * The `ts` of a reading: RFC 3339 with an offset, or epoch milliseconds, to epoch milliseconds,
 * with a sentence for every way a device gets it wrong.
 */
import { MAX_EPOCH_MS, MIN_EPOCH_MS } from './payload.ts';
import { duration, show } from './text.ts';

/** Why a `ts` was refused: its form (`bad-time`, `schema`) or its distance from `now`. */
export interface TimeProblem {
  readonly reason: 'schema' | 'bad-time' | 'future-time' | 'too-old';
  /** What is wrong, without the field's path: `has no UTC offset…`. */
  readonly text: string;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))?$/;
const EXAMPLE = '"2026-11-25T09:00:00+08:00" or "2026-11-25T01:00:00Z"';
// Epoch seconds of 2001-09-09 … 5138-11-16: a number in this range is epoch seconds, not ms.
const MIN_EPOCH_SECONDS = 1_000_000_000;

/**
 * Reads a `ts` value as epoch milliseconds (UTC), or says why it cannot.
 *
 * Strings: RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, fraction truncated to the
 * millisecond; a time without an offset is refused (ambiguous), as are impossible dates and a
 * leap second `:60`. Numbers: whole epoch milliseconds in [`MIN_EPOCH_MS`, `MAX_EPOCH_MS`);
 * epoch seconds, microseconds and nanoseconds are refused with a hint.
 */
export function parseTimestamp(value: unknown): number | TimeProblem {
  if (typeof value === 'string') return parseIso(value);
  if (typeof value !== 'number') {
    return schema(
      `must be an RFC 3339 time with an offset (${EXAMPLE}) or epoch milliseconds, got ${show(value)}`,
    );
  }
  if (!Number.isFinite(value)) return bad(`must be epoch milliseconds, got ${value}`);
  if (value >= MIN_EPOCH_SECONDS && value < MIN_EPOCH_MS) {
    const ms = Math.round(value * 1000);
    return bad(
      `${value} looks like epoch seconds (${new Date(ms).toISOString()}); send epoch milliseconds, ${ms}`,
    );
  }
  if (value < MIN_EPOCH_MS) {
    return bad(`${value} is not a time in epoch milliseconds (it would be before 1973-03-03)`);
  }
  if (value >= MAX_EPOCH_MS) {
    return bad(
      `${value} is after the year 5000 in epoch milliseconds; it looks like microseconds or nanoseconds`,
    );
  }
  if (!Number.isInteger(value)) return bad(`epoch milliseconds must be a whole number, got ${value}`);
  return value;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function parseIso(text: string): number | TimeProblem {
  const m = ISO.exec(text);
  if (m === null) {
    return bad(
      `must be an RFC 3339 time with an offset (${EXAMPLE}) or epoch milliseconds, got ${show(text)}`,
    );
  }
  if (m[8] === undefined && m[9] === undefined) {
    return bad(
      `${show(text)} has no UTC offset, so the instant is ambiguous; add "Z" or an offset such as "+08:00"`,
    );
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  let wrong: string | undefined;
  if (month < 1 || month > 12) wrong = `month ${m[2]}`;
  else if (day < 1 || day > monthDays) wrong = `day ${m[3]} of ${m[1]}-${m[2]}`;
  else if (hour > 23) wrong = `hour ${m[4]}`;
  else if (minute > 59) wrong = `minute ${m[5]}`;
  else if (second > 59) wrong = `second ${m[6]}`;
  else if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59))
    wrong = `offset ${m[9]}${m[10]}:${m[11]}`;
  if (wrong !== undefined) return bad(`${show(text)} is not a real date and time (${wrong})`);

  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  let time = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC reads years 0–99 as 1900–1999.
  if (year < 100) time = new Date(time).setUTCFullYear(year);
  if (m[9] !== undefined) {
    const offsetMinutes = Number(m[10]) * 60 + Number(m[11]);
    time -= (m[9] === '-' ? -1 : 1) * offsetMinutes * 60_000;
  }
  return time;
}

function bad(text: string): TimeProblem {
  return { reason: 'bad-time', text };
}

function schema(text: string): TimeProblem {
  return { reason: 'schema', text };
}

/**
 * Checks an instant against the accepted window around `now`.
 *
 * @param time The reading's time, epoch ms.
 * @param now The ingest's clock, epoch ms.
 * @param maxAgeMs How far behind `now` a reading may be, ms.
 * @param maxFutureMs How far ahead of `now` a reading may be, ms.
 */
export function checkWindow(
  time: number,
  now: number,
  maxAgeMs: number,
  maxFutureMs: number,
): TimeProblem | undefined {
  if (time - now > maxFutureMs) {
    return {
      reason: 'future-time',
      text: `${iso(time)} is ${duration(time - now)} ahead of the ingest clock (at most ${duration(maxFutureMs)} accepted); check the device clock`,
    };
  }
  if (now - time > maxAgeMs) {
    return {
      reason: 'too-old',
      text: `${iso(time)} is ${duration(now - time)} old (at most ${duration(maxAgeMs)} accepted)`,
    };
  }
  return undefined;
}

function iso(time: number): string {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : date.toISOString();
}
