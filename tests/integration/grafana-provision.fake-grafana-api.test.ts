/**
 * `facility grafana provision` as an operator runs it (a child process of bin/facility.js) against a
 * fake of Grafana's HTTP API (tests/setup/fake-grafana-api.ts: the endpoints it uses, in memory):
 * the first run creates the data source, the folder and the dashboards; a second run writes nothing
 * and says so; a dashboard edited in Grafana is refused without --force and replaced with it; a
 * facility change and a new InfluxDB token update what they touch; --dry-run writes nothing; a
 * wrong token, a Viewer's token, an unreachable URL, an unsupported Grafana and a missing token
 * each give their documented message and exit status; --out writes the files instead.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { verifySecret } from '../../core/facility/secret-hash.ts';
import { FakeGrafanaApi } from '../setup/fake-grafana-api.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN = 'glsa_admin_0123456789abcdef';
const VIEWER = 'glsa_viewer_0123456789abcdef';
const DASHBOARDS = ['energy', 'departments', 'fleet', 'rooms', 'platform'].map((n) => `cd-compound-${n}`);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function provision(grafana: string, env: Record<string, string> = {}, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/facility.js', 'grafana', 'provision', '--grafana-url', grafana, ...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          FACILITY_GRAFANA_TOKEN: ADMIN,
          FACILITY_INFLUX_URL: 'http://influxdb:8086',
          FACILITY_INFLUX_DATABASE: 'facility',
          FACILITY_INFLUX_TOKEN: 'influx-token-1',
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let fake: FakeGrafanaApi;
let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sfp-grafana-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});
beforeEach(async () => {
  fake = new FakeGrafanaApi({ adminToken: ADMIN, viewerToken: VIEWER });
  await fake.start();
  return () => fake.stop();
});

describe("facility grafana provision against a fake of Grafana's HTTP API", () => {
  it('creates everything on the first run; a second run changes nothing and says so', async () => {
    const first = await provision(fake.url);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Grafana 11.6.5');
    expect(first.stdout).toMatch(
      /created data source "智慧机关 InfluxDB \(cd-compound\)" \(uid cd-compound-influxdb\)/,
    );
    expect(first.stdout).toContain('created folder');
    expect(first.stdout.match(/created dashboard/g)?.length).toBe(DASHBOARDS.length);
    for (const uid of DASHBOARDS) expect(fake.dashboards.get(uid)?.folderUid, uid).toBe('cd-compound-folder');

    const source = fake.dataSources.get('cd-compound-influxdb');
    expect(source).toMatchObject({
      type: 'influxdb',
      url: 'http://influxdb:8086',
      access: 'proxy',
      jsonData: {
        version: 'InfluxQL',
        dbName: 'facility',
        httpMode: 'POST',
        httpHeaderName1: 'Authorization',
      },
      secureJsonData: { httpHeaderValue1: 'Token influx-token-1' },
    });
    const hash = String((source?.jsonData as Record<string, unknown> | undefined)?.facilitySecretHash);
    expect(await verifySecret('Token influx-token-1', hash)).toBe(true);
    const energy = fake.dashboards.get('cd-compound-energy')?.dashboard;
    expect(JSON.stringify(energy)).toContain('"uid":"cd-compound-influxdb"');

    const writes = fake.writes().length;
    const second = await provision(fake.url);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/nothing to change/);
    expect(fake.writes().length, 'writes of the second run').toBe(writes);
  }, 120_000);

  it('refuses to overwrite a dashboard changed in Grafana without --force, writing nothing; replaces it with --force', async () => {
    expect((await provision(fake.url)).code).toBe(0);
    fake.editDashboard('cd-compound-fleet', (d) => {
      (d.panels as Array<Record<string, unknown>>)[1] = {
        ...(d.panels as Array<Record<string, unknown>>)[1],
        title: '我改的标题',
      };
    });
    const writes = fake.writes().length;

    const refused = await provision(fake.url);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'dashboard "示例省级机关集中办公区 · 公务用车" (uid cd-compound-fleet) was changed in Grafana since it was provisioned: version 2, saved by operator',
    );
    expect(refused.stderr).toContain('refusing to overwrite changed dashboards; nothing was written');
    expect(refused.stderr).toContain('--force');
    expect(fake.writes().length).toBe(writes);

    const dry = await provision(fake.url, {}, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      'would update dashboard "示例省级机关集中办公区 · 公务用车" (uid cd-compound-fleet): content',
    );
    expect(fake.writes().length).toBe(writes);

    const forced = await provision(fake.url, {}, '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(
      'updated dashboard "示例省级机关集中办公区 · 公务用车" (uid cd-compound-fleet): content',
    );
    expect(
      fake
        .writes()
        .map((w) => w.path)
        .slice(writes),
    ).toEqual(['/api/dashboards/db']);
    expect(JSON.stringify(fake.dashboards.get('cd-compound-fleet')?.dashboard)).not.toContain('我改的标题');
    expect((await provision(fake.url)).stdout).toMatch(/nothing to change/);
  }, 120_000);

  it('refuses a dashboard of the same uid that it did not provision', async () => {
    await provision(fake.url);
    fake.editDashboard('cd-compound-rooms', (d) => {
      d.templating = { list: [] };
    });
    const run = await provision(fake.url);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      '(uid cd-compound-rooms) was not provisioned by facility (no facility_provisioned mark)',
    );
  }, 120_000);

  it('updates what a facility change or a new InfluxDB token touches, and only that; --dry-run first', async () => {
    await provision(fake.url);
    const demo = await readFile(DEMO_FACILITY_PATH, 'utf8');
    const grown = demo.replace(
      /^buildings:\n/m,
      'buildings:\n  - { id: b5, name: { zh: 5号楼, en: Building 5 }, use: office, ventilationClass: A, floorArea: 5000, floors: 6 }\n',
    );
    expect(grown).not.toBe(demo);
    const file = join(folder, 'grown.yaml');
    await writeFile(file, grown);
    const writes = fake.writes().length;

    const dry = await provision(
      fake.url,
      { FACILITY_FACILITY: file, FACILITY_INFLUX_TOKEN: 'influx-token-2' },
      '--dry-run',
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      'would update data source "智慧机关 InfluxDB (cd-compound)" (uid cd-compound-influxdb): secret',
    );
    expect(dry.stdout).toContain('would update dashboard "示例省级机关集中办公区 · 能耗总览"');
    expect(dry.stdout).toContain('dry run, nothing written');
    expect(fake.writes().length).toBe(writes);

    const run = await provision(fake.url, {
      FACILITY_FACILITY: file,
      FACILITY_INFLUX_TOKEN: 'influx-token-2',
    });
    expect(run.code).toBe(0);
    // A building changes the dashboards that show buildings (energy, rooms), not the fleet's.
    expect(run.stdout).toContain('updated dashboard "示例省级机关集中办公区 · 能耗总览"');
    expect(run.stdout).not.toContain('updated dashboard "示例省级机关集中办公区 · 公务用车"');
    expect(JSON.stringify(fake.dashboards.get('cd-compound-energy')?.dashboard)).toContain('5号楼 : b5');
    expect(fake.dataSources.get('cd-compound-influxdb')?.secureJsonData).toEqual({
      httpHeaderValue1: 'Token influx-token-2',
    });
    expect(
      (await provision(fake.url, { FACILITY_FACILITY: file, FACILITY_INFLUX_TOKEN: 'influx-token-2' }))
        .stdout,
    ).toMatch(/nothing to change/);
  }, 120_000);

  it('says what is wrong: a refused token (401), a Viewer token (403), an unreachable URL, an unsupported Grafana, no token', async () => {
    const unauthorized = await provision(fake.url, { FACILITY_GRAFANA_TOKEN: 'glsa_wrong' });
    expect(unauthorized.code).toBe(2);
    expect(unauthorized.stderr).toContain(
      `facility grafana provision: Grafana at ${fake.url} refused the token (401 Unauthorized): give a valid service-account token in --grafana-token / FACILITY_GRAFANA_TOKEN`,
    );

    const viewer = await provision(fake.url, { FACILITY_GRAFANA_TOKEN: VIEWER });
    expect(viewer.code).toBe(2);
    expect(viewer.stderr).toContain(
      'accepted the token but forbids POST /api/datasources (403 Forbidden): the service account needs the Admin role',
    );

    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const unreachable = await provision(`http://127.0.0.1:${port}`);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain(
      `facility grafana provision: cannot reach Grafana at http://127.0.0.1:${port} (ECONNREFUSED): check --grafana-url / FACILITY_GRAFANA_URL and that Grafana is running`,
    );

    fake.version = '10.4.2';
    const old = await provision(fake.url);
    expect(old.code).toBe(2);
    expect(old.stderr).toContain(
      `Grafana 10.4.2 at ${fake.url} is not supported: the dashboards and API calls are made for Grafana 11.x to 12.x`,
    );

    const noToken = await provision(fake.url, { FACILITY_GRAFANA_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain(
      '--grafana-token / FACILITY_GRAFANA_TOKEN: a Grafana service-account token is needed',
    );
    expect(fake.dataSources.size + fake.folders.size + fake.dashboards.size, 'nothing written').toBe(0);
  }, 120_000);

  it('writes the files of Grafana file provisioning with --out, without a Grafana or a token', async () => {
    const out = join(folder, 'provisioning');
    const run = await provision('http://127.0.0.1:1', { FACILITY_GRAFANA_TOKEN: '' }, '--out', out);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await readdir(join(out, 'dashboards', 'cd-compound'))).sort()).toEqual(
      DASHBOARDS.map((u) => `${u}.json`).sort(),
    );
    const sources = await readFile(join(out, 'datasources', 'cd-compound.yaml'), 'utf8');
    expect(sources).toContain('Token $FACILITY_INFLUX_TOKEN');
    expect(sources).not.toContain('influx-token-1');
    const energy = JSON.parse(
      await readFile(join(out, 'dashboards', 'cd-compound', 'cd-compound-energy.json'), 'utf8'),
    );
    expect(energy.uid).toBe('cd-compound-energy');
  }, 120_000);
});
