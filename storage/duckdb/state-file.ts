/**
 * The app-state DuckDB file beside InfluxDB (`{data}/state.duckdb`): one open database shared by
 * the modules that keep app state in it (the dead-letter table, the corrections' audit, the cost
 * ledger and its audit, the feedback, alerts), since a second instance
 * on the same file in one process would open it again and corrupt it. With the DuckDB store the
 * app state lives in the store's own file instead (`DuckDbStore` offers the same access).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { StoreError } from '../../core/store.ts';
import type { DuckDbAccess } from './dead-letter.ts';

/** One DuckDB file, one connection, one task at a time. `start()` and `stop()` are idempotent. */
export class DuckDbStateFile implements DuckDbAccess {
  readonly name = 'duckdb';
  readonly #path: string;
  #opening: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: { readonly path: string }) {
    this.#path = resolve(options.path);
  }

  async start(): Promise<void> {
    if (!this.#opening) {
      const opening = open(this.#path);
      this.#opening = opening;
      opening.catch(() => {
        if (this.#opening === opening) this.#opening = undefined;
      });
    }
    await this.#opening;
  }

  async stop(): Promise<void> {
    const opening = this.#opening;
    if (!opening) return;
    this.#opening = undefined;
    const database = await opening.catch(() => undefined);
    await this.#tail.catch(() => undefined);
    database?.connection.closeSync();
    database?.instance.closeSync();
  }

  exclusive<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const opening = this.#opening;
    if (!opening) {
      return Promise.reject(
        new StoreError(`the state file ${this.#path} is not open`, { code: 'NOT_STARTED', retriable: false }),
      );
    }
    const run = this.#tail.then(async () => task((await opening).connection));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  read<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.exclusive(task);
  }
}

async function open(file: string): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  try {
    await mkdir(dirname(file), { recursive: true });
    const instance = await DuckDBInstance.create(file, {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    try {
      return { instance, connection: await instance.connect() };
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const locked = /lock/i.test(text);
    throw new StoreError(`cannot open DuckDB file "${file}": ${text}`, {
      code: locked ? 'STORE_LOCKED' : 'STORE_OPEN_FAILED',
      retriable: locked,
      cause: error,
    });
  }
}
