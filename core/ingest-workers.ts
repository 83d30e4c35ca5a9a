/**
 * How the ingest workers of a shared subscription make themselves seen (README, "Scaling out").
 *
 * Each `facility ingest --shared` worker publishes, retained at QoS 1, a status message on
 * `platform/ingest/{name}/status`: `online` with its counters every {@link INGEST_HEARTBEAT_MS},
 * and `offline` when it stops — or, when it dies, as its MQTT Will, which the broker publishes
 * for it. The api subscribes to `platform/ingest/+/status` and so knows every worker that ever
 * took a share, including one that is gone: the broker keeps a worker's session (and queues its
 * share of the stream in it) for as long as the worker is away, and the retained `offline` stays
 * just as long. {@link assessIngestWorkers} turns what the api holds into the health report.
 *
 * Pure: the topic, the payload schema and the assessment; the MQTT clients are in `ingest/`.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** First levels of the status topics; outside `fac/`, so no telemetry subscription sees them. */
export const INGEST_WORKER_STATUS_ROOT = 'platform/ingest';

/** The filter the api subscribes to. */
export const INGEST_WORKER_STATUS_FILTER = `${INGEST_WORKER_STATUS_ROOT}/+/status`;

/** A worker publishes its status this often, ms. */
export const INGEST_HEARTBEAT_MS = 10_000;

/**
 * A worker whose last `online` is older than this many heartbeats is reported `silent`: hung, or
 * cut off in a way the broker has not noticed yet (it notices after 1.5 keepalives, 90 s).
 */
export const SILENT_AFTER_HEARTBEATS = 3.5;

/** The status topic of worker `name`. */
export function ingestWorkerStatusTopic(name: string): string {
  return `${INGEST_WORKER_STATUS_ROOT}/${name}/status`;
}

const Count = Type.Integer({ minimum: 0 });

/** The payload of a status message (JSON). */
export const IngestWorkerStatusSchema = Type.Object({
  /** The worker's name (`--ingest-id`); also the topic's third level. */
  name: Type.String({ minLength: 1 }),
  state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  /** When the worker published this, epoch ms; null in the Will, written when it connected. */
  at: Type.Union([Type.Integer(), Type.Null()]),
  /** How often an online worker publishes, ms. */
  heartbeatMs: Type.Integer({ minimum: 1 }),
  /** MQTT client id of the worker's ingest session, e.g. `svc-ingest-a`. */
  clientId: Type.String(),
  /** The filter it takes a share of, e.g. `$share/ingest/fac/#`. */
  filter: Type.String(),
  /** Whether the worker's ingest client is connected to the broker now. */
  connected: Type.Boolean(),
  /** Where the worker serves `/metrics` and `/health`, when it does. */
  metricsUrl: Type.Optional(Type.String()),
  /** Counters since the worker started. */
  messages: Type.Object({ received: Count, stored: Count, rejected: Count }),
  points: Type.Object({ stored: Count }),
  /** Not yet acknowledged to the broker. */
  backlog: Type.Object({ messages: Count, points: Count, deadLetters: Count }),
});

export type IngestWorkerStatus = Static<typeof IngestWorkerStatusSchema>;

/** Parses a status message; `undefined` when it is not one (or is the empty retained clear). */
export function parseIngestWorkerStatus(topic: string, payload: Uint8Array): IngestWorkerStatus | undefined {
  const levels = topic.split('/');
  if (levels.length !== 4 || `${levels[0]}/${levels[1]}` !== INGEST_WORKER_STATUS_ROOT) return undefined;
  if (levels[3] !== 'status') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Value.Check(IngestWorkerStatusSchema, value) || value.name !== levels[2]) return undefined;
  return value;
}

/** What the api knows of one worker: its last status, and when it last saw it online. */
export interface KnownIngestWorker {
  readonly status: IngestWorkerStatus;
  /** The `at` of the last `online` status seen, epoch ms; null when none was seen. */
  readonly lastOnlineAt: number | null;
}

