/**
 * Dead-letter on the ingest side: how payloads are kept (text or base64, truncated on a
 * character boundary), the in-memory sink, the batching queue in front of a sink, and the
 * ingest counters (snapshot and Prometheus text).
 */
import { describe, expect, it } from 'vitest';
import { keepPayload, type NewDeadLetter } from '../../core/dead-letter.ts';
import { StoreError } from '../../core/store.ts';
import { ManualClock } from '../../ingest/clock.ts';
import { DeadLetterQueue, MemoryDeadLetterSink } from '../../ingest/dead-letter.ts';
import { IngestMetrics, MAX_REJECTION_KEYS } from '../../ingest/metrics.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('keepPayload', () => {
  it.each([
    [
      'JSON text',
      bytes('{"ts":1}'),
      4096,
      { payload: '{"ts":1}', encoding: 'utf8', size: 8, truncated: false },
    ],
    ['empty', bytes(''), 4096, { payload: '', encoding: 'utf8', size: 0, truncated: false }],
    ['cut at the limit', bytes('abcdef'), 4, { payload: 'abcd', encoding: 'utf8', size: 6, truncated: true }],
    // 电 is 3 bytes (E7 94 B5): a cut after 4 bytes would split the second one.
    [
      'cut moved back to a character start',
      bytes('电电'),
      4,
      { payload: '电', encoding: 'utf8', size: 6, truncated: true },
    ],
    [
      'not UTF-8 → base64',
      Uint8Array.from([0xff, 0xfe, 0x00, 0x41]),
      4096,
      { payload: '//4AQQ==', encoding: 'base64', size: 4, truncated: false },
    ],
    [
      'binary, truncated → base64 of the kept bytes',
      Uint8Array.from([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa]),
      3,
      { payload: '//79', encoding: 'base64', size: 6, truncated: true },
    ],
  ] as const)('%s', (_name, payload, max, expected) => {
    expect(keepPayload(payload, max)).toEqual(expected);
  });
});

function entry(n: number, extra: Partial<NewDeadLetter> = {}): NewDeadLetter {
  return {
    time: 1000 + n,
    topic: `fac/site/meter/m${n}/reading`,
    device: { kind: 'meter', id: `m${n % 2}` },
    reason: n % 2 === 0 ? 'not-json' : 'schema',
    detail: `entry ${n}`,
    ...keepPayload(bytes(`payload ${n}`)),
    ...extra,
  };
}

describe('MemoryDeadLetterSink', () => {
  it('lists newest first, filters by device, reason and id, keeps the newest `capacity`', async () => {
    const sink = new MemoryDeadLetterSink({ capacity: 4 });
    await sink.add([entry(1), entry(2), entry(3)]);
    await sink.add([entry(4), entry(5)]);
    const all = await sink.list({ limit: 10 });
    expect(all.map((e) => e.detail)).toEqual(['entry 5', 'entry 4', 'entry 3', 'entry 2']);
    expect(all.map((e) => e.id)).toEqual([5, 4, 3, 2]);
    expect((await sink.list({ limit: 10, device: 'm1' })).map((e) => e.id)).toEqual([5, 3]);
    expect((await sink.list({ limit: 10, reason: 'not-json' })).map((e) => e.id)).toEqual([4, 2]);
    expect((await sink.list({ limit: 1, before: 4 })).map((e) => e.id)).toEqual([3]);
  });
});

