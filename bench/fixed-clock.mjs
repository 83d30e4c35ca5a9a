/**
 * Preloaded by benchmarks into a process they start (`node --import ./bench/fixed-clock.mjs`):
 * its clock starts at `SFP_CLOCK` (an ISO instant) and runs on at real speed, so the same command
 * measures the same history and the same "today" on any day. Only `Date` is shifted; timers and
 * `performance.now()` are untouched.
 */
const start = Date.parse(process.env.SFP_CLOCK ?? '');
if (Number.isNaN(start))
  throw new Error('SFP_CLOCK must be an ISO-8601 instant, e.g. 2026-11-26T10:00:00+08:00');
const RealDate = Date;
const offset = start - RealDate.now();

class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }

  static now() {
    return RealDate.now() + offset;
  }
}
globalThis.Date = ShiftedDate;
