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
 *
 * A message is remembered by a 53-bit hash of its topic and payload (two 32-bit multiplicative
 * hashes, each finalised with MurmurHash3's mixer): with the window full, the chance that a new
 * message collides with one of the 65,536 remembered is about 65,536 / 2⁵³ ≈ 7 × 10⁻¹², which
 * would count it as a copy. Cheap enough for every message (a number key, no string built).
 */

/** Default of {@link RecentMessages} `capacity`: about 11 minutes of the demo compound's stream. */
export const DEFAULT_DUPLICATE_WINDOW = 65_536;

/** A window of the `capacity` most recently stored messages (topic and payload). */
export class RecentMessages {
  readonly #capacity: number;
  readonly #keys = new Set<number>();
  /**
   * The keys in the order they came, as a ring: the oldest is evicted from here. (Taking the
   * oldest from the Set's own iterator costs more and more: it walks over the deleted entries.)
   */
  readonly #ring: Float64Array;
  #next = 0;
  #filled = 0;

  constructor(capacity: number = DEFAULT_DUPLICATE_WINDOW) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`duplicate window must be a whole number ≥ 0, got ${capacity}`);
    }
    this.#capacity = capacity;
    this.#ring = new Float64Array(capacity);
  }

  /**
   * Records a stored message; returns `false` when the window already holds the same topic and
   * payload (a copy), `true` for a message stored for the first time as far as it knows.
   */
  add(topic: string, payload: Uint8Array): boolean {
    if (this.#capacity === 0) return true;
    const key = messageKey(topic, payload);
    if (this.#keys.has(key)) return false;
    if (this.#filled === this.#capacity) this.#keys.delete(this.#ring[this.#next] as number);
    else this.#filled++;
    this.#ring[this.#next] = key;
    this.#next = (this.#next + 1) % this.#capacity;
    this.#keys.add(key);
    return true;
  }

  /** Messages remembered. */
  get size(): number {
    return this.#keys.size;
  }
}

/** The 53-bit identity of a message: see the module comment. */
export function messageKey(topic: string, payload: Uint8Array): number {
  let a = 0x811c9dc5; // FNV-1a offset basis
  let b = 0x9747b28c;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193); // FNV prime
    b = Math.imul(b ^ c, 0x5bd1e995); // MurmurHash2's multiplier
  }
  // A separator no topic character can make, so `a/b`+`c` and `a/`+`bc` differ.
  a = Math.imul(a ^ 0x10000, 0x01000193);
  b = Math.imul(b ^ 0x10000, 0x5bd1e995);
  for (let i = 0; i < payload.length; i++) {
    const c = payload[i] as number;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a = fmix32(a ^ payload.length);
  b = fmix32(b ^ topic.length);
  return (a >>> 0) * 0x200000 + (b >>> 11);
}

/** MurmurHash3's 32-bit finaliser: every input bit reaches every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
