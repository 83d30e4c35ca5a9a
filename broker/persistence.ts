/**
 * Where the broker keeps QoS 1/2 sessions, subscriptions, retained messages and wills, and how
 * messages travel between brokers: aedes' persistence and emitter, chosen by configuration.
 *
 * * `level` (default): LevelDB in the data folder (aedes-persistence-level); a subscriber that
 *   is away keeps its backlog across broker restarts.
 * * `memory`: aedes' in-memory persistence; lost on restart. For tests and throw-away runs.
 * * `redis`: aedes-persistence-redis, with mqemitter-redis as the emitter, so that several
 *   brokers behind a load balancer share sessions and deliver each other's messages.
 *
 * The Redis packages are loaded only when chosen.
 */
import type { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Where sessions are kept. */
export type BrokerPersistence =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'level';
      /** Folder of the LevelDB database; created if missing. */
      readonly dir: string;
    }
  | {
      readonly kind: 'redis';
      /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
      readonly url: string;
    };

/** How messages travel between brokers. `memory` is one process; `redis` shares them across brokers. */
export type BrokerEmitter = { readonly kind: 'memory' } | { readonly kind: 'redis'; readonly url: string };

/** An opened persistence: the object aedes takes (undefined: aedes' own in-memory one). */
export interface OpenedPersistence {
  readonly instance: object | undefined;
  /** Closes the database or connections; call after aedes closed. */
  close(): Promise<void>;
  /** For logs: `level /var/lib/facility/mqtt`, `memory`, `redis host:6379`. */
  readonly description: string;
}

/** An opened emitter (undefined: aedes' own in-memory one). */
export interface OpenedEmitter {
  readonly instance: object | undefined;
  readonly description: string;
}

/** Opens the chosen persistence. */
export async function openPersistence(choice: BrokerPersistence): Promise<OpenedPersistence> {
  switch (choice.kind) {
    case 'memory':
      return { instance: undefined, close: async () => {}, description: 'memory' };
    case 'level': {
      const dir = resolve(choice.dir);
      await mkdir(dir, { recursive: true });
      const [{ Level }, { default: aedesPersistenceLevel }] = await Promise.all([
        import('level'),
        import('aedes-persistence-level'),
      ]);
      const persistence = aedesPersistenceLevel(new Level(dir));
      return { instance: persistence, close: () => persistence.destroy(), description: `level ${dir}` };
    }
    case 'redis': {
      const options = redisOptions(choice.url);
      const { default: aedesPersistenceRedis } = await import('aedes-persistence-redis');
      const persistence = aedesPersistenceRedis({
        ...options,
        // A client's stored QoS 1 messages are handed out when it connects, by default only the
        // first 1,001 (LRANGE 0 1000); the rest would wait for its next reconnection. -1: all.
        maxSessionDelivery: -1,
      });
      return {
        instance: persistence,
        close: () => persistence.destroy(),
        description: `redis ${options.host}:${options.port}`,
      };
    }
  }
}

/**
 * Opens the chosen emitter. `concurrency` is aedes' option of the same name; `onError` hears the
 * Redis connections' errors (ioredis reconnects by itself), which mqemitter-redis would otherwise
 * raise as an unhandled 'error' event and so end the process.
 */
export async function openEmitter(
  choice: BrokerEmitter,
  concurrency: number,
  onError: (error: Error) => void = () => {},
): Promise<OpenedEmitter> {
  if (choice.kind === 'memory') return { instance: undefined, description: 'memory' };
  const options = redisOptions(choice.url);
  const { default: mqemitterRedis } = await import('mqemitter-redis');
  const instance = mqemitterRedis({
    ...options,
    // ioredis 5 may send its ready check (INFO) after the SUBSCRIBE of a connection that subscribes
    // while it connects; Redis refuses it on a subscriber connection and ioredis makes that a fatal
    // error (redis/ioredis#2037, fixed in ioredis 6). Seen here as the second of two brokers on one
    // Redis dying at start-up. Neither check is needed: a Redis still loading answers LOADING to the
    // commands themselves.
    enableReadyCheck: false,
    disableClientInfo: true,
    concurrency,
    // As aedes' default emitter, which cites [MQTT-4.7.1-3] for it: empty topic levels match `+`.
    matchEmptyLevels: true,
  });
  (instance as unknown as { state: EventEmitter }).state.on('error', onError);
  return { instance, description: `redis ${options.host}:${options.port}` };
}

/** ioredis connection options from a `redis://` or `rediss://` URL. */
export function redisOptions(url: string): {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: object;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a Redis URL: "${url}" (expected redis://host:port/db)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`not a Redis URL: "${url}" (expected redis:// or rediss://)`);
  }
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error(`Redis URL "${url}": database must be a number`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
