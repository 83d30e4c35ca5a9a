/**
 * The composition root's shared pieces: the one place that reads the facility file for a
 * running part, builds the store adapter and the dead-letter sink, keeps the generated
 * secrets, and starts and stops components in order.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Logger, pino } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { RuntimeConfig } from '../core/config.ts';
import { type DeadLetterSink, outlierEntries } from '../core/dead-letter.ts';
import { formatProblem } from '../core/facility/load.ts';
import type { Facility } from '../core/facility/schema.ts';
import { type OutlierReading, RollingStore } from '../core/rollup/rolling-store.ts';
import type { DuckDbAccess } from '../storage/duckdb/dead-letter.ts';
import type { DuckDbManagementState } from '../storage/duckdb/management-state.ts';
import { FacilityFileError, readFacilityFile } from './read-facility.ts';

/** Something with an idempotent async life cycle. */
export interface Component {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts components in order and stops them in reverse, going on past a failure. */
export class Lifecycle {
  readonly #started: Array<{ name: string; component: Component }> = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  async start(name: string, component: Component): Promise<void> {
    await component.start();
    this.#started.push({ name, component });
  }

  async stop(): Promise<void> {
    while (this.#started.length > 0) {
      const { name, component } = this.#started.pop() as { name: string; component: Component };
      try {
        await component.stop();
      } catch (error) {
        this.#log.error({ err: error, component: name }, 'stopping failed; going on');
      }
    }
  }
}

/**
 * The platform's logger: JSON lines (for log collectors) unless stdout is a terminal, where a person
 * reads them and gets pino-pretty's one line per event instead. Secrets are redacted either way.
 */
