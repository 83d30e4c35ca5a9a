/**
 * A real `influxd` (InfluxDB 1.x, Debian's `influxdb` package) for tests: its own temporary
 * folder, a generated config file and free 127.0.0.1 ports. The same instance can be stopped and
 * started again on the same data folder and port, which is what a "store outage" test needs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const INFLUXD_MISSING =
  "influxd not found — install Debian's influxdb package (apt-get install influxdb)";

export interface InfluxdOptions {
  /** The executable; default `influxd` from the PATH. */
  readonly binary?: string;
  /** How long `start()` waits for `/ping` to answer; default 30 s. */
  readonly startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL; default 10 s. */
  readonly stopTimeoutMs?: number;
}

/** One `influxd` bound to 127.0.0.1, with its config, data and log in a temporary folder. */
export class InfluxdProcess {
  readonly dir: string;
  readonly httpPort: number;
  readonly rpcPort: number;
  readonly logFile: string;
  readonly #options: InfluxdOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;

  private constructor(dir: string, httpPort: number, rpcPort: number, options: InfluxdOptions) {
    this.dir = dir;
    this.httpPort = httpPort;
    this.rpcPort = rpcPort;
    this.logFile = join(dir, 'influxd.log');
    this.#options = options;
  }

  /** Make a temporary folder, pick two free ports and write the config; does not start. */
  static async create(options: InfluxdOptions = {}): Promise<InfluxdProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'influxd-test-'));
    const [httpPort, rpcPort] = await freePorts(2);
    const influxd = new InfluxdProcess(dir, httpPort, rpcPort, options);
    await writeFile(influxd.configFile, influxd.#config());
    return influxd;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get configFile(): string {
    return join(this.dir, 'influxdb.conf');
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Start `influxd` and wait until `/ping` answers. Idempotent. */
  async start(): Promise<void> {
    if (this.#child) return;
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.#options.binary ?? 'influxd', ['run', '-config', this.configFile], {
        cwd: this.dir,
        stdio: ['ignore', log, log],
        env: influxdEnv(),
      });
    } finally {
      closeSync(log);
    }
    const spawned = once(child, 'spawn').then(
      () => null,
      (error: NodeJS.ErrnoException) => error,
    );
    const spawnError = await spawned;
    if (spawnError) {
      throw spawnError.code === 'ENOENT' ? new Error(INFLUXD_MISSING, { cause: spawnError }) : spawnError;
    }
    // An 'error' after spawn (a failed kill) must not crash the test run; we wait on 'exit'.
    child.on('error', () => undefined);
    this.#child = child;
    this.#exited = once(child, 'exit').then(() => {
      this.#child = undefined;
    });
    killOnExit.add(child);
    void this.#exited.then(() => killOnExit.delete(child));

    try {
      await this.#waitForPing(child);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited in time. Keeps the data folder. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    if (!child || !exited) return;
    child.kill('SIGTERM');
    const timeout = sleep(this.#options.stopTimeoutMs ?? 10_000, 'timeout' as const, { ref: false });
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /**
   * Sends `signal` to the running server: `SIGSTOP` freezes it (connections are still accepted by
   * the kernel, nothing answers), `SIGCONT` lets it go on.
   */
  signal(signal: NodeJS.Signals): void {
    if (!this.#child) throw new Error('influxd is not running');
    this.#child.kill(signal);
  }

  /** Stop and remove the temporary folder. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The last lines of the server's log, for error messages. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async #waitForPing(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `influxd exited during start-up (${child.exitCode ?? child.signalCode}); log ${this.logFile}:\n${this.logTail()}`,
        );
      }
      try {
        const response = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(1_000) });
        if (response.status === 204) return;
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    throw new Error(
      `influxd did not answer ${this.url}/ping within ${this.#options.startTimeoutMs ?? 30_000} ms; log ${this.logFile}:\n${this.logTail()}`,
    );
  }

  #config(): string {
    const dir = (name: string) => JSON.stringify(join(this.dir, name));
    // Each top-level setting must precede the first [section] in TOML.
    return `reporting-enabled = false
bind-address = "127.0.0.1:${this.rpcPort}"

[meta]
  dir = ${dir('meta')}
  logging-enabled = false

[data]
  dir = ${dir('data')}
  wal-dir = ${dir('wal')}
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[http]
  bind-address = "127.0.0.1:${this.httpPort}"
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
`;
  }
}

/** influxd lets INFLUXDB_* variables override its config file; the generated config must win. */
function influxdEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('INFLUXDB_')) env[key] = value;
  }
  return env;
}

/** Ports the OS hands out for port 0, all held open at once so that they differ. */
export async function freePorts(count: number): Promise<[number, number, ...number[]]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports as [number, number, ...number[]];
}

// A test run that dies without its teardown must not leave servers behind.
const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});
