/**
 * A worker's small HTTP server (`--metrics-port`): `GET /metrics`, the Prometheus text of its
 * counters, and `GET /health`, a JSON figure that is 200 while the worker's ingest is connected
 * to the broker and 503 when it is not — for Prometheus, a container health check, or a person
 * with curl. Nothing else, and nothing secret.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options of {@link WorkerHttpServer}. */
export interface WorkerHttpOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The Prometheus text exposition. */
  readonly metrics: () => Promise<string>;
  /** The health figure; `ok` false answers 503. */
  readonly health: () => { readonly ok: boolean; readonly body: object };
}

/** The Prometheus text format's content type (version 0.0.4). */
const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** See the module comment. `start()` and `stop()` are idempotent. */
export class WorkerHttpServer {
  readonly #options: WorkerHttpOptions;
  #server: Server | undefined;

  constructor(options: WorkerHttpOptions) {
    this.#options = options;
  }

  /** The bound port, once started. */
  get port(): number | undefined {
    return (this.#server?.address() as AddressInfo | null | undefined)?.port;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
        return;
      }
      if (path === '/metrics') {
        this.#options.metrics().then(
          (text) => response.writeHead(200, { 'content-type': PROMETHEUS_TYPE }).end(text),
          (error: unknown) =>
            response
              .writeHead(500, { 'content-type': 'text/plain' })
              .end(`metrics failed: ${String(error)}\n`),
        );
        return;
      }
      if (path === '/health') {
        const { ok, body } = this.#options.health();
        response
          .writeHead(ok ? 200 : 503, {
            'content-type': 'application/json; charset=utf-8',
            'cache-control': 'no-store',
          })
          .end(`${JSON.stringify(body)}\n`);
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics or /health\n');
    });
    server.listen(this.#options.port, this.#options.host);
    await once(server, 'listening');
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
