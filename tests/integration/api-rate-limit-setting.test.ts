/**
 * `--api-rate-limit` (FACILITY_API_RATE_LIMIT) as `facility start` and `facility api` build the
 * API from it (cli/parts.ts): N requests a minute per client address, then 429; 0, no limit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../cli/parts.ts';
import { parseConfig } from '../../core/config.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { demoFacility } from '../setup/wait.ts';

const TOKEN = 'admin-token-for-the-rate-limit-setting';
let folder: string;
let store: DuckDbStore;
let deadLetters: DuckDbDeadLetterSink;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sfp-rate-limit-'));
  store = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  await store.start();
  deadLetters = new DuckDbDeadLetterSink({ database: store });
  await deadLetters.start();
});

afterAll(async () => {
  await deadLetters.stop();
  await store.stop();
  await rm(folder, { recursive: true, force: true });
});

/** Statuses of `n` requests in a row to a started API with the given environment. */
async function statuses(env: Record<string, string>, n: number): Promise<number[]> {
  const config = parseConfig({ data: folder, httpPort: 0 }, env);
  const api = createApiServer(config, demoFacility(), {
    store,
    deadLetters,
    adminToken: TOKEN,
    logger: pino({ level: 'silent' }),
  });
  await api.start();
  try {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const response = await fetch(`http://127.0.0.1:${api.port}/api/v1/facility`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await response.arrayBuffer();
      out.push(response.status);
    }
    return out;
  } finally {
    await api.stop();
  }
}

describe('the API rate limit setting', () => {
  it('answers 429 past the given requests a minute', async () => {
    expect(await statuses({ FACILITY_API_RATE_LIMIT: '5' }, 7)).toEqual([200, 200, 200, 200, 200, 429, 429]);
  });

  it('has no limit at 0', async () => {
    const answered = await statuses({ FACILITY_API_RATE_LIMIT: '0' }, 700);
    expect(answered.filter((s) => s !== 200)).toEqual([]);
  });

  it('refuses a negative limit, naming the flag and the variable', () => {
    expect(() => parseConfig({}, { FACILITY_API_RATE_LIMIT: '-1' })).toThrow(
      /--api-rate-limit.*FACILITY_API_RATE_LIMIT|FACILITY_API_RATE_LIMIT.*--api-rate-limit/s,
    );
  });
});
