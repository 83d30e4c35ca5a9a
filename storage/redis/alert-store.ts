/**
 * The {@link AlertStore} in Redis, for several `facility api` processes that must answer from the
 * same alerts (the scaled shape: docs/architecture.md, "Alerts when scaled out"). Keys, under
 * `sfp:{site}:`:
 *
 * - `alert:{id}` — the alert's JSON;
 * - `alerts` — sorted set of alert ids by `firedAt` (newest first when listed);
 * - `open` — hash: open key (rule, subject) → id of the open alert;
 * - `rules` — the rules saved through the API (JSON);
 * - `deliveries` — list of delivery JSONs, newest first, trimmed to `maxDeliveries`; `delivery-id`.
 *
 * Opening is one Lua script (HSETNX on `open`, then the alert): atomic, so two engines or two
 * messages cannot open two alerts for one rule and subject. A change is optimistic (WATCH the alert,
 * MULTI/EXEC, tried again when another process changed it in between). Durable as Redis is set to be:
 * run it with `appendonly yes` (docker-compose.yml does).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { type Alert, openKey } from '../../core/alerts/alert.ts';
import {
  type AlertQuery,
  type AlertStore,
  byNewest,
  type Delivery,
  matches,
  type NewDelivery,
  type SavedRules,
} from '../../core/alerts/store.ts';
import { StoreError } from '../../core/store.ts';

export interface RedisAlertStoreOptions {
  /** `redis://host:port/db` (or `rediss://`). */
  readonly url: string;
  /** Site id: keys are `sfp:{site}:…`. */
  readonly site: string;
  readonly maxDeliveries?: number;
  /** More ioredis options (tests). */
  readonly redis?: RedisOptions;
}