describe('DeadLetterQueue', () => {
  function setup(options: { failures?: (call: number) => Error | undefined; maxPending?: number } = {}) {
    const clock = new ManualClock(0);
    const sink = new MemoryDeadLetterSink();
    let calls = 0;
    const flaky = {
      ...sink,
      name: 'flaky',
      start: () => sink.start(),
      stop: () => sink.stop(),
      list: sink.list.bind(sink),
      add: async (entries: readonly NewDeadLetter[]) => {
        const error = options.failures?.(++calls);
        if (error) throw error;
        await sink.add(entries);
      },
    };
    const log: string[] = [];
    const queue = new DeadLetterQueue({
      sink: flaky,
      clock,
      random: () => 0,
      maxPending: options.maxPending ?? 100,
      events: {
        committed: (count) => log.push(`committed ${count}`),
        retrying: (_error, attempt) => log.push(`retry ${attempt}`),
        failed: (failed) => log.push(`failed ${failed.detail}`),
      },
    });
    return { clock, sink, queue, log, calls: () => calls };
  }

  it('batches entries and acknowledges each once committed', async () => {
    const { clock, sink, queue, log } = setup();
    const acked: number[] = [];
    for (const n of [1, 2, 3]) expect(queue.offer(entry(n), () => acked.push(n))).toBe(true);
    await clock.advance(199);
    expect(acked).toEqual([]);
    await clock.advance(1);
    expect(acked).toEqual([1, 2, 3]);
    expect(log).toEqual(['committed 3']);
    expect(await sink.list({ limit: 10 })).toHaveLength(3);
  });

  it('retries a sink that is down; acknowledges nothing until it commits', async () => {
    const { clock, queue, log } = setup({
      failures: (call) => (call <= 2 ? new StoreError('down', { code: 'X', retriable: true }) : undefined),
    });
    const acked: number[] = [];
    queue.offer(entry(1), () => acked.push(1));
    await clock.advance(200);
    expect(acked).toEqual([]);
    await clock.advance(1_000);
    expect(acked).toEqual([1]);
    expect(log).toEqual(['retry 1', 'retry 2', 'committed 1']);
  });

  it('an entry the sink refuses for good is reported and acknowledged (it would fail forever)', async () => {
    const { clock, queue, log } = setup({
      failures: () => new StoreError('bad row', { code: 'X', retriable: false }),
    });
    const acked: number[] = [];
    queue.offer(entry(7), () => acked.push(7));
    await clock.advance(200);
    expect(log).toEqual(['failed entry 7']);
    expect(acked).toEqual([7]);
  });

  it('refuses entries past maxPending, taking nothing', async () => {
    const { clock, queue } = setup({
      maxPending: 2,
      failures: () => new StoreError('down', { code: 'X', retriable: true }),
    });
    expect(queue.offer(entry(1), () => {})).toBe(true);
    expect(queue.offer(entry(2), () => {})).toBe(true);
    expect(queue.offer(entry(3), () => {})).toBe(false);
    expect(queue.pending).toBe(2);
    await clock.advance(200);
    expect(queue.pending).toBe(2);
  });
});

describe('IngestMetrics', () => {
  it('counts, and shows the same figures as a snapshot and as Prometheus text', async () => {
    const metrics = new IngestMetrics(() => ({ messages: 3, points: 7, deadLetters: 1 }));
    metrics.connection(true);
    for (let i = 0; i < 5; i++) metrics.received();
    metrics.status();
    metrics.batchCommitted(2, 120, 8);
    metrics.batchCommitted(1, 1, 30);
    metrics.retry();
    metrics.rejected('b1-e-main', 'not-json');
    metrics.rejected('b1-e-main', 'not-json');
    metrics.rejected(undefined, 'bad-topic');
    metrics.deadLettered(3);
    const stats = metrics.snapshot();
    expect(stats).toMatchObject({
      connected: true,
      connections: 1,
      messages: { received: 5, stored: 3, status: 1, rejected: 3, deadLettered: 3 },
      points: { stored: 121 },
      rejectedByReason: { 'not-json': 2, 'bad-topic': 1 },
      rejections: [
        { device: 'b1-e-main', reason: 'not-json', count: 2 },
        { device: null, reason: 'bad-topic', count: 1 },
      ],
      backlog: { messages: 3, points: 7, deadLetters: 1 },
    });
    expect(stats.batches.count).toBe(2);
    expect(stats.batches.retries).toBe(1);
    expect(stats.batches.points.buckets.find((b) => b.le === 1)?.count).toBe(1);
    expect(stats.batches.points.buckets.find((b) => b.le === 500)?.count).toBe(2);
    expect(stats.batches.writeMs).toMatchObject({ count: 2, sum: 38, max: 30 });
    expect(stats.batches.writeMs.buckets.find((b) => b.le === 10)?.count).toBe(1);

    const text = await metrics.prometheus();
    expect(text).toContain('ingest_messages_received_total 5');
    expect(text).toContain('ingest_points_stored_total 121');
    expect(text).toContain('ingest_messages_rejected_total{device="b1-e-main",reason="not-json"} 2');
    expect(text).toContain('ingest_messages_rejected_total{device="",reason="bad-topic"} 1');
    expect(text).toContain('ingest_backlog{of="messages"} 3');
    expect(text).toContain('ingest_backlog{of="points"} 7');
    expect(text).toContain('ingest_write_duration_seconds_bucket{le="0.01"} 1');
    expect(text).toContain('ingest_batch_points_count 2');
    expect(text).toContain('ingest_mqtt_connected 1');
  });

  it('bounds the (device, reason) pairs it tells apart', () => {
    const metrics = new IngestMetrics(() => ({ messages: 0, points: 0, deadLetters: 0 }));
    for (let i = 0; i < MAX_REJECTION_KEYS + 5; i++) metrics.rejected(`d${i}`, 'unknown-device');
    const stats = metrics.snapshot();
    expect(stats.rejections).toHaveLength(MAX_REJECTION_KEYS + 1);
    expect(stats.rejections[0]).toEqual({ device: '(other)', reason: 'unknown-device', count: 5 });
    expect(stats.rejectedByReason['unknown-device']).toBe(MAX_REJECTION_KEYS + 5);
  });
});
