/**
 * History is not silently rewritten. A reading that arrives more than the site's late window
 * (`site.lateWindow` in the facility file, default 48 h) after its own time may fill a gap — a
 * gateway flushing what it buffered during an outage — but one that would change a point already
 * stored is refused as `conflict` (dead-lettered, counted, listed with the rejections), so that
 * re-sending an old timestamp with another register value cannot rewrite a closed day. An
 * identical re-send stays idempotent: it is written again as the same point. Within the window,
 * the later write wins as it always did (a device correcting its last reading).
 *
 * Two points differ when any field of the measurement differs, a field present in one and absent
 * in the other included. Late readings of the same series and time within one batch are judged in
 * arrival order: the first fills the gap, a different second one is a conflict.
 *
 * Deliberate corrections of history go through `POST /api/v1/corrections` (an admin, with a
 * reason, audited), never through the telemetry stream.
 */
import {
  type FieldValue,
  MEASUREMENTS,
  type Measurement,
  type Point,
  StoreError,
  type TimeSeriesStore,
} from '../core/store.ts';

/** Default of `site.lateWindow`, hours. */
export const DEFAULT_LATE_WINDOW_HOURS = 48;

/** A write refused because one of its messages would change a stored point past the late window. */
export class LateConflictError extends StoreError {
  constructor(message: string) {
    super(message, { code: 'conflict', retriable: false });
    this.name = 'LateConflictError';
  }
}

/** What the guard needs of a message: its points and when the ingest received it. */
export interface LateMessage {
  readonly points: readonly Point[];
  /** Epoch ms, by the ingest's clock. */
  readonly received: number;
}

type Values = Readonly<Record<string, FieldValue | null>>;

/**
 * Judges batches of messages before they are written (see the module comment). A message is
 * judged once, against the store as it was then: the batcher splits a refused batch in halves to
 * find the message that fails alone, and the halves are not read again.
 */
export class LateGuard<M extends LateMessage> {
  readonly #store: Pick<TimeSeriesStore, 'query'>;
  readonly #site: string;
  readonly #windowMs: number;
  /** Per message: why it conflicts, or null. */
  readonly #judged = new WeakMap<M, string | null>();

  constructor(options: {
    readonly store: Pick<TimeSeriesStore, 'query'>;
    readonly site: string;
    /** The late window, ms (`Infinity`: nothing is late). */
    readonly windowMs: number;
  }) {
    this.#store = options.store;
    this.#site = options.site;
    this.#windowMs = options.windowMs;
  }

  /**
   * Resolves when none of `messages` would change a stored point; otherwise rejects with a
   * {@link LateConflictError} naming the first that would. Store errors pass through (a
   * retriable one makes the batch wait and try again, nothing judged).
   */
  async check(messages: readonly M[]): Promise<void> {
    const unjudged = messages.filter((message) => !this.#judged.has(message));
    if (unjudged.length > 0) await this.#judge(unjudged);
    for (const message of messages) {
      const conflict = this.#judged.get(message);
      if (conflict) throw new LateConflictError(conflict);
    }
  }

  async #judge(messages: readonly M[]): Promise<void> {
    const ranges = new Map<Measurement, { devices: Set<string>; from: number; to: number }>();
    for (const message of messages) {
      for (const point of message.points) {
        if (!this.#isLate(message, point)) continue;
        const device = deviceOf(point);
        const range = ranges.get(point.measurement);
        if (!range)
          ranges.set(point.measurement, { devices: new Set([device]), from: point.time, to: point.time });
        else {
          range.devices.add(device);
          range.from = Math.min(range.from, point.time);
          range.to = Math.max(range.to, point.time);
        }
      }
    }
    const known = new Map<string, Values>();
    for (const [measurement, range] of ranges) {
      const schema = MEASUREMENTS[measurement];
      const series = await this.#store.query({
        measurement,
        fields: Object.keys(schema.fields),
        where: { site: this.#site, [schema.key]: [...range.devices] },
        from: range.from,
        to: range.to + 1,
        groupBy: [schema.key],
      });
      for (const one of series) {
        const device = one.tags[schema.key] ?? '';
        for (const row of one.rows) known.set(keyOf(measurement, device, row.time), row.values);
      }
    }
    for (const message of messages) {
      let conflict: string | null = null;
      const late = message.points.filter((point) => this.#isLate(message, point));
      for (const point of late) {
        const before = known.get(keyOf(point.measurement, deviceOf(point), point.time));
        const changed = before && changedFields(point, before);
        if (changed) {
          conflict = describe(point, message.received, before, changed, this.#windowMs);
          break;
        }
      }
      // A refused message writes nothing: what it carried is not there for the next one.
      if (!conflict)
        for (const point of late)
          known.set(keyOf(point.measurement, deviceOf(point), point.time), valuesOf(point));
      this.#judged.set(message, conflict);
    }
  }

  #isLate(message: LateMessage, point: Point): boolean {
    return message.received - point.time > this.#windowMs;
  }
}

function deviceOf(point: Point): string {
  return point.tags[MEASUREMENTS[point.measurement].key] ?? '';
}

function keyOf(measurement: Measurement, device: string, time: number): string {
  return `${measurement}\u0000${device}\u0000${time}`;
}

function valuesOf(point: Point): Values {
  const values: Record<string, FieldValue | null> = {};
  for (const field of Object.keys(MEASUREMENTS[point.measurement].fields))
    values[field] = point.fields[field] ?? null;
  return values;
}

/** The fields whose value the point would change, or undefined when it is the stored point again. */
function changedFields(point: Point, stored: Values): string[] | undefined {
  const changed = Object.keys(MEASUREMENTS[point.measurement].fields).filter(
    (field) => (point.fields[field] ?? null) !== (stored[field] ?? null),
  );
  return changed.length > 0 ? changed : undefined;
}

function describe(
  point: Point,
  received: number,
  stored: Values,
  changed: readonly string[],
  windowMs: number,
): string {
  const hours = (received - point.time) / 3_600_000;
  const age = hours >= 48 ? `${(hours / 24).toFixed(1)} days` : `${hours.toFixed(1)} h`;
  const fields = changed
    .map((field) => `${field} ${show(stored[field] ?? null)} → ${show(point.fields[field] ?? null)}`)
    .join(', ');
  return (
    `${point.measurement} ${deviceOf(point)}: the reading at ${new Date(point.time).toISOString()} arrived ${age} ` +
    `after its time and would change the stored point (${fields}); past the late window ` +
    `(${windowMs / 3_600_000} h) a reading may only fill a gap. A deliberate correction goes through ` +
    'POST /api/v1/corrections'
  );
}

function show(value: FieldValue | null): string {
  return value === null ? 'none' : String(value);
}
