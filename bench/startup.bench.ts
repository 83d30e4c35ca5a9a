/**
 * `npm run bench:startup` — how fast the `facility` command starts, compiled (dist/, what
 * `npm ci` builds and `bin/facility.js` runs) against the same sources run through tsx (what
 * `bin/facility.js` did before: TypeScript compiled at every start), measured in one run, with a
 * bare `node -e 0` as the floor:
 *
 * * `facility --help`, wall time to exit;
 * * `facility start --no-simulators --backfill-days 0` on ports 0, wall time until it has printed
 *   its start-up lines (broker and API listening), then stopped with SIGINT; a warm-up start
 *   first, so the data folder (secrets, DuckDB file) exists, as on any start but the first.
 *
 * Each figure is the median of `--runs` runs. dist/ is built first if it is not the build of the
 * sources. `--docs` also rewrites the figures in docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from '../scripts/build.js';
import { buildState } from '../scripts/build-state.js';
import { percentile, writeDocs } from './report.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'boolean', default: false },
    runs: { type: 'string', default: '15' },
  },
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Aim of issue 10: `facility --help` answers in under 300 ms. */
const HELP_AIM_MS = 300;

interface Variant {
  readonly name: string;
  /** Node arguments before the command's own. */
  readonly argv: readonly string[];
}

const COMPILED: Variant = { name: 'compiled (dist/, `bin/facility.js`)', argv: ['bin/facility.js'] };
const SOURCES: Variant = { name: 'sources through tsx (before)', argv: ['--import', 'tsx', 'cli/main.ts'] };

/** Runs `node …argv` until it exits, or until `until` matches its stdout (then SIGINT); ms. */
function timed(argv: readonly string[], until?: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...argv], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let elapsed: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (until && elapsed === undefined && until.test(stdout)) {
        elapsed = performance.now() - started;
        child.kill('SIGINT');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = elapsed ?? performance.now() - started;
      if (code !== 0) reject(new Error(`node ${argv.join(' ')} exited ${code}\n${stdout}\n${stderr}`));
      else if (until && elapsed === undefined)
        reject(new Error(`node ${argv.join(' ')} never printed ${until}`));
      else resolve(ms);
    });
  });
}

async function median(runs: number, measure: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await measure());
  return percentile(times, 50);
}

async function main(): Promise<void> {
  const runs = Number(args.runs);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (!buildState().fresh) await build();

  log('node -e 0…');
  const floor = await median(runs, () => timed(['-e', '0']));
  const help = new Map<Variant, number>();
  for (const variant of [SOURCES, COMPILED]) {
    log(`${variant.name}: --help…`);
    help.set(variant, await median(runs, () => timed([...variant.argv, '--help'])));
  }

  const start = new Map<Variant, number>();
  const ready = /Ctrl-C to stop/;
  for (const variant of [SOURCES, COMPILED]) {
    const data = await mkdtemp(join(tmpdir(), 'bench-startup-'));
    try {
      const argv = [
        ...variant.argv,
        'start',
        '--data',
        data,
        '--no-simulators',
        '--backfill-days',
        '0',
        '--mqtt-port',
        '0',
        '--http-port',
        '0',
        '--log-level',
        'warn',
      ];
      log(`${variant.name}: start…`);
      await timed(argv, ready);
      start.set(variant, await median(Math.max(3, Math.round(runs / 3)), () => timed(argv, ready)));
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  }

  const ms = (value: number) => `${Math.round(value)} ms`;
  const compiledHelp = help.get(COMPILED) as number;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const row = (variant: Variant) => {
    const h = help.get(variant) as number;
    const s = start.get(variant) as number;
    const ref = variant === SOURCES;
    return `| ${variant.name} | ${ms(h)} | ${ref ? '1.00× (reference)' : `${(h / (help.get(SOURCES) as number)).toFixed(2)}×`} | ${ms(s)} | ${ref ? '1.00× (reference)' : `${(s / (start.get(SOURCES) as number)).toFixed(2)}×`} |`;
  };
  const report = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, Node ${process.version}, by \`npm run bench:startup\`.`,
    `Medians of ${runs} runs (\`start\`: ${Math.max(3, Math.round(runs / 3))}), wall time; \`node -e 0\` takes ${ms(floor)} here.`,
    '`start` is `facility start --no-simulators --backfill-days 0` on free ports, until its start-up lines',
    '(broker and API listening), on a data folder from an earlier start.',
    '',
    `\`facility --help\`, compiled: ${ms(compiledHelp)} (aim < ${HELP_AIM_MS} ms): ${compiledHelp < HELP_AIM_MS ? 'met' : 'missed'}.`,
    '',
    '| how the command runs | `--help` | vs before | `start` until listening | vs before |',
    '|---|---|---|---|---|',
    row(SOURCES),
    row(COMPILED),
  ].join('\n');
  process.stdout.write(`${report}\n`);
  if (args.docs) await writeDocs('startup', report);
}

await main();
