/**
 * `isoAt` (core/kpi/common.ts) writes the digits itself with the zone's offset looked up once a
 * minute: it must write exactly what luxon writes, in zones with and without daylight saving, at
 * and around their transitions (whole, half-hour and 15-minute offsets), with and without
 * milliseconds.
 */
import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { isoAt } from '../../core/kpi/common.ts';

const ZONES = [
  'Asia/Shanghai',
  'UTC',
  'Europe/London',
  'America/New_York',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'America/St_Johns',
];

const luxon = (t: number, zone: string) =>
  DateTime.fromMillis(t, { zone: IANAZone.create(zone) }).toISO({ suppressMilliseconds: true });

describe('isoAt', () => {
  it('writes what luxon writes, around the daylight-saving transitions too', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const times: number[] = [0, 1_767_225_600_000, 1_767_225_600_123];
    for (let k = 0; k < 500; k++) times.push(Math.floor(random() * 2_000_000_000_000));
    // Every half-minute step through the 2026 transitions of the zones with daylight saving.
    for (const start of [
      Date.UTC(2026, 2, 8),
      Date.UTC(2026, 2, 29),
      Date.UTC(2026, 3, 5),
      Date.UTC(2026, 9, 4),
    ]) {
      for (let t = start - 86_400_000; t < start + 86_400_000; t += 30_017) times.push(t);
    }
    for (const zone of ZONES) {
      for (const t of times) expect(isoAt(t, zone), `${zone} ${t}`).toBe(luxon(t, zone));
    }
  });

  it('alternates zones without mixing their offsets', () => {
    const t = Date.UTC(2026, 11, 7, 19, 31, 34, 5);
    expect(isoAt(t, 'Asia/Shanghai')).toBe('2026-12-08T03:31:34.005+08:00');
    expect(isoAt(t, 'America/New_York')).toBe('2026-12-07T14:31:34.005-05:00');
    expect(isoAt(t + 995, 'Asia/Shanghai')).toBe('2026-12-08T03:31:35+08:00');
  });
});
