/**
 * The batching writer, on a hand-driven clock: when batches are written (size and delay
 * bounds), that acknowledgements follow commits and nothing else, retries with backoff on
 * retriable failures, isolation of items the writer refuses for good, backpressure, discard and
 * close.
 */
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../core/store.ts';
import { BATCHER_DEFAULTS, Batcher, type BatcherOptions, backoffDelay } from '../../ingest/batcher.ts';
import { ManualClock } from '../../ingest/clock.ts';

const retriable = () => new StoreError('store down', { code: 'DOWN', retriable: true });
const refused = (what: string) =>
  new StoreError(`refused ${what}`, { code: 'INVALID_POINT', retriable: false });

/** A writer that records each call and behaves as `behave` says for it. */
function recorder<T>(behave: (items: readonly T[], call: number) => Promise<void> | void = () => {}) {
  const calls: T[][] = [];
  const committed: T[] = [];
  return {
    calls,
    committed,
    write: async (items: readonly T[]) => {
      calls.push([...items]);
      await behave(items, calls.length);
      committed.push(...items);
    },
  };
}

interface Harness<T> {
  clock: ManualClock;
  batcher: Batcher<T>;
  acked: T[];
  events: string[];
  rejected: Array<{ item: T; error: unknown }>;
  add(...items: T[]): void;
}

function harness<T>(write: BatcherOptions<T>['write'], options: Partial<BatcherOptions<T>> = {}) {
  const clock = new ManualClock(1_000_000);
  const acked: T[] = [];
  const events: string[] = [];
  const rejected: Array<{ item: T; error: unknown }> = [];
  const batcher = new Batcher<T>({
    write,
    clock,
    random: () => 0,
    maxBatchSize: 3,
    maxDelayMs: 200,
    events: {
      committed: (items, size, ms) => events.push(`committed ${items.length}/${size} in ${ms}`),
      retrying: (_error, attempt, delay, count) => events.push(`retry ${attempt} after ${delay} (${count})`),
      rejected: (item, error) => rejected.push({ item, error }),
      room: () => events.push('room'),
    },
    ...options,
  });
  const h: Harness<T> = {
    clock,
    batcher,
    acked,
    events,
    rejected,
    add: (...items) => {
      for (const item of items) batcher.add(item, () => acked.push(item));
    },
  };
  return h;
}

