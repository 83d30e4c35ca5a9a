/**
 * The watch on store writes, on a hand-driven clock: a write open past `hungAfterMs` degrades the
 * health with the reason and one warning; a failing write degrades it until a write commits; the
 * recovery is logged with how long the trouble lasted. And the window that counts a copy once.
 */
import { type Logger, pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../ingest/clock.ts';
import { messageKey, RecentMessages } from '../../ingest/recent.ts';
import { StoreWatch } from '../../ingest/store-watch.ts';

function recording(): { log: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  return { log: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }), lines };
}

/** A write that settles when told. */
function pending(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve = () => {};
  let reject: (error: Error) => void = () => {};
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe('StoreWatch', () => {
  it('says nothing of a write that answers in time', async () => {
    const clock = new ManualClock(1_000_000);
    const { log, lines } = recording();
    const watch = new StoreWatch({ store: () => 'influxdb 1.8', hungAfterMs: 3000, clock, log });
    const write = pending();
    const running = watch.run(() => write.promise);
    await clock.advance(2999);
    expect(watch.health()).toEqual({ status: 'ok' });
    write.resolve();
    await running;
    await clock.advance(10_000);
    expect(watch.health()).toEqual({ status: 'ok' });
    expect(lines).toEqual([]);
  });

  it('degrades the health of a write open past hungAfterMs, warns once, and logs the recovery', async () => {
    const clock = new ManualClock(1_000_000);
    const { log, lines } = recording();
    const watch = new StoreWatch({ store: () => 'influxdb 1.8', hungAfterMs: 3000, clock, log });
    const write = pending();
    const running = watch.run(() => write.promise);
    await clock.advance(3000);
    expect(watch.health()).toEqual({
      status: 'degraded',
      reason: 'influxdb 1.8 has not answered a write for 3.0 s',
      since: 1_000_000,
    });
    await clock.advance(27_000);
    expect(watch.health().reason).toBe('influxdb 1.8 has not answered a write for 30 s');
    expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      'store has not answered a write for 3.0 s; health degraded',
    ]);
    write.resolve();
    await running;
    expect(watch.health()).toEqual({ status: 'ok' });
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'store answering again after 30 s; health ok' });
  });

  it('degrades the health while writes fail, until one commits', async () => {
    const clock = new ManualClock(5_000);
    const { log, lines } = recording();
    const watch = new StoreWatch({ store: () => 'duckdb', hungAfterMs: 3000, clock, log });
    await expect(watch.run(() => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    expect(watch.health()).toEqual({
      status: 'degraded',
      reason: 'duckdb write failed (retrying): disk full',
      since: 5_000,
    });
    await clock.advance(1500);
    await expect(watch.run(() => Promise.reject(new Error('still full')))).rejects.toThrow();
    expect(watch.health()).toMatchObject({
      reason: 'duckdb write failed (retrying): still full',
      since: 5_000,
    });
    await clock.advance(500);
    await watch.run(() => Promise.resolve());
    expect(watch.health()).toEqual({ status: 'ok' });
    expect(lines.at(-1)?.msg).toBe('store answering again after 2.0 s; health ok');
  });
});

describe('RecentMessages', () => {
  const topic = 'fac/cd-compound/meter/b1-e-main/reading';
  const payload = (n: number) => Buffer.from(JSON.stringify({ ts: 1_764_000_000_000 + n, total: n }));

  it('knows a copy (same topic, same payload) and nothing else', () => {
    const recent = new RecentMessages(10);
    expect(recent.add(topic, payload(1))).toBe(true);
    expect(recent.add(topic, payload(1))).toBe(false);
    expect(recent.add(topic, payload(2))).toBe(true);
    expect(recent.add(topic.replace('main', 'light'), payload(1))).toBe(true);
    // Where the topic ends and the payload begins is part of the identity.
    expect(messageKey('ab', Buffer.from('c'))).not.toBe(messageKey('a', Buffer.from('bc')));
  });

  it('forgets the oldest past its capacity', () => {
    const recent = new RecentMessages(3);
    for (let n = 0; n < 4; n++) recent.add(topic, payload(n));
    expect(recent.size).toBe(3);
    expect(recent.add(topic, payload(0))).toBe(true); // forgotten: counted again
    expect(recent.add(topic, payload(3))).toBe(false);
  });

  it('tells 200,000 distinct messages apart (no key shared)', () => {
    const keys = new Set<number>();
    for (let n = 0; n < 200_000; n++) keys.add(messageKey(`fac/s/meter/m${n % 50}/reading`, payload(n)));
    expect(keys.size).toBe(200_000);
  });
});
