/**
 * A real Redis (Debian's `redis-server`) for tests: its own temporary folder, a free 127.0.0.1
 * port, nothing saved to disk (`--save ''`, no append-only file), stopped with the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './influxd-process.ts';

export const REDIS_MISSING =
  "redis-server not found — install Debian's redis-server package (bash scripts/setup-test.sh)";

/** One `redis-server` on 127.0.0.1. */
export class RedisProcess {
  readonly dir: string;
  readonly port: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #output = '';

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  /** Starts `redis-server` and waits until it answers PING. */
  static async start(): Promise<RedisProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
    const [port] = await freePorts(1);
    const redis = new RedisProcess(dir, port);
    try {
      await redis.#start();
    } catch (error) {
      await redis.dispose();
      throw error;
    }
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async #start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir],
        ...['--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      ],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        this.#output = (this.#output + chunk).slice(-4000);
      });
    }
    const spawnError = await once(child, 'spawn').then(
      () => null,
      (error: NodeJS.ErrnoException) => error,
    );
    if (spawnError) {
      throw spawnError.code === 'ENOENT' ? new Error(REDIS_MISSING, { cause: spawnError }) : spawnError;
    }
    child.on('error', () => undefined);
    this.#child = child;
    this.#exited = once(child, 'exit').then(() => {
      this.#child = undefined;
    });
    killOnExit.add(child);
    void this.#exited.then(() => killOnExit.delete(child));
    const deadline = Date.now() + 10_000;
    while (!(await pong(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server did not start on ${this.port}: ${this.#output}`);
      }
      await sleep(25);
    }
  }

  /** Stops the server and removes its folder. Idempotent. */
  async dispose(): Promise<void> {
    const child = this.#child;
    if (child && this.#exited) {
      child.kill('SIGTERM');
      const timeout = sleep(5_000, 'timeout' as const, { ref: false });
      if ((await Promise.race([this.#exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await this.#exited;
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Whether a Redis on 127.0.0.1:`port` answers PING. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data: string) => {
      socket.destroy();
      resolve(data.startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

// A test run that dies without its teardown must not leave servers behind.
const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});