/** A promise with its resolve and reject. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Batcher: when it writes', () => {
  it('writes as soon as a batch is full, and acknowledges only after the write resolved', async () => {
    const gate = deferred();
    const store = recorder<string>(() => gate.promise);
    const h = harness(store.write);
    h.add('a', 'b');
    await h.clock.advance(0);
    expect(store.calls).toEqual([]);
    h.add('c');
    await h.clock.advance(0);
    expect(store.calls).toEqual([['a', 'b', 'c']]);
    expect(h.acked).toEqual([]);
    expect(h.batcher.pending).toEqual({ items: 3, size: 3 });
    gate.resolve();
    await h.clock.advance(0);
    expect(h.acked).toEqual(['a', 'b', 'c']);
    expect(h.batcher.pending).toEqual({ items: 0, size: 0 });
  });

  it('acknowledges a write that resolves with { settled } once that settles; the next batch is written meanwhile', async () => {
    const folds = [deferred(), deferred()];
    const calls: string[][] = [];
    const h = harness<string>((items) => {
      calls.push([...items]);
      return Promise.resolve({ settled: (folds[calls.length - 1] as ReturnType<typeof deferred>).promise });
    });
    h.add('a', 'b', 'c');
    await h.clock.advance(0);
    h.add('d');
    await h.clock.advance(200);
    // Both batches written; neither acknowledged before its after-work settled.
    expect(calls).toEqual([['a', 'b', 'c'], ['d']]);
    expect(h.acked).toEqual([]);
    expect(h.batcher.pending).toEqual({ items: 0, size: 0 });
    // flush() (and close) wait for the acknowledgements too.
    let flushed = false;
    void h.batcher.flush().then(() => {
      flushed = true;
    });
    folds[1]?.resolve();
    await h.clock.advance(0);
    expect(h.acked).toEqual(['d']);
    expect(flushed).toBe(false);
    // A failed after-work still acknowledges: the items are committed.
    folds[0]?.reject(new Error('fold failed'));
    await h.clock.advance(0);
    expect(h.acked).toEqual(['d', 'a', 'b', 'c']);
    expect(flushed).toBe(true);
  });

  it('writes a batch that is not full once its oldest item waited maxDelayMs', async () => {
    const store = recorder<string>();
    const h = harness(store.write);
    h.add('a');
    await h.clock.advance(150);
    h.add('b');
    await h.clock.advance(49);
    expect(store.calls).toEqual([]);
    await h.clock.advance(1);
    expect(store.calls).toEqual([['a', 'b']]);
    expect(h.acked).toEqual(['a', 'b']);
  });

  it('counts sizes: a batch closes before it would exceed maxBatchSize; a big item goes alone', async () => {
    const store = recorder<{ id: string; n: number }>();
    const h = harness(store.write, { sizeOf: (item) => item.n, maxBatchSize: 10 });
    const [a, b, c, d] = [
      { id: 'a', n: 4 },
      { id: 'b', n: 4 },
      { id: 'c', n: 4 },
      { id: 'd', n: 25 },
    ];
    h.add(a, b, c, d);
    await h.clock.advance(0);
    expect(store.calls.map((call) => call.map((item) => item.id))).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(h.events).toEqual(['committed 2/8 in 0', 'committed 1/4 in 0', 'committed 1/25 in 0']);
  });

  it('keeps writing while the queue is due, one write at a time, in arrival order', async () => {
    let running = 0;
    let overlap = false;
    const store = recorder<number>(async () => {
      running++;
      if (running > 1) overlap = true;
      await Promise.resolve();
      running--;
    });
    const h = harness(store.write);
    h.add(1, 2, 3, 4, 5, 6, 7);
    await h.clock.advance(0);
    expect(store.calls).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    await h.clock.advance(200);
    expect(store.calls.at(-1)).toEqual([7]);
    expect(h.acked).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(overlap).toBe(false);
  });

  it('flush() writes now and resolves once committed', async () => {
    const store = recorder<string>();
    const h = harness(store.write);
    h.add('a');
    await h.batcher.flush();
    expect(store.calls).toEqual([['a']]);
    expect(h.acked).toEqual(['a']);
  });
});

describe('Batcher: retriable failures', () => {
  it('keeps the batch, retries with exponential backoff, acknowledges once, after the commit', async () => {
    const store = recorder<string>((_items, call) => {
      if (call <= 3) throw retriable();
    });
    const h = harness(store.write, { retry: { initialDelayMs: 100, maxDelayMs: 250, jitter: 0.5 } });
    h.add('a', 'b', 'c');
    await h.clock.advance(0);
    expect(h.events).toEqual(['retry 1 after 100 (3)']);
    await h.clock.advance(99);
    expect(store.calls).toHaveLength(1);
    await h.clock.advance(1);
    expect(store.calls).toHaveLength(2);
    expect(h.events.at(-1)).toBe('retry 2 after 200 (3)');
    await h.clock.advance(200);
    expect(h.events.at(-1)).toBe('retry 3 after 250 (3)'); // capped
    expect(h.acked).toEqual([]);
    await h.clock.advance(250);
    expect(store.calls).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ]);
    expect(store.committed).toEqual(['a', 'b', 'c']);
    expect(h.acked).toEqual(['a', 'b', 'c']);
  });

  it('treats an error that is not a StoreError as retriable: nothing leaves unless committed', async () => {
    const store = recorder<string>((_items, call) => {
      if (call === 1) throw new TypeError('socket hang up');
    });
    const h = harness(store.write);
    h.add('a');
    const flushed = h.batcher.flush();
    await h.clock.advance(100);
    await flushed;
    expect(h.acked).toEqual(['a']);
    expect(h.rejected).toEqual([]);
  });

  it('applies backpressure: full at maxPendingSize, room once the backlog is committed', async () => {
    let down = true;
    const store = recorder<number>(() => {
      if (down) throw retriable();
    });
    const h = harness(store.write, { maxPendingSize: 5 });
    h.add(1, 2, 3);
    await h.clock.advance(0);
    expect(h.batcher.full).toBe(false);
    h.add(4, 5);
    expect(h.batcher.full).toBe(true);
    expect(h.batcher.pending).toEqual({ items: 5, size: 5 });
    await h.clock.advance(5_000);
    expect(h.acked).toEqual([]);
    expect(h.events).not.toContain('room');
    down = false;
    await h.clock.advance(10_000);
    expect(h.acked).toEqual([1, 2, 3, 4, 5]);
    expect(h.batcher.full).toBe(false);
    expect(h.events.filter((event) => event === 'room')).toHaveLength(1);
  });
});

describe('Batcher: items refused for good', () => {
  it('splits the batch until the bad item is alone, writes the others, hands the bad one over unacknowledged', async () => {
    const store = recorder<string>((items) => {
      if (items.includes('bad')) throw refused('bad');
    });
    const h = harness(store.write, { maxBatchSize: 8 });
    h.add('a', 'b', 'c', 'bad', 'e', 'f', 'g', 'h');
    await h.clock.advance(0);
    expect(store.committed.sort()).toEqual(['a', 'b', 'c', 'e', 'f', 'g', 'h']);
    expect(h.acked.sort()).toEqual(['a', 'b', 'c', 'e', 'f', 'g', 'h']);
    expect(h.rejected.map((r) => r.item)).toEqual(['bad']);
    expect((h.rejected[0]?.error as Error | undefined)?.message).toBe('refused bad');
    // 8 → 4+4 → (2+2) → (1+1): log2(8) levels of splitting on the bad side.
    expect(store.calls.length).toBeLessThanOrEqual(1 + 2 + 2 + 2);
    expect(h.batcher.pending.items).toBe(0);
  });

  it('isolates several bad items, and the stream goes on after them', async () => {
    const store = recorder<string>((items) => {
      if (items.some((item) => item.startsWith('bad'))) throw refused('bad');
    });
    const h = harness(store.write, { maxBatchSize: 4 });
    h.add('bad1', 'b', 'bad2', 'd', 'e');
    await h.clock.advance(300);
    expect(h.rejected.map((r) => r.item)).toEqual(['bad1', 'bad2']);
    expect(h.acked).toEqual(['b', 'd', 'e']);
  });

  it('a retriable failure during a split is retried for that half only', async () => {
    let failures = 0;
    const store = recorder<string>((items) => {
      if (items.includes('bad')) throw refused('bad');
      if (items.includes('x') && failures++ < 2) throw retriable();
    });
    const h = harness(store.write, { maxBatchSize: 4 });
    h.add('bad', 'a', 'x', 'y');
    await h.clock.advance(1_000);
    expect(h.rejected.map((r) => r.item)).toEqual(['bad']);
    expect(h.acked.sort()).toEqual(['a', 'x', 'y']);
    expect(h.events.filter((e) => e.startsWith('retry'))).toEqual([
      'retry 1 after 100 (2)',
      'retry 2 after 200 (2)',
    ]);
  });
});

describe('Batcher: discard and close', () => {
  it('discard() drops queued items without acknowledging them, not those being written', async () => {
    const gate = deferred();
    const store = recorder<string>((_items, call) => (call === 1 ? gate.promise : undefined));
    const h = harness(store.write);
    h.add('old1', 'old2', 'old3', 'old4', 'new1');
    await h.clock.advance(0);
    expect(h.batcher.discard((item) => item.startsWith('old'))).toBe(1);
    gate.resolve();
    await h.clock.advance(200);
    expect(store.calls).toEqual([['old1', 'old2', 'old3'], ['new1']]);
    expect(h.acked).toEqual(['old1', 'old2', 'old3', 'new1']);
  });

  it('close() writes what is queued at once and reports nothing abandoned', async () => {
    const store = recorder<string>();
    const h = harness(store.write);
    h.add('a');
    const closed = h.batcher.close(1_000);
    await h.clock.advance(0);
    expect(await closed).toEqual({ abandoned: 0 });
    expect(h.acked).toEqual(['a']);
    expect(() => h.batcher.add('b', () => {})).toThrow(/closed/);
  });

  it('close() gives up at the deadline without acknowledging, and retries stop', async () => {
    const store = recorder<string>(() => {
      throw retriable();
    });
    const h = harness(store.write);
    h.add('a', 'b', 'c', 'd');
    await h.clock.advance(0);
    const closed = h.batcher.close(1_000);
    await h.clock.advance(1_000);
    expect(await closed).toEqual({ abandoned: 4 });
    const calls = store.calls.length;
    await h.clock.advance(60_000);
    expect(store.calls.length).toBe(calls);
    expect(h.acked).toEqual([]);
  });
});

describe('backoffDelay', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 10_000, jitter: 0.5 };
  it.each([
    [1, 0, 100],
    [2, 0, 200],
    [5, 0, 1600],
    [8, 0, 10_000],
    [60, 0, 10_000],
    [1, 0.999_999, 50],
    [3, 0.5, 300],
    [8, 0.5, 7500],
  ])('attempt %i, random %f → %i ms', (attempt, random, delay) => {
    expect(backoffDelay(policy, attempt, random)).toBe(delay);
  });

  it('defaults are a 200 ms / 5,000-point batch', () => {
    expect(BATCHER_DEFAULTS.maxBatchSize).toBe(5000);
    expect(BATCHER_DEFAULTS.maxDelayMs).toBe(200);
  });
});
