/**
 * A real Mosquitto 2 (Debian's `mosquitto` package) for tests: an MQTT 5 broker with shared
 * subscriptions, configured by the files `facility export mosquitto` wrote into a folder — its
 * `mosquitto.conf` included unchanged (`include_dir`) by a small test config that only adds the
 * log file, the user to run as, and `extraConfig` (which comes after, and so overrides the
 * export) — with its own temporary folder for that config and the log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const MOSQUITTO_MISSING =
  "mosquitto not found — install Debian's mosquitto package (bash scripts/setup-test.sh)";

/** Debian installs the broker in /usr/sbin, which is not on an ordinary user's PATH. */
const DEBIAN_BINARY = '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** The executable; default Debian's `/usr/sbin/mosquitto`, else `mosquitto` from the PATH. */
  readonly binary?: string;
  /** How long `start()` waits for the port to accept a connection; default 10 s. */
  readonly startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL; default 5 s. */
  readonly stopTimeoutMs?: number;
  /**
   * Folder of a `facility export mosquitto` (with `--host 127.0.0.1 --mqtt-port {port}`): its
   * `mosquitto.conf` is the configuration.
   */
  readonly exportDir: string;
  /** The port the export listens on. */
  readonly port: number;
  /** Lines after the export's configuration, overriding it. */
  readonly extraConfig?: string;
}

/** One `mosquitto` bound to 127.0.0.1, with its config and log in a temporary folder. */
export class MosquittoProcess {
  readonly dir: string;
  readonly port: number;
  readonly logFile: string;
  readonly #options: MosquittoOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;

  private constructor(dir: string, port: number, options: MosquittoOptions) {
    this.dir = dir;
    this.port = port;
    this.logFile = join(dir, 'mosquitto.log');
    this.#options = options;
  }

  /** Make a temporary folder and write the test config; does not start. */
  static async create(options: MosquittoOptions): Promise<MosquittoProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'mosquitto-test-'));
    const mosquitto = new MosquittoProcess(dir, options.port, options);
    await writeFile(mosquitto.configFile, mosquitto.#config());
    return mosquitto;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get configFile(): string {
    return join(this.dir, 'mosquitto.conf');
  }

  /** Start `mosquitto` and wait until its port accepts connections. Idempotent. */
  async start(): Promise<void> {
    if (this.#child) return;
    const binary = this.#options.binary ?? (existsSync(DEBIAN_BINARY) ? DEBIAN_BINARY : 'mosquitto');
    const child = spawn(binary, ['-c', this.configFile], {
      cwd: this.dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const spawnError = await once(child, 'spawn').then(
      () => null,
      (error: NodeJS.ErrnoException) => error,
    );
    if (spawnError) {
      throw spawnError.code === 'ENOENT' ? new Error(MOSQUITTO_MISSING, { cause: spawnError }) : spawnError;
    }
    // An 'error' after spawn (a failed kill) must not crash the test run; we wait on 'exit'.
    child.on('error', () => undefined);
    this.#child = child;
    this.#exited = once(child, 'exit').then(() => {
      this.#child = undefined;
    });
    killOnExit.add(child);
    void this.#exited.then(() => killOnExit.delete(child));

    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 10_000);
    while (!(await accepts(this.port))) {
      const exited = child.exitCode !== null || child.signalCode !== null;
      if (exited || Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `mosquitto ${exited ? `exited during start-up (${child.exitCode ?? child.signalCode})` : `did not listen on ${this.port} in time`}: ${stderr.trim()}\nlog ${this.logFile}:\n${this.logTail()}`,
        );
      }
      await sleep(25);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited in time. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    if (!child || !exited) return;
    child.kill('SIGTERM');
    const timeout = sleep(this.#options.stopTimeoutMs ?? 5_000, 'timeout' as const, { ref: false });
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Stop and remove the temporary folder. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The last lines of the broker's log, for error messages. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  #config(): string {
    // Run as root, mosquitto drops to the `mosquitto` user, which cannot write to this folder;
    // as anyone else, `user` is ignored.
    return `user ${userInfo().username}
log_dest file ${this.logFile}
include_dir ${this.#options.exportDir}
${this.#options.extraConfig ?? ''}
`;
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// A test run that dies without its teardown must not leave servers behind.
const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});
