/**
 * The dead-letter port: where the ingest puts every MQTT message it could not store, with the
 * reason a person can read (docs/architecture.md, "Reliability rules": bad input is never silently
 * dropped). `storage/duckdb/dead-letter.ts` implements it on DuckDB; `ingest/dead-letter.ts`
 * holds an in-memory ring for tests and throw-away runs. Pure: no I/O here.
 */
import type { DeviceKind, RejectReason } from './telemetry.ts';

/**
 * Why a message is in the dead-letter: a {@link RejectReason} of the telemetry decoder,
 * `store-rejected` when the message decoded but the store refused its points for good (a
 * non-retriable `StoreError`; `detail` holds the store's message), or `register-outlier` for a
 * stored meter reading the register rules left out of consumption (core/register.ts, rule 1),
 * listed once it is settled, or `conflict` for a reading arriving past the site's late window that
 * would change a stored point (ingest/late.ts).
 */
export type DeadLetterReason = RejectReason | 'store-rejected' | 'register-outlier' | 'conflict';

/** How {@link DeadLetterPayload.payload} is written. */
export type PayloadEncoding = 'utf8' | 'base64';

/** The raw payload as kept: text when it is valid UTF-8, base64 otherwise. */
export interface DeadLetterPayload {
  /** The (possibly truncated) payload, as text or base64 per {@link encoding}. */
  readonly payload: string;
  readonly encoding: PayloadEncoding;
  /** Size of the whole payload as received, bytes. */
  readonly size: number;
  /** Whether `payload` holds only the first bytes of it. */
  readonly truncated: boolean;
}

/** A rejected message, as handed to {@link DeadLetterSink.add}. */
export interface NewDeadLetter extends DeadLetterPayload {
  /** When the ingest received it, epoch ms. */
  readonly time: number;
  /** The MQTT topic it was published on. */
  readonly topic: string;
  /** The device the topic names, when the topic is well-formed (even if the device is unknown). */
  readonly device?: { readonly kind: DeviceKind; readonly id: string };
  readonly reason: DeadLetterReason;
  /** What is wrong, for a person: names the field, the index and the bound. */
  readonly detail: string;
}

/** A stored dead-letter entry. */
export interface DeadLetter extends NewDeadLetter {
  /** Increasing with insertion order; unique within one sink. */
  readonly id: number;
}

/** What {@link DeadLetterSink.list} returns. */
export interface DeadLetterQuery {
  /** Most entries to return, newest first. */
  readonly limit: number;
  /** Only entries with a smaller id (for paging back). */
  readonly before?: number;
  /** Only entries of this device id. */
  readonly device?: string;
  readonly reason?: DeadLetterReason;
}

/**
 * Where rejected messages go. `add` resolves once the entries are committed (the ingest
 * acknowledges the messages to the broker only then); failures that may pass on a later try
 * are `StoreError`s with `retriable: true`, as for the time-series store.
 */
export interface DeadLetterSink {
  /** A short name for logs, e.g. `duckdb` or `memory`. */
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stores the entries, all or none. */
  add(entries: readonly NewDeadLetter[]): Promise<void>;
  /** The newest entries first. */
  list(query: DeadLetterQuery): Promise<DeadLetter[]>;
}

/** Default of how much of a payload is kept, bytes. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 4096;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The payload as a dead-letter keeps it: its first `maxBytes` bytes, as text if they are valid
 * UTF-8 (a cut through a multi-byte character is moved back to the character's start), as
 * base64 otherwise. Never throws.
 */
export function keepPayload(
  payload: Uint8Array,
  maxBytes: number = DEFAULT_MAX_PAYLOAD_BYTES,
): DeadLetterPayload {
  const size = payload.length;
  const truncated = size > maxBytes;
  let end = truncated ? maxBytes : size;
  // A UTF-8 character is at most 4 bytes: when the first byte cut off continues a character
  // (10xxxxxx), the cut moves back over at most 3 bytes to that character's start.
  for (let back = 0; truncated && back < 3 && end > 0 && ((payload[end] ?? 0) & 0xc0) === 0x80; back++) end--;
  const text = utf8(payload.subarray(0, end));
  if (text !== undefined) return { payload: text, encoding: 'utf8', size, truncated };
  const kept = payload.subarray(0, truncated ? maxBytes : size);
  return { payload: Buffer.from(kept).toString('base64'), encoding: 'base64', size, truncated };
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The dead-letter entries listing register outliers: each reading as it was stored, with the
 * topic it came on, so an operator sees it beside the messages the ingest refused.
 */
export function outlierEntries(
  site: string,
  outliers: readonly { readonly meter: string; readonly time: number; readonly total: number }[],
  now: number,
): NewDeadLetter[] {
  return outliers.map((o) => {
    const payload = JSON.stringify({ ts: new Date(o.time).toISOString(), total: o.total });
    return {
      time: now,
      topic: `fac/${site}/meter/${o.meter}/reading`,
      device: { kind: 'meter', id: o.meter },
      reason: 'register-outlier',
      detail:
        `reading of ${new Date(o.time).toISOString()} (total ${o.total}) breaks the register while the readings ` +
        'around it agree: left out of consumption',
      payload,
      encoding: 'utf8',
      size: Buffer.byteLength(payload),
      truncated: false,
    };
  });
}