/**
 * A worker as the health report shows it.
 *
 * * `online`: connected and heard from lately; it takes its share.
 * * `disconnected`: the process runs but its ingest client lost the broker: its share queues.
 * * `silent`: no status for {@link SILENT_AFTER_HEARTBEATS} heartbeats: its share probably queues.
 * * `offline`: stopped, or dead (its Will): its share queues at the broker until it is back.
 */
export interface IngestWorkerView {
  readonly name: string;
  readonly state: 'online' | 'disconnected' | 'silent' | 'offline';
  /** `taking`: its share is being stored; `queuing`: its share waits at the broker. */
  readonly share: 'taking' | 'queuing';
  /** When it was last heard from online, epoch ms; null when never (since the api started). */
  readonly lastSeen: number | null;
  readonly clientId: string;
  readonly metricsUrl?: string;
  readonly messages: IngestWorkerStatus['messages'];
  readonly points: IngestWorkerStatus['points'];
  readonly backlog: IngestWorkerStatus['backlog'];
}

/** The assessment of every known worker. */
export interface IngestWorkersReport {
  /** By name. */
  readonly workers: readonly IngestWorkerView[];
  /** Names of the workers whose share is queuing at the broker. */
  readonly queuing: readonly string[];
  /** One sentence per worker whose share is queuing, for people. */
  readonly problems: readonly string[];
}

/** The report, and whether it is current. */
export interface IngestWorkersHealth extends IngestWorkersReport {
  /** Whether the api is connected to the broker; when not, the report is as last known. */
  readonly watching: boolean;
}

/**
 * The ingest counters of the api run apart from its workers (`GET /api/v1/ingest/stats`): the
 * workers' counters added up, the workers one by one, and those whose share is queuing.
 */
export function summarizeIngestWorkers(health: IngestWorkersHealth) {
  const sum = (pick: (worker: IngestWorkerView) => number) =>
    health.workers.reduce((total, worker) => total + pick(worker), 0);
  return {
    connected: health.workers.some((worker) => worker.state === 'online'),
    watching: health.watching,
    messages: {
      received: sum((worker) => worker.messages.received),
      stored: sum((worker) => worker.messages.stored),
      rejected: sum((worker) => worker.messages.rejected),
    },
    points: { stored: sum((worker) => worker.points.stored) },
    backlog: {
      messages: sum((worker) => worker.backlog.messages),
      points: sum((worker) => worker.backlog.points),
      deadLetters: sum((worker) => worker.backlog.deadLetters),
    },
    queuing: health.queuing,
    problems: health.problems,
    workers: health.workers,
  };
}

/** Assesses the workers at `now` (epoch ms). */
export function assessIngestWorkers(known: Iterable<KnownIngestWorker>, now: number): IngestWorkersReport {
  const workers = [...known]
    .map(({ status, lastOnlineAt }): IngestWorkerView => {
      const lastSeen = status.state === 'online' ? status.at : lastOnlineAt;
      let state: IngestWorkerView['state'];
      if (status.state === 'offline') state = 'offline';
      else if (status.at === null || now - status.at > SILENT_AFTER_HEARTBEATS * status.heartbeatMs)
        state = 'silent';
      else if (!status.connected) state = 'disconnected';
      else state = 'online';
      return {
        name: status.name,
        state,
        share: state === 'online' ? 'taking' : 'queuing',
        lastSeen,
        clientId: status.clientId,
        ...(status.metricsUrl === undefined ? {} : { metricsUrl: status.metricsUrl }),
        messages: status.messages,
        points: status.points,
        backlog: status.backlog,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const queuing = workers.filter((worker) => worker.share === 'queuing');
  const since = (worker: IngestWorkerView) =>
    worker.lastSeen === null ? '' : `, last seen ${new Date(worker.lastSeen).toISOString()}`;
  const why: Record<IngestWorkerView['state'], string> = {
    online: '',
    offline: 'is offline',
    silent: 'has not been heard from',
    disconnected: 'has lost the broker',
  };
  return {
    workers,
    queuing: queuing.map((worker) => worker.name),
    problems: queuing.map(
      (worker) =>
        `ingest worker "${worker.name}" ${why[worker.state]}${since(worker)}: its share of the stream is ` +
        `queuing at the broker (session ${worker.clientId}) until it is back`,
    ),
  };
}
