/**
 * A DuckDB file of app state of its own (`DATA/state.duckdb`), for when the store is not DuckDB
 * (InfluxDB): the dead-letter table and the management tables share it through one handle, since
 * DuckDB lets one process open a file once. Opens on `start()` (or the first task), closes on
 * `stop()`; both idempotent. One task at a time on one connection.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { StoreError } from '../../core/store.ts';
import type { DuckDbAccess } from './dead-letter.ts';

export class DuckDbStateFile implements DuckDbAccess {
  readonly path: string;
  #open: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = resolve(path);
  }

  async start(): Promise<void> {
    await this.#opened();
  }

  async stop(): Promise<void> {
    const opening = this.#open;
    if (!opening) return;
    this.#open = undefined;
    await this.#tail.catch(() => undefined);
    const opened = await opening.catch(() => undefined);
    if (!opened) return;
    opened.connection.closeSync();
    opened.instance.closeSync();
  }

  exclusive<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.#tail.then(async () => task((await this.#opened()).connection));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  read<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.exclusive(task);
  }

  #opened(): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
    if (!this.#open) {
      const opening = openFile(this.path);
      this.#open = opening;
      opening.catch(() => {
        if (this.#open === opening) this.#open = undefined;
      });
    }
    return this.#open;
  }
}

async function openFile(file: string): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
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