/** KEYS: open hash, alert key, alerts zset. ARGV: open key, id, json, firedAt. */
const OPEN_SCRIPT = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  return {0, redis.call('GET', ARGV[5] .. existing)}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
return {1, ARGV[3]}
`;

const CHUNK = 500;

export class RedisAlertStore implements AlertStore {
  readonly name = 'redis';
  readonly #options: RedisAlertStoreOptions;
  readonly #prefix: string;
  readonly #maxDeliveries: number;
  #redis: Redis | undefined;
  /** WATCH belongs to the connection: this process's updates go one at a time. */
  #updates: Promise<unknown> = Promise.resolve();

  constructor(options: RedisAlertStoreOptions) {
    this.#options = options;
    this.#prefix = `sfp:${options.site}:`;
    this.#maxDeliveries = options.maxDeliveries ?? 10_000;
  }

  async start(): Promise<void> {
    if (this.#redis) return;
    const redis = new Redis(this.#options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 3,
      ...this.#options.redis,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw storeError('ALERT_STORE_OPEN_FAILED', `cannot reach Redis at ${this.#options.url}`, error);
    }
    this.#redis = redis;
  }

  async stop(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    if (redis) await redis.quit().catch(() => redis.disconnect());
  }

  #key(name: string): string {
    return `${this.#prefix}${name}`;
  }

  #client(): Redis {
    if (!this.#redis)
      throw new StoreError('the Redis alert store is not started', { code: 'NOT_STARTED', retriable: false });
    return this.#redis;
  }

  async openAlert(alert: Alert): Promise<{ alert: Alert; created: boolean }> {
    const redis = this.#client();
    const json = JSON.stringify(alert);
    const [created, stored] = (await redis
      .eval(
        OPEN_SCRIPT,
        3,
        this.#key('open'),
        this.#key(`alert:${alert.id}`),
        this.#key('alerts'),
        openKey(alert.rule, alert.subject),
        alert.id,
        json,
        String(alert.firedAt),
        this.#key('alert:'),
      )
      .catch((error: unknown) => {
        throw storeError('ALERT_STORE_WRITE_FAILED', 'opening an alert in Redis failed', error);
      })) as [number, string];
    return { alert: JSON.parse(stored) as Alert, created: created === 1 };
  }

  update(id: string, change: (alert: Alert) => Alert): Promise<Alert | undefined> {
    const run = this.#updates.then(() => this.#update(id, change));
    this.#updates = run.catch(() => undefined);
    return run;
  }

  async #update(id: string, change: (alert: Alert) => Alert): Promise<Alert | undefined> {
    const redis = this.#client();
    const key = this.#key(`alert:${id}`);
    for (let attempt = 0; attempt < 20; attempt++) {
      await redis.watch(key);
      const text = await redis.get(key);
      if (text === null) {
        await redis.unwatch();
        return undefined;
      }
      let next: Alert;
      try {
        next = change(JSON.parse(text) as Alert);
      } catch (error) {
        await redis.unwatch();
        throw error;
      }
      const multi = redis.multi().set(key, JSON.stringify(next));
      if (next.state === 'resolved') multi.hdel(this.#key('open'), openKey(next.rule, next.subject));
      const done = await multi.exec();
      if (done !== null) return next;
    }
    throw new StoreError(`alert ${id} kept changing under this update; try again`, {
      code: 'ALERT_STORE_CONFLICT',
      retriable: true,
    });
  }

  async get(id: string): Promise<Alert | undefined> {
    const text = await this.#client().get(this.#key(`alert:${id}`));
    return text === null ? undefined : (JSON.parse(text) as Alert);
  }

  async openAlerts(): Promise<Alert[]> {
    const redis = this.#client();
    const ids = await redis.hvals(this.#key('open'));
    return (await this.#many(ids)).sort(byNewest);
  }

  async list(query: AlertQuery): Promise<Alert[]> {
    const redis = this.#client();
    const out: Alert[] = [];
    const max = query.to === undefined ? '+inf' : `(${query.to}`;
    for (let offset = 0; out.length < query.limit; offset += CHUNK) {
      const ids = await redis.zrevrangebyscore(this.#key('alerts'), max, '-inf', 'LIMIT', offset, CHUNK);
      if (ids.length === 0) break;
      for (const alert of await this.#many(ids)) {
        if (matches(alert, query)) out.push(alert);
        if (out.length >= query.limit) break;
      }
      if (ids.length < CHUNK) break;
    }
    return out.sort(byNewest);
  }

  async #many(ids: readonly string[]): Promise<Alert[]> {
    if (ids.length === 0) return [];
    const texts = await this.#client().mget(ids.map((id) => this.#key(`alert:${id}`)));
    return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as Alert]));
  }

  async loadRules(): Promise<SavedRules | undefined> {
    const text = await this.#client().get(this.#key('rules'));
    return text === null ? undefined : (JSON.parse(text) as SavedRules);
  }

  async saveRules(rules: SavedRules): Promise<void> {
    await this.#client().set(this.#key('rules'), JSON.stringify(rules));
  }

  async clearRules(): Promise<void> {
    await this.#client().del(this.#key('rules'));
  }

  async addDelivery(delivery: NewDelivery): Promise<void> {
    const redis = this.#client();
    const id = await redis.incr(this.#key('delivery-id'));
    await redis
      .multi()
      .lpush(this.#key('deliveries'), JSON.stringify({ id, ...delivery }))
      .ltrim(this.#key('deliveries'), 0, this.#maxDeliveries - 1)
      .exec();
  }

  async deliveries(query: { readonly alert?: string; readonly limit: number }): Promise<Delivery[]> {
    const texts = await this.#client().lrange(this.#key('deliveries'), 0, -1);
    const all = texts.map((text) => JSON.parse(text) as Delivery);
    return (query.alert === undefined ? all : all.filter((d) => d.alert === query.alert)).slice(
      0,
      query.limit,
    );
  }
}

function storeError(code: string, context: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const text = error instanceof Error ? error.message : String(error);
  return new StoreError(`${context}: ${text}`, { code, retriable: true, cause: error });
}
