/**
 * The messages stored lately, so that a copy of one already stored counts once.
 *
 * A QoS 1 message is sent again when its acknowledgement did not arrive: by a device after it
 * reconnects [MQTT-4.4.0-1], or by a broker to a subscriber that reconnects. The store keeps one
 * point per series and time, so writing the copy is harmless, but counting it again made
 * `messages.stored` say more than was stored (an acceptance day showed 1,645 "stored" for 1,439
 * distinct readings). A copy carries the same topic and the same payload bytes, so that pair is
 * its identity here; two messages alike in both are the same readings, hence the same points.
 *
 * Counting only: whether a message is written or acknowledged never depends on this window, so a
 * copy arriving after it has forgotten the original is counted twice, never lost.
 */
import { createHash } from 'node:crypto';

/** Default of {@link RecentMessages} `capacity`: about 11 minutes of the demo compound's stream. */
export const DEFAULT_DUPLICATE_WINDOW = 65_536;

/** Payloads up to this many bytes are keyed as they are; longer ones by their SHA-1. */
const INLINE_BYTES = 160;

/** A window of the `capacity` most recently stored messages (topic and payload). */
export class RecentMessages {
  readonly #capacity: number;
  readonly #keys = new Set<string>();

  constructor(capacity: number = DEFAULT_DUPLICATE_WINDOW) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`duplicate window must be a whole number ≥ 0, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  /**
   * Records a stored message; returns `false` when the window already holds the same topic and
   * payload (a copy), `true` for a message stored for the first time as far as it knows.
   */
  add(topic: string, payload: Uint8Array): boolean {
    if (this.#capacity === 0) return true;
    const key = keyOf(topic, payload);
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    if (this.#keys.size > this.#capacity) {
      // A Set iterates in insertion order: the first key is the oldest.
      const oldest = this.#keys.values().next();
      if (!oldest.done) this.#keys.delete(oldest.value);
    }
    return true;
  }

  /** Messages remembered. */
  get size(): number {
    return this.#keys.size;
  }
}

function keyOf(topic: string, payload: Uint8Array): string {
  if (payload.length <= INLINE_BYTES) {
    // latin1 maps each byte to one character: distinct bytes, distinct keys.
    return `${topic}\u0000${Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('latin1')}`;
  }
  return `${topic}\u0001${createHash('sha1').update(payload).digest('base64')}`;
}
