/**
 * `npm run bench:api-load` — the API under operators' load, on the product as a new user runs it:
 *
 * * `facility start` as a child process on a fresh data folder, with its default 30 days of demo
 *   history (seed fixed) and the simulators streaming live into it, its clock fixed at Thursday
 *   2026-11-26 10:00 (UTC+8) by a preload (bench/fixed-clock.mjs) and running on from there, so
 *   the history and "today" are the same on any day; API rate limit off (`--api-rate-limit 0`);
 * * the six requests of a live panel in rotation (site today, buildings this week, departments
 *   last month, vehicles this week, rooms this week, the site's 15-minute series for two days),
 *   over HTTP with an admin token, by autocannon:
 *   - reference, measured in the same run: 20 clients asking `GET /api/v1/health`, what the server
 *     answers when a request costs nothing;
 *   - one client, the six in turn;
 *   - 20 clients at once, the six in rotation;
 * * per phase: requests/s, p50, p99 latency, errors (anything not 200), how the answers came
 *   (`x-cache`: computed, kept, or shared with an identical request in flight), and the
 *   process's event-loop delay p99 during the phase (`nodejs_eventloop_lag_p99_seconds`), with the
 *   readings the ingest stored meanwhile.
 *
 * Aims (issue "Live speed"): 20 clients ≥ 200 requests/s with p99 < 300 ms; one client p50 < 20 ms.
 * `--seconds` per phase (default 20), `--docs` rewrites the figures in docs/benchmarks.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { writeDocs } from './report.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '20' },
  },
});
const SECONDS = Number(args.seconds);
if (!(Number.isInteger(SECONDS) && SECONDS >= 2))
  throw new Error('--seconds must be a whole number of at least 2');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLOCK = '2026-11-26T10:00:00+08:00';
const TOKEN = 'bench-load-admin-token-0123456789';
const PANEL = [
  ['site today', '/api/v1/energy/summary?from=2026-11-26&to=2026-11-27&groupBy=site'],
  ['buildings this week', '/api/v1/energy/summary?from=2026-11-23&to=2026-11-30&groupBy=building'],
  ['departments last month', '/api/v1/energy/summary?from=2026-10-01&to=2026-11-01&groupBy=department'],
  ['vehicles this week', '/api/v1/vehicles/utilization?from=2026-11-23&to=2026-11-30'],
  ['rooms this week', '/api/v1/rooms/utilization?from=2026-11-23&to=2026-11-30'],
  [
    'site 15-minute series, two days',
    '/api/v1/energy/series?scope=site&every=15m&from=2026-11-25&to=2026-11-27',
  ],
] as const;

const data = await mkdtemp(join(tmpdir(), 'sfp-bench-load-'));
let child: ChildProcess | undefined;
const stop = async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  await rm(data, { recursive: true, force: true });
};
process.on('SIGINT', () => void stop().then(() => process.exit(130)));

try {
  process.stderr.write(`facility start with 30 days of history, clock at ${CLOCK} …\n`);
  const t0 = performance.now();
  child = spawn(
    process.execPath,
    [
      '--import',
      join(ROOT, 'bench/fixed-clock.mjs'),
      'bin/facility.js',
      'start',
      '--data',
      data,
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--api-rate-limit',
      '0',
      '--log-level',
      'warn',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, SFP_CLOCK: CLOCK, FACILITY_ADMIN_TOKEN: TOKEN, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  let api: string | undefined;
  while (!api) {
    if (child.exitCode !== null) throw new Error(`facility start exited ${child.exitCode}\n${output}`);
    if (performance.now() - t0 > 15 * 60_000)
      throw new Error(`facility start did not start in 15 minutes\n${output}`);
    api = /API\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\b/.exec(output)?.[1];
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const startedIn = (performance.now() - t0) / 1000;
  process.stderr.write(`listening after ${startedIn.toFixed(0)} s at ${api}\n`);
  const headers = { authorization: `Bearer ${TOKEN}` };

  const get = async (path: string) => {
    const response = await fetch(`${api}${path}`, { headers });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${body.slice(0, 300)}`);
    return body;
  };
  const metric = async (name: string) => {
    const line = (await get('/metrics')).split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : Number.NaN;
  };
  const stored = async () => {
    const stats = JSON.parse(await get('/api/v1/ingest/stats')) as { points?: { stored?: number } };
    return stats.points?.stored ?? 0;
  };
  // Warm-up: each request once, and the live readings flowing.
  for (const [, path] of PANEL) await get(path);

  interface Phase {
    readonly name: string;
    readonly connections: number;
    readonly paths: readonly string[];
  }
  const phases: Phase[] = [
    { name: 'reference: `GET /api/v1/health`, 20 clients', connections: 20, paths: ['/api/v1/health'] },
    { name: 'the six panel requests, 1 client', connections: 1, paths: PANEL.map(([, p]) => p) },
    { name: 'the six panel requests, 20 clients', connections: 20, paths: PANEL.map(([, p]) => p) },
  ];
  const rows: string[] = [];
  const results: { phase: Phase; rps: number; p50: number; p99: number }[] = [];
  for (const phase of phases) {
    const how: Record<string, number> = {};
    const storedBefore = await stored();
    const result = await autocannon({
      url: api,
      connections: phase.connections,
      duration: SECONDS,
      headers,
      requests: phase.paths.map((path) => ({
        method: 'GET' as const,
        path,
        onResponse: (
          _status: number,
          _body: string,
          _context: object,
          responseHeaders?: IncomingHttpHeaders,
        ) => {
          const cache = String(responseHeaders?.['x-cache'] ?? 'none');
          how[cache] = (how[cache] ?? 0) + 1;
        },
      })),
    });
    const lag = await metric('nodejs_eventloop_lag_p99_seconds');
    const storedDuring = (await stored()) - storedBefore;
    const answered = result.requests.total;
    const errors = result.errors + result.non2xx + result.timeouts;
    const rps = answered / (result.duration || SECONDS);
    const cacheText = Object.entries(how)
      .sort()
      .map(([k, v]) => `${k} ${((100 * v) / Math.max(1, answered)).toFixed(0)} %`)
      .join(', ');
    results.push({ phase, rps, p50: result.latency.p50, p99: result.latency.p99 });
    process.stderr.write(
      `${phase.name}: ${rps.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${errors} errors, ${cacheText}, loop p99 ${(lag * 1000).toFixed(0)} ms, ${storedDuring} points stored\n`,
    );
    rows.push(
      `| ${phase.name} | ${rps.toFixed(0)} | ${result.latency.p50} ms | ${result.latency.p99} ms | ${errors} | ${cacheText} | ${(lag * 1000).toFixed(0)} ms | ${storedDuring.toLocaleString('en-US')} |`,
    );
  }
  const [reference, one, twenty] = results;
  const report = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, by \`npm run bench:api-load -- --docs\`.`,
    '',
    `\`facility start\` with 30 days of demo history (listening after ${startedIn.toFixed(0)} s, the backfill included) and the simulators streaming, clock fixed at ${CLOCK}; ${SECONDS} s per phase over HTTP (autocannon, same machine). The panel requests in rotation: ${PANEL.map(([name]) => name).join(', ')}. "answers" gives the \`x-cache\` header: \`miss\` computed, \`hit\` kept from an earlier identical request (over a period reaching past now, within the same second and with no write to it since), \`coalesced\` shared with an identical request in flight. Event-loop delay is the process's p99 during the phase (\`nodejs_eventloop_lag_p99_seconds\`).`,
    '',
    `Aims: 20 clients ≥ 200 requests/s with p99 < 300 ms — this run ${twenty?.rps.toFixed(0)} requests/s, p99 ${twenty?.p99} ms (${((twenty?.rps ?? 0) / (reference?.rps ?? 1)).toFixed(2)}× the reference's rate); one client p50 < 20 ms — this run ${one?.p50} ms.`,
    '',
    '| phase | requests/s | p50 | p99 | errors | answers | event-loop delay p99 | points stored meanwhile |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  process.stdout.write(`${report}\n`);
  if (args.docs) await writeDocs('api-load', report);
} finally {
  await stop();
}
