// Type declarations for the aedes persistence packages, which ship none. Only what
// persistence.ts uses is declared; aedes itself types its `persistence` option as `any`.

declare module 'aedes-persistence-level' {
  /** An aedes persistence (callback and promise API) over a `level` database. */
  export default function aedesPersistenceLevel(db: object): { destroy(): Promise<void> };
}

declare module 'aedes-persistence-redis' {
  /** An aedes persistence over Redis; takes ioredis options and opens two connections. */
  export default function aedesPersistenceRedis(options?: {
    host?: string;
    port?: number;
    username?: string;
    password?: string;
    db?: number;
    tls?: object;
    maxSessionDelivery?: number;
  }): { destroy(): Promise<void> };
}
