/**
 * The socket.io Redis adapter of a scaled deployment (@socket.io/redis-adapter over ioredis): alert
 * changes made in one `facility api` process reach the live page's clients of every process. Two
 * connections, one to publish and one to subscribe.
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

export class SocketIoRedis {
  readonly #url: string;
  #pub: Redis | undefined;
  #sub: Redis | undefined;

  constructor(options: { readonly url: string }) {
    this.#url = options.url;
  }

  /** The adapter factory for socket.io's `adapter` option; after `start()`. */
  get adapter(): ReturnType<typeof createAdapter> {
    if (!this.#pub || !this.#sub) throw new Error('the socket.io Redis adapter is not started');
    return createAdapter(this.#pub, this.#sub, { key: 'sfp-live' });
  }

  async start(): Promise<void> {
    if (this.#pub) return;
    const pub = new Redis(this.#url, { lazyConnect: true });
    // A subscriber connection must not send ioredis' ready check (INFO) after SUBSCRIBE
    // (redis/ioredis#2037; broker/persistence.ts has the same).
    const sub = new Redis(this.#url, { lazyConnect: true, enableReadyCheck: false });
    for (const client of [pub, sub]) client.on('error', () => undefined);
    try {
      await pub.connect();
      await sub.connect();
    } catch (error) {
      pub.disconnect();
      sub.disconnect();
      throw new Error(`cannot reach Redis at ${this.#url} for the live feed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#pub = pub;
    this.#sub = sub;
  }

  async stop(): Promise<void> {
    for (const client of [this.#pub, this.#sub]) await client?.quit().catch(() => client.disconnect());
    this.#pub = undefined;
    this.#sub = undefined;
  }
}
