/**
 * The real `facility broker --ingest` command as a child process (`node bin/facility.js broker
 * --ingest …`): the broker with the in-process ingest, as `facility start` runs them, for tests
 * that kill it and start it again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The line it prints once listening: `MQTT broker 消息服务  mqtt://127.0.0.1:PORT`. */
const READY = /^MQTT broker 消息服务\s+mqtt:\/\/[^:\s]+:(\d+)/m;
/** The line it prints when it stops (cli/run/ingest.ts, `ingestSummary`). */
const SUMMARY = /^ingest in-process: stored ([\d,]+) messages \(([\d,]+) points\)/m;

export interface BrokerProcessOptions {
  /** Arguments after `broker --ingest`, e.g. `['--data', dir, '--mqtt-port', '1883']`. */
  readonly args: readonly string[];
  /** Added to the test's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for the listening line; default 30 s. */
  readonly readyTimeoutMs?: number;
}

/** One `facility broker --ingest` child; its output is kept for assertions and error messages. */
export class BrokerProcess {
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

  /** Spawns it and waits until it listens; resolves with the process. Kill it whether or not this resolved. */
  static async start(
    options: BrokerProcessOptions,
    started?: (process: BrokerProcess) => void,
  ): Promise<BrokerProcess> {
    const child = spawn(process.execPath, ['bin/facility.js', 'broker', '--ingest', ...options.args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const broker = new BrokerProcess(child);
    started?.(broker);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    while (!READY.test(broker.#stdout)) {
      if (broker.exited)
        throw new Error(`facility broker exited (${broker.exit}) before it listened\n${broker.output}`);
      if (Date.now() > deadline) throw new Error(`facility broker did not listen in time\n${broker.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return broker;
  }

  /** The MQTT port it listens on. */
  get port(): number {
    return Number(READY.exec(this.#stdout)?.[1]);
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

  /** What it wrote on stderr (its logs). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Messages and points it said it stored, from the line it prints when it stops. */
  get summary(): { messages: number; points: number } | undefined {
    const match = SUMMARY.exec(this.#stdout);
    if (!match) return undefined;
    const count = (text: string | undefined) => Number((text ?? '').replaceAll(',', ''));
    return { messages: count(match[1]), points: count(match[2]) };
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
}

// A test run that dies without its teardown must not leave broker processes behind.
const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});
