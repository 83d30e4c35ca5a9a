/**
 * Per-device publish rate limit: one token bucket per device id.
 */

/** A publish rate: a sustained rate and the burst a device may send above it. */
export interface RateLimit {
  /** Tokens added per second: the sustained messages per second. */
  readonly perSecond: number;
  /** Bucket size: how many messages may arrive at once after a quiet spell. */
  readonly burst: number;
}

/**
 * Token buckets keyed by device id. Buckets outlive connections, so reconnecting does not
 * refill one; they are bounded by the number of devices in the facility file.
 */
export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** @param now Clock, epoch ms. */
  constructor(limit: RateLimit, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string): boolean {
    const now = this.#now();
    const { perSecond, burst } = this.#limit;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: burst, at: now };
      this.#buckets.set(key, bucket);
    } else if (now > bucket.at) {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
