/**
 * The alert engine on real parts for tests: a DuckDB file with its rolling store, the alert store
 * in the same file, the live feed fed by the store's commits, the engine with a clock the test
 * sets — and simulated readings written in steps, as the ingest would commit them. `restart()`
 * closes everything and opens it again on the same file, as a restarted platform would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertEngine } from '../../alerts/engine.ts';
import { AlertService } from '../../alerts/service.ts';
import type { Alert } from '../../core/alerts/alert.ts';
import type { AlertRule } from '../../core/alerts/rules.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import { LiveFeed } from '../../live/feed.ts';
import { DeadLetterTap } from '../../live/taps.ts';
import { backfill } from '../../simulators/backfill.ts';
import type { Simulation } from '../../simulators/simulation.ts';
import { DuckDbAlertStore } from '../../storage/duckdb/alert-store.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

export interface HarnessOptions {
  /** The facility; its alert rules are replaced by `rules`. */
  readonly facility: Facility;
  readonly rules: readonly AlertRule[];
  readonly simulation: Simulation;
  /** Devices whose readings are written. */
  readonly devices: readonly string[];
}

interface Parts {
  readonly store: RollingStore;
  readonly alertStore: DuckDbAlertStore;
  readonly deadLetters: DeadLetterTap;
  readonly service: AlertService;
  readonly feed: LiveFeed;
  readonly engine: AlertEngine;
}

export class AlertHarness {
  readonly facility: Facility;
  readonly #options: HarnessOptions;
  readonly #folder: string;
  /** The engine's clock, epoch ms. */
  now: number;
  #parts: Parts | undefined;

  private constructor(options: HarnessOptions, folder: string, now: number) {
    this.#options = options;
    this.facility = { ...options.facility, alerts: { rules: [...options.rules], webhooks: [] } };
    this.#folder = folder;
    this.now = now;
  }

  /** Writes the history `[from, start)`, then starts the feed and the engine at `start`. */
  static async open(options: HarnessOptions, from: number, start: number): Promise<AlertHarness> {
    const folder = await mkdtemp(join(tmpdir(), 'sfp-alerts-'));
    const harness = new AlertHarness(options, folder, start);
    await harness.#openStore();
    await harness.write(from, start);
    await harness.#startLive();
    return harness;
  }

  get parts(): Parts {
    if (!this.#parts) throw new Error('the harness is closed');
    return this.#parts;
  }

  async #openStore(): Promise<void> {
    const inner = new DuckDbStore({ path: join(this.#folder, 'facility.duckdb') });
    const store = new RollingStore({ store: inner, facility: this.facility });
    await store.start();
    const deadLetters = new DeadLetterTap(new DuckDbDeadLetterSink({ database: inner }));
    await deadLetters.start();
    const alertStore = new DuckDbAlertStore({ database: inner });
    await alertStore.start();
    const service = new AlertService({ store: alertStore, facility: this.facility, now: () => this.now });
    const feed = new LiveFeed({
      facility: this.facility,
      store,
      points: (listener) => store.subscribePoints(listener),
      rollups: (listener) => store.subscribe(listener),
      rejections: (listener) => deadLetters.subscribe(listener),
      deadLetters,
      now: () => this.now,
    });
    const engine = new AlertEngine({
      service,
      feed,
      kpi: { facility: this.facility, store, now: () => this.now },
      tickMs: 0,
      streamMs: 0,
      now: () => this.now,
    });
    this.#parts = { store, alertStore, deadLetters, service, feed, engine };
  }

  async #startLive(): Promise<void> {
    await this.parts.feed.start();
    await this.parts.engine.start();
  }

  /** Writes the simulated readings of `[from, to)` of the harness's devices; the clock moves to `to`. */
  async write(from: number, to: number): Promise<void> {
    if (to <= from) return;
    this.now = to;
    await backfill({
      store: this.parts.store,
      simulation: this.#options.simulation,
      from,
      to,
      devices: this.#options.devices,
    });
    await this.parts.store.settled();
  }

  /**
   * Writes `[from, to)` in steps of `stepMs`, evaluating (the schedule) after each; calls `after`
   * with the engine's alerts of the rule after each step, and stops early when it says so.
   */
  async run(
    from: number,
    to: number,
    stepMs: number,
    after?: (at: number) => Promise<boolean | undefined>,
  ): Promise<number> {
    let t = from;
    while (t < to) {
      const next = Math.min(to, t + stepMs);
      await this.write(t, next);
      await this.parts.engine.evaluate(next);
      t = next;
      if (after && (await after(t))) break;
    }
    return t;
  }

  /** Every alert in the store, newest first. */
  alerts(): Promise<Alert[]> {
    return this.parts.alertStore.list({ limit: 1000 });
  }

  /** Stops the engine, the feed and the store, and opens them again on the same file at the same time. */
  async restart(): Promise<void> {
    await this.#closeParts();
    await this.#openStore();
    await this.#startLive();
  }

  async #closeParts(): Promise<void> {
    const parts = this.#parts;
    if (!parts) return;
    this.#parts = undefined;
    await parts.engine.stop();
    await parts.feed.stop();
    await parts.alertStore.stop();
    await parts.deadLetters.stop();
    await parts.store.stop();
  }

  async close(): Promise<void> {
    await this.#closeParts();
    await rm(this.#folder, { recursive: true, force: true });
  }
}
