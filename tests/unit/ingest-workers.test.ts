import { describe, expect, it } from 'vitest';
import {
  assessIngestWorkers,
  type IngestWorkerStatus,
  ingestWorkerStatusTopic,
  type KnownIngestWorker,
  parseIngestWorkerStatus,
  summarizeIngestWorkers,
} from '../../core/ingest-workers.ts';

const NOW = Date.UTC(2026, 10, 28, 2, 0, 0);

function status(name: string, extra: Partial<IngestWorkerStatus> = {}): IngestWorkerStatus {
  return {
    name,
    state: 'online',
    at: NOW - 5_000,
    heartbeatMs: 10_000,
    clientId: `svc-ingest-${name}`,
    filter: '$share/ingest/fac/#',
    connected: true,
    messages: { received: 10, stored: 9, rejected: 1 },
    points: { stored: 9 },
    backlog: { messages: 0, points: 0, deadLetters: 0 },
    ...extra,
  };
}

const known = (s: IngestWorkerStatus, lastOnlineAt: number | null = s.at): KnownIngestWorker => ({
  status: s,
  lastOnlineAt,
});

describe('ingest workers: status messages and the health assessment', () => {
  it.each([
    ['heard from 5 s ago, connected', status('a'), 'online', 'taking'],
    ['heard from 34 s ago (within 3.5 heartbeats)', status('a', { at: NOW - 34_000 }), 'online', 'taking'],
    ['heard from 36 s ago', status('a', { at: NOW - 36_000 }), 'silent', 'queuing'],
    ['running but its ingest lost the broker', status('a', { connected: false }), 'disconnected', 'queuing'],
    ['stopped', status('a', { state: 'offline', at: NOW - 60_000, connected: false }), 'offline', 'queuing'],
    ['dead (its Will)', status('a', { state: 'offline', at: null, connected: false }), 'offline', 'queuing'],
  ] as const)('%s: %s, share %s', (_what, s, state, share) => {
    const [worker] = assessIngestWorkers([known(s)], NOW).workers;
    expect(worker).toMatchObject({ name: 'a', state, share });
  });

  it('names every worker whose share is queuing, with when it was last seen', () => {
    const report = assessIngestWorkers(
      [
        known(status('b', { state: 'offline', at: null, connected: false }), NOW - 60_000),
        known(status('a')),
        known(status('c', { state: 'offline', at: null, connected: false }), null),
      ],
      NOW,
    );
    expect(report.workers.map((w) => w.name)).toEqual(['a', 'b', 'c']);
    expect(report.queuing).toEqual(['b', 'c']);
    expect(report.problems).toEqual([
      'ingest worker "b" is offline, last seen 2026-11-28T01:59:00.000Z: its share of the stream is queuing ' +
        'at the broker (session svc-ingest-b) until it is back',
      'ingest worker "c" is offline: its share of the stream is queuing at the broker (session svc-ingest-c) ' +
        'until it is back',
    ]);
    const summary = summarizeIngestWorkers({ ...report, watching: true });
    expect(summary).toMatchObject({
      connected: true,
      messages: { received: 30, stored: 27, rejected: 3 },
      points: { stored: 27 },
      queuing: ['b', 'c'],
    });
  });

  it('parses a status message only on its own topic, with a valid payload', () => {
    const payload = (value: unknown) => Buffer.from(JSON.stringify(value));
    expect(ingestWorkerStatusTopic('a')).toBe('platform/ingest/a/status');
    expect(parseIngestWorkerStatus('platform/ingest/a/status', payload(status('a')))).toEqual(status('a'));
    expect(parseIngestWorkerStatus('platform/ingest/b/status', payload(status('a')))).toBeUndefined();
    expect(parseIngestWorkerStatus('platform/ingest/a/other', payload(status('a')))).toBeUndefined();
    expect(parseIngestWorkerStatus('fac/ingest/a/status', payload(status('a')))).toBeUndefined();
    expect(
      parseIngestWorkerStatus('platform/ingest/a/status', payload({ ...status('a'), state: 'gone' })),
    ).toBeUndefined();
    expect(parseIngestWorkerStatus('platform/ingest/a/status', Buffer.from('not json'))).toBeUndefined();
    expect(parseIngestWorkerStatus('platform/ingest/a/status', Buffer.alloc(0))).toBeUndefined();
  });
});
