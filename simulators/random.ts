/**
 * Seeded randomness for the simulators.
 *
 * Two tools, for two access patterns:
 * - {@link Draw}: a pure-rand `xoroshiro128plus` stream for drawing a small plan (a day's trips,
 *   a day's meetings, a week's faults). Each plan gets its own stream, keyed by the seed, what
 *   it is for, the device and the day, so one device's plan never depends on another's and a
 *   day's plan never depends on where generation started.
 * - {@link unit} / {@link signed}: a stateless hash of (key, index), for the per-slot noise of
 *   readings, which must be random-access (the value at minute 1,234,567 without drawing the
 *   1,234,566 before it).
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

const TWO_32 = 4_294_967_296;

/** murmur3's 32-bit finaliser: every input bit flips about half of the output bits. */
function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a, 32 bits, over the UTF-16 code units of a string. */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Folds one integer (any safe integer, negative too) into a running 32-bit key. */
function fold(key: number, part: number): number {
  const low = part | 0;
  const high = Math.floor(part / TWO_32) | 0;
  return fmix32(fmix32(key ^ Math.imul(low, 0x9e3779b1)) ^ Math.imul(high, 0x85ebca77));
}

/**
 * A well-mixed 32-bit key from a seed and parts (strings such as a device id or a purpose,
 * integers such as a day index). Equal inputs give equal keys; any change gives an unrelated key.
 */
export function keyOf(seed: number, ...parts: ReadonlyArray<string | number>): number {
  let key = fold(0x2545f491, seed);
  for (const part of parts) key = fold(key, typeof part === 'string' ? hashText(part) : part);
  return key;
}

/** A uniform number in [0, 1) for (key, index): stateless, so any index is O(1). */
export function unit(key: number, index: number): number {
  return fold(key, index) / TWO_32;
}

/** A uniform number in [-1, 1) for (key, index). */
export function signed(key: number, index: number): number {
  return 2 * unit(key, index) - 1;
}

/**
 * A stream of random draws (pure-rand xoroshiro128+), for drawing one plan. Mutable: each call
 * advances the stream, so a plan is reproducible as long as it is drawn in the same order.
 */
export class Draw {
  readonly #rng: RandomGenerator;

  constructor(key: number) {
    this.#rng = xoroshiro128plus(key | 0);
    // xoroshiro128+'s first outputs echo its seed; skip them.
    for (let i = 0; i < 4; i++) this.#rng.next();
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.#rng);
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** A whole number in [min, max], both included. */
  int(min: number, max: number): number {
    return uniformInt(this.#rng, min, max);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element, uniformly. Throws on an empty list (a caller's bug). */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** One value, with probability proportional to its weight. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let x = this.float() * total;
    for (const [value, weight] of choices) {
      x -= weight;
      if (x < 0) return value;
    }
    const last = choices[choices.length - 1];
    if (!last) throw new RangeError('weighted pick from an empty list');
    return last[0];
  }
}

/** A {@link Draw} keyed by the seed and parts, as {@link keyOf}. */
export function drawFor(seed: number, ...parts: ReadonlyArray<string | number>): Draw {
  return new Draw(keyOf(seed, ...parts));
}
