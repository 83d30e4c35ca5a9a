/**
 * Any `facility` sub-command as a child process (`node bin/facility.js COMMAND …`), ready once it
 * printed a given line; killed when the test run exits, whatever happens to the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface FacilityProcessOptions {
  /** The sub-command and its arguments, e.g. `['api', '--http-port', '0']`. */
  readonly args: readonly string[];
  /** Added to the test's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** The line that says it is ready. */
  readonly ready: RegExp;
  /** How long to wait for it; default 30 s. */
  readonly readyTimeoutMs?: number;
}

/** One `facility` child; its output is kept for assertions and error messages. */
export class FacilityProcess {
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
    child.on('error', () => undefined);
    this.#exited = once(child, 'exit').then(() => undefined);
    killOnExit.add(child);
    void this.#exited.then(() => killOnExit.delete(child));
  }

  /** Spawns and waits until the ready line; on failure, kills it and throws with its output. */
  static async start(options: FacilityProcessOptions): Promise<FacilityProcess> {
    const child = spawn(process.execPath, ['bin/facility.js', ...options.args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = new FacilityProcess(child);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    while (!options.ready.test(started.#stdout)) {
      if (started.exited || Date.now() > deadline) {
        await started.stop();
        throw new Error(`facility ${options.args[0]} did not start\n${started.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return started;
  }

  get stdout(): string {
    return this.#stdout;
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

  /** SIGTERM, SIGKILL after `timeoutMs`; resolves once it exited. Idempotent. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.exited) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

// A test run that dies without its teardown must not leave processes behind.
const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});