export function createLogger(
  config: Pick<RuntimeConfig, 'logLevel'>,
  pretty: boolean = process.stdout.isTTY === true,
): Logger {
  const options = {
    level: config.logLevel,
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  };
  if (!pretty) return pino(options);
  return pino(
    options,
    PinoPretty({ sync: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', singleLine: true }),
  );
}

/** Read and validate the facility file; print every problem and exit 1 when it is not valid. */
export async function loadFacilityOrExit(path: string | undefined, command: string): Promise<Facility> {
  try {
    const { file, result } = await readFacilityFile(path);
    if (result.ok) return result.facility;
    process.stderr.write(
      `${result.problems.map(formatProblem).join('\n')}\n\nfacility ${command}: ${file} has ${result.problems.length} problem(s); run \`facility check ${path ?? ''}\`\n`,
    );
    process.exit(1);
  } catch (error) {
    if (!(error instanceof FacilityFileError)) throw error;
    process.stderr.write(`facility ${command}: ${error.message}\n`);
    process.exit(2);
  }
}

export interface Secrets {
  readonly serviceSecret: string;
  readonly adminToken: string;
  /** Signs the live page's session cookies (api/sessions.ts). */
  readonly sessionSecret: string;
  /** Whether the admin token was generated here (and so should be printed). */
  readonly adminTokenGenerated: boolean;
}

/**
 * The service secret and admin token: from the settings, else from `{data}/secrets.json`
 * (mode 600), else generated and saved there, so restarts and separate parts agree.
 */
export async function loadSecrets(config: RuntimeConfig): Promise<Secrets> {
  const dir = resolve(config.data);
  const file = join(dir, 'secrets.json');
  let saved: Partial<Record<'serviceSecret' | 'adminToken' | 'sessionSecret', string>> = {};
  try {
    saved = JSON.parse(await readFile(file, 'utf8')) as typeof saved;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
  const serviceSecret = config.serviceSecret ?? saved.serviceSecret ?? randomBytes(24).toString('base64url');
  const adminToken = config.adminToken ?? saved.adminToken ?? randomBytes(24).toString('base64url');
  const sessionSecret = config.sessionSecret ?? saved.sessionSecret ?? randomBytes(32).toString('base64url');
  if (
    saved.serviceSecret !== serviceSecret ||
    saved.adminToken !== adminToken ||
    saved.sessionSecret !== sessionSecret
  ) {
    await mkdir(dir, { recursive: true });
    await writeFile(file, `${JSON.stringify({ serviceSecret, adminToken, sessionSecret }, null, 2)}\n`, {
      mode: 0o600,
    });
    // `mode` applies only when the file is created; a file that was there keeps its bits otherwise.
    await chmod(file, 0o600);
  }
  return { serviceSecret, adminToken, sessionSecret, adminTokenGenerated: config.adminToken === undefined };
}

/**
 * How the start-up lines show the admin token. A generated token is printed only to a terminal,
 * where the person who started the platform reads it; when the output goes to a file, a pipe or a
 * log collector (systemd, docker, CI), where others may read it, the lines name the file that
 * holds it (mode 600) and the example request reads it from there.
 */
export function adminTokenLines(options: {
  readonly generated: boolean;
  readonly token: string;
  readonly file: string;
  readonly terminal: boolean;
}): { line: string; inCommand: string } {
  if (!options.generated) return { line: '(from FACILITY_ADMIN_TOKEN)', inCommand: '$FACILITY_ADMIN_TOKEN' };
  if (options.terminal)
    return { line: `${options.token}   (saved in ${options.file})`, inCommand: options.token };
  return {
    line: `in ${options.file} (mode 600, "adminToken"); not printed, the output is not a terminal 输出非终端，未打印`,
    inCommand: `$(node -p "require('${options.file}').adminToken")`,
  };
}

/**
 * The store the settings name, wrapped so that every write keeps its rollups
 * (core/rollup/rolling-store.ts), and a dead-letter sink beside it that also lists the register
 * outliers the rollups find. Neither is started; start the dead-letter sink first when it shares
 * the store's DuckDB file (it is started by the store). Only the adapters chosen are loaded.
 */
export async function createStorage(
  config: RuntimeConfig,
  facility: Facility,
  logger?: Logger,
  options: { readonly catchUp?: boolean } = {},
): Promise<{
  store: RollingStore;
  deadLetters: DeadLetterSink & Component;
  /**
   * Where app state (the corrections' audit; the cost ledger, its audit and the feedback; alerts)
   * is kept: the store's own DuckDB file, or `{data}/state.duckdb` beside InfluxDB, which the
   * dead-letter sink opens and closes (start it before using this).
   */
  appState: DuckDbAccess;
}> {
  const data = resolve(config.data);
  const { DuckDbDeadLetterSink } = await import('../storage/duckdb/dead-letter.ts');
  const { DuckDbStateFile } = await import('../storage/duckdb/state-file.ts');
  let sink: (DeadLetterSink & Component) | undefined;
  const onOutliers = (outliers: readonly OutlierReading[]) => {
    sink?.add(outlierEntries(facility.site.id, outliers, Date.now())).catch((error: unknown) => {
      logger?.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'listing register outliers failed',
      );
    });
  };
  if (config.store === 'duckdb') {
    const { DuckDbStore } = await import('../storage/duckdb/duckdb-store.ts');
    const inner = new DuckDbStore({
      path: join(data, 'facility.duckdb'),
      hourCacheBytes: config.duckdbCacheMb * 1024 * 1024,
    });
    // The dead-letter table lives in the store's own file: one process, one handle.
    sink = new DuckDbDeadLetterSink({ database: inner });
    return {
      // The file is locked to this process: nothing else writes its points.
      store: new RollingStore({ store: inner, facility, onOutliers, soleWriter: true, ...options }),
      deadLetters: sink,
      // The store's file; the store opens and closes it.
      appState: inner,
    };
  }
  const { InfluxStore } = await import('../storage/influx/influx-store.ts');
  const inner = new InfluxStore({
    url: config.influxUrl,
    database: config.influxDatabase,
    ...(config.influxOrg === undefined ? {} : { org: config.influxOrg }),
    ...(config.influxToken === undefined ? {} : { token: config.influxToken }),
    ...(config.influxUsername === undefined ? {} : { username: config.influxUsername }),
    ...(config.influxPassword === undefined ? {} : { password: config.influxPassword }),
  });
  // App state stays local even when the telemetry goes to InfluxDB: one open state file, shared.
  const appState = new DuckDbStateFile({ path: join(data, 'state.duckdb') });
  const own = new DuckDbDeadLetterSink({ database: appState });
  sink = {
    name: own.name,
    add: (entries) => own.add(entries),
    list: (query) => own.list(query),
    start: async () => {
      await appState.start();
      await own.start();
    },
    stop: async () => {
      await own.stop();
      await appState.stop();
    },
  };
  return {
    store: new RollingStore({ store: inner, facility, onOutliers, ...options }),
    deadLetters: sink,
    appState,
  };
}

/** The management state (cost ledger, audit, feedback) in the app-state database; not started. */
export async function createManagementState(
  facility: Facility,
  state: DuckDbAccess,
): Promise<DuckDbManagementState> {
  const [{ DuckDbManagementState }, { localDay }] = await Promise.all([
    import('../storage/duckdb/management-state.ts'),
    import('../core/management/costs.ts'),
  ]);
  return new DuckDbManagementState({
    database: state,
    dayStart: (date) => localDay(date, facility.site.timezone),
  });
}

/** Resolve on SIGINT or SIGTERM (once). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolveSignal(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
