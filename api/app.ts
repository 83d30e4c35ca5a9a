/**
 * The HTTP API (fastify). `buildApp(deps)` returns the app without listening; `main` listens;
 * tests call `app.inject()` (fastify docs/Guides/Testing.md).
 *
 * For now: health, ingest counters and Prometheus metrics. The efficiency routes, auth and
 * OpenAPI arrive with the issue "Efficiency engine and API".
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** What the API reads from the running platform. Plain functions, so any part can provide them. */
export interface ApiDeps {
  readonly version: string;
  /** Name of the time-series store, e.g. `duckdb` or `influxdb 1.6.7`. */
  readonly storeName: string;
  /** The ingest's counters (see ingest/metrics.ts), or undefined when no ingest runs here. */
  readonly ingestStats?: () => unknown;
  /** Prometheus text exposition of every registry of this process. */
  readonly metrics?: () => Promise<string>;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** Build the fastify app; the caller listens (or injects). */
export function buildApp(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance = deps.logger
    ? (Fastify({ loggerInstance: deps.logger }) as unknown as FastifyInstance)
    : Fastify({ logger: false });
  const started = (deps.now ?? Date.now)();

  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const code = (error as { code?: string }).code ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
    if (status >= 500) app.log.error({ err: error }, 'request failed');
    const message = status >= 500 ? 'internal error' : (error as Error).message;
    void reply.status(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });

  app.get(
    '/api/v1/health',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              version: { type: 'string' },
              store: { type: 'string' },
              uptimeSeconds: { type: 'number' },
            },
          },
        },
      },
    },
    async () => ({
      status: 'ok',
      version: deps.version,
      store: deps.storeName,
      uptimeSeconds: Math.round(((deps.now ?? Date.now)() - started) / 1000),
    }),
  );

  const { ingestStats, metrics } = deps;
  if (ingestStats) {
    app.get('/api/v1/ingest/stats', async () => ingestStats());
  }
  if (metrics) {
    app.get('/metrics', async (_request, reply) => {
      void reply.type('text/plain; version=0.0.4; charset=utf-8');
      return metrics();
    });
  }
  return app;
}
