/**
 * The InfluxDB 1.x retention and downsampling statements the README gives for a year of 1-minute
 * meter data (deploy/influxdb/influxdb1-retention.iql), run as they are against the real influxd
 * of the test run: the retention policies take, the continuous query is accepted, and its query,
 * run over three hours of minute readings written through the platform's store, gives the hourly
 * figures worked out by hand. The README shows the same statements.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import type { Point } from '../../core/store.ts';
import { InfluxStore } from '../../storage/influx/influx-store.ts';

const url = inject('influxUrl');
const FILE = readFileSync(new URL('../../deploy/influxdb/influxdb1-retention.iql', import.meta.url), 'utf8');
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const HOUR = 3_600_000;
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 2, 0, 0, 0);

interface QueryResult {
  results: Array<{
    error?: string;
    series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
  }>;
}

async function influxql(q: string, db?: string): Promise<QueryResult> {
  const response = await fetch(`${url}/query${db ? `?db=${db}` : ''}`, {
    method: 'POST',
    body: new URLSearchParams({ q }),
  });
  if (!response.ok) throw new Error(`${q}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as QueryResult;
}

/** The file's statements (comments dropped), for the database `database`. */
function statements(database: string): string[] {
  return FILE.split('\n')
    .filter((line) => !line.startsWith('--') && line.trim() !== '')
    .map((line) => line.replaceAll('"facility"', `"${database}"`).replace(/;$/, ''));
}

describe('InfluxDB 1.x retention and downsampling (deploy/influxdb/influxdb1-retention.iql)', () => {
  it('sets the retention policies, takes the continuous query, and downsamples minute readings to hours', async () => {
    const database = `retention_${randomUUID().replaceAll('-', '')}`;
    await influxql(`CREATE DATABASE "${database}"`);
    onTestFinished(() => influxql(`DROP DATABASE "${database}"`).then(() => undefined));

    // The whole file in one request, comments and all, as `influx` would run it.
    const run = await influxql(FILE.replaceAll('"facility"', `"${database}"`));
    expect(run.results.map((result) => result.error)).toEqual([undefined, undefined, undefined]);

    const policies = await influxql(`SHOW RETENTION POLICIES ON "${database}"`);
    expect(policies.results[0]?.series?.[0]?.values).toEqual([
      ['autogen', '19200h0m0s', '168h0m0s', 1, true],
      ['hourly', '0s', '8736h0m0s', 1, false],
    ]);
    const queries = await influxql('SHOW CONTINUOUS QUERIES');
    const ours = queries.results[0]?.series?.find((series) => series.name === database);
    expect(ours?.values.map((row) => row[0])).toEqual(['meter_hourly']);

    // Three hours of minute readings from two meters, through the platform's store: m1's
    // register grows 0.5 a minute from 100 with power 0…59 kW over each hour; m2's 1 a minute from
    // 7 at a steady 2 kW.
    const store = new InfluxStore({ url, database });
    onTestFinished(() => store.stop());
    await store.start();
    const points: Point[] = [];
    for (let i = 0; i < 180; i++) {
      const time = T0 + i * MINUTE;
      const tags = { site: 's', kind: 'electricity', building: 'b1', system: 'total' };
      points.push({
        measurement: 'meter',
        tags: { ...tags, meter: 'm1' },
        fields: { total: 100 + 0.5 * i, power: i % 60 },
        time,
      });
      points.push({
        measurement: 'meter',
        tags: { ...tags, meter: 'm2' },
        fields: { total: 7 + i, power: 2 },
        time,
      });
    }
    await store.write(points);

    // The continuous query's own SELECT … INTO, over the three hours (how existing data is downsampled).
    const select = /BEGIN (SELECT .*) GROUP BY (.*) END$/.exec(statements(database)[2] as string);
    expect(select).not.toBeNull();
    const into = await influxql(
      `${select?.[1]} WHERE time >= ${T0 * 1e6} AND time < ${(T0 + 3 * HOUR) * 1e6} GROUP BY ${select?.[2]}`,
      database,
    );
    expect(into.results[0]?.error).toBeUndefined();

    const hourly = await influxql(
      `SELECT "total", "power_mean", "power_max" FROM "${database}"."hourly"."meter_hourly" GROUP BY "meter"`,
      database,
    );
    const rows = Object.fromEntries(
      (hourly.results[0]?.series ?? []).map((series) => [series.tags?.meter, series.values]),
    );
    const iso = (hour: number) => new Date(T0 + hour * HOUR).toISOString().replace('.000', '');
    expect(rows).toEqual({
      // Last reading of each hour: minute 59, 119, 179.
      m1: [0, 1, 2].map((h) => [iso(h), 100 + 0.5 * (60 * h + 59), 29.5, 59]),
      m2: [0, 1, 2].map((h) => [iso(h), 7 + 60 * h + 59, 2, 2]),
    });
  });

  it('is what the README shows', () => {
    for (const statement of statements('facility')) expect(README).toContain(statement);
  });
});
