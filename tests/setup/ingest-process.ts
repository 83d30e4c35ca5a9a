/**
 * The real `facility ingest` command as a child process (`node bin/facility.js ingest …`), for
 * tests that kill it, run several, or point it at another broker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What `facility ingest` prints when it stops (cli/commands/ingest.ts, `ingestSummary`). */
export interface IngestSummary {
  readonly name: string;
  readonly messages: number;
  readonly points: number;
  readonly rejected: number;
  readonly deadLettered: number;
}

export interface IngestProcessOptions {
  /** Arguments after `ingest`, e.g. `['--data', dir, '--broker-url', url]`. */
  readonly args: readonly string[];
  /** Added to the test's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for the "subscribed and running" line; default 30 s. */
  readonly readyTimeoutMs?: number;
}

const READY = /^ingest (\S+): \S+ → /m;
const SUMMARY =
  /^ingest (\S+): stored ([\d,]+) messages \(([\d,]+) points\), rejected ([\d,]+), dead-lettered ([\d,]+)$/m;

/** One `facility ingest` child; its output is kept for assertions and error messages. */
export class IngestProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stdout = '';
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    // An 'error' after spawn (a failed kill) must not crash the test run; we wait on 'exit'.
    child.on('error', () => undefined);
    this.#exited = once(child, 'exit').then(() => undefined);
    killOnExit.add(child);
    void this.#exited.then(() => killOnExit.delete(child));
  }

  /**
   * Spawns `facility ingest` and waits until it says it is running, which it does only once it
   * is subscribed. Call {@link stop} (or {@link kill}) when done, whether or not this resolved.
   */
  static spawn(options: IngestProcessOptions): { process: IngestProcess; ready: Promise<void> } {
    const child = spawn(process.execPath, ['bin/facility.js', 'ingest', ...options.args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ingest = new IngestProcess(child);
    return { process: ingest, ready: ingest.#ready(options.readyTimeoutMs ?? 30_000) };
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** How it ended: `0`, `1`, `'SIGKILL'`…; `null` while it runs. */
  get exit(): number | NodeJS.Signals | null {
    return this.#child.exitCode ?? this.#child.signalCode;
  }

  /** Everything it wrote, for error messages. */
  get output(): string {
    return `stdout:\n${this.#stdout.slice(-4000)}\nstderr:\n${this.#stderr.slice(-4000)}`;
  }

  /** The line it printed when it stopped, parsed; `undefined` before. */
  get summary(): IngestSummary | undefined {
    const match = SUMMARY.exec(this.#stdout);
    if (!match) return undefined;
    const count = (text: string | undefined) => Number((text ?? '').replaceAll(',', ''));
    return {
      name: match[1] as string,
      messages: count(match[2]),
      points: count(match[3]),
      rejected: count(match[4]),
      deadLettered: count(match[5]),
    };
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). Idempotent. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 15_000): Promise<void> {
    if (this.exited) return;
    this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM: the ingest commits what it holds, prints its summary and exits. */
  async stop(): Promise<IngestSummary | undefined> {
    await this.kill('SIGTERM');
    return this.summary;
  }

  async #ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!READY.test(this.#stdout)) {
      if (this.exited)
        throw new Error(`facility ingest exited (${this.exit}) before it was ready\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`facility ingest not ready in ${timeoutMs} ms\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

// A test run that dies without its teardown must not leave ingest processes behind.
const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});
