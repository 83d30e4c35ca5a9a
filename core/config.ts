/**
 * Runtime settings (ports, folders, store, credentials): from CLI flags and `FACILITY_*`
 * environment variables, validated once at start-up. A bad value stops the program with a
 * message naming the flag and the variable. Domain data (buildings, meters…) is the facility
 * file's business, not this module's.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { settingNames } from './setting-names.ts';

const Port = (description: string, defaultPort: number) =>
  Type.Integer({ minimum: 0, maximum: 65_535, default: defaultPort, description });

/** The settings every part of the platform reads. */
export const RuntimeConfigSchema = Type.Object({
  /** Facility file (YAML); default: the built-in demo facility. */
  facility: Type.Optional(Type.String({ minLength: 1, description: 'facility file (YAML)' })),
  /** Data folder: the DuckDB file, MQTT sessions, generated secrets. */
  data: Type.String({ minLength: 1, default: 'data', description: 'data folder' }),
  /** Address the broker and the API listen on. */
  host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'listen address' }),
  /** MQTT over TCP. */
  mqttPort: Port('MQTT port', 1883),
  /** MQTT over WebSocket; 0 = off. */
  mqttWsPort: Port('MQTT over WebSocket port (0 = off)', 0),
  /** MQTT over TLS, when `tlsCert` and `tlsKey` are given. */
  mqttTlsPort: Port('MQTT over TLS port', 8883),
  /** PEM certificate chain file for MQTT over TLS; TLS is off without it. */
  tlsCert: Type.Optional(Type.String({ minLength: 1 })),
  /** PEM private key file for MQTT over TLS. */
  tlsKey: Type.Optional(Type.String({ minLength: 1 })),
  /** Largest MQTT payload accepted, bytes. */
  maxPayloadBytes: Type.Integer({ minimum: 256, maximum: 256 * 1024 * 1024, default: 64 * 1024 }),
  /** Most MQTT clients connected at once. */
  maxConnections: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  /** Messages per second a device may publish (burst: twice that); over it, it is disconnected. */
  devicePublishRate: Type.Number({ exclusiveMinimum: 0, maximum: 100_000, default: 50 }),
  /** Redis URL: QoS 1 sessions and the message emitter in Redis, for several brokers. Default: LevelDB in the data folder. */
  redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** HTTP API and live page. */
  httpPort: Port('HTTP port', 8080),
  /**
   * API requests a minute per client address (bad or missing tokens included); 0 = no limit, for
   * a trusted network where many operators or a Grafana wall share one address.
   */
  apiRateLimit: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 600 }),
  /** Run the device simulators in `start`. */
  simulators: Type.Boolean({ default: true }),
  /** Days of history generated into an empty store on first start. */
  backfillDays: Type.Integer({ minimum: 0, maximum: 3660, default: 30, description: 'days' }),
  /** Simulated seconds per real second for live simulators. */
  speed: Type.Number({ exclusiveMinimum: 0, maximum: 10_000, default: 1 }),
  /** Seed of the simulators: the same seed gives the same data. */
  seed: Type.Integer({ minimum: 0, default: 20_261_128 }),
  /**
   * Plant the showcase faults when the live simulators start (a water leak, a meeting room
   * conditioned while empty, a car outside the service area; `simulators/showcase.ts`). Unset:
   * on for `start`, off for `simulate`.
   */
  showcase: Type.Optional(Type.Boolean()),
  /** Time-series store. */
  store: Type.Union([Type.Literal('duckdb'), Type.Literal('influx')], { default: 'duckdb' }),
  /**
   * Most megabytes of the rollups' hour tier the DuckDB store keeps in memory for sums (store
   * `duckdb`; 0 = none): a year of one field of one device is about 85 KB.
   */
  duckdbCacheMb: Type.Integer({ minimum: 0, maximum: 1_048_576, default: 128 }),
  /** InfluxDB base URL (store `influx`). */
  influxUrl: Type.String({ default: 'http://127.0.0.1:8086' }),
  /** InfluxDB 1.x database, or 2.x/3.x bucket. */
  influxDatabase: Type.String({ minLength: 1, default: 'facility' }),
  influxOrg: Type.Optional(Type.String()),
  influxToken: Type.Optional(Type.String()),
  influxUsername: Type.Optional(Type.String()),
  influxPassword: Type.Optional(Type.String()),
  /** Broker URL for parts run alone (`ingest`, `simulate`). */
  brokerUrl: Type.String({ default: 'mqtt://127.0.0.1:1883' }),
  /**
   * `facility broker`: run the ingest inside the broker's process (as `facility start` does),
   * storing what devices publish before acknowledging it, instead of the broker alone.
   */
  ingest: Type.Boolean({ default: false }),
  /**
   * Most megabytes the in-process ingest's spool may hold (`{data}/spool`, with `--store influx`):
   * messages acknowledged to devices and not yet taken by the store.
   */
  spoolMaxMb: Type.Integer({ minimum: 1, maximum: 1_048_576, default: 1024 }),
  /** Use the MQTT 5 shared subscription `$share/ingest/fac/#` (Mosquitto 2, EMQX). */
  shared: Type.Boolean({ default: false }),
  /**
   * Name of this ingest worker; its MQTT client id is `svc-ingest-{name}`, so a restarted worker
   * resumes its persistent session. Give each worker of a shared subscription its own name.
   */
  ingestId: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', default: 'main' }),
  /**
   * Port of a part's own small HTTP server: `/metrics` (Prometheus) and `/health` of an ingest
   * worker. 0 = off.
   */
  metricsPort: Port('metrics and health port of a worker (0 = off)', 0),
  /**
   * YAML file of device secrets, `{device id}: {secret}`, for `export mosquitto`: the devices the
   * facility file gives only by `secretHash`, which an external broker cannot check.
   */
  deviceSecrets: Type.Optional(Type.String({ minLength: 1 })),
  /** Grafana's base URL, for `grafana provision`. */
  grafanaUrl: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:3000' }),
  /** Grafana service-account token (role Admin), for `grafana provision`. */
  grafanaToken: Type.Optional(Type.String({ minLength: 1 })),
  /** InfluxDB URL as Grafana reaches it, when it differs from `influxUrl` (another host or network). */
  grafanaInfluxUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Prometheus that scrapes the ingest workers and the api: adds its data source and the ingest panels. */
  grafanaPrometheusUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Password of the platform's own MQTT clients; generated into the data folder when absent. */
  serviceSecret: Type.Optional(Type.String({ minLength: 12 })),
  /** Bootstrap admin token of the API; generated and printed when absent. */
  adminToken: Type.Optional(Type.String({ minLength: 16 })),
  /**
   * Key that signs the live page's session cookies (api/sessions.ts); generated into the data folder
   * when absent. Give every api process of a deployment the same one.
   */
  sessionSecret: Type.Optional(Type.String({ minLength: 32 })),
  /** How long a password sign-in lasts, hours. */
  sessionHours: Type.Number({ minimum: 0.25, maximum: 720, default: 12 }),
  /** Mark the session cookie Secure (behind an https reverse proxy). Unset: when the request itself is https. */
  secureCookies: Type.Optional(Type.Boolean()),
  /**
   * Run the alert engine in this process. Unset: on for `start`; off for `api` (give it to one api
   * process of a scaled deployment: docs/architecture.md, "Alerts when scaled out").
   */
  alertEngine: Type.Optional(Type.Boolean()),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

export type RuntimeConfig = Static<typeof RuntimeConfigSchema>;

export { NEGATED_FLAGS, settingNames } from './setting-names.ts';

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid settings:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Read settings from flags (already parsed, camelCase keys) over environment variables over
 * defaults. Strings from the environment are converted to numbers and booleans. Throws a
 * {@link ConfigError} listing every bad setting.
 */
export function parseConfig(
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): RuntimeConfig {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(RuntimeConfigSchema.properties) as Array<keyof RuntimeConfig>) {
    const fromFlag = flags[key];
    const fromEnv = env[settingNames(key).env];
    if (fromFlag !== undefined) raw[key] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== '') raw[key] = fromEnv;
  }
  const value = Value.Default(RuntimeConfigSchema, Value.Convert(RuntimeConfigSchema, raw));
  const problems = [...Value.Errors(RuntimeConfigSchema, value)].map((error) => {
    const key = error.path.replace(/^\//, '') as keyof RuntimeConfig;
    const { flag, env: variable } = settingNames(key);
    return `${flag} / ${variable}: ${expected(error.schema, error.message)}, got ${JSON.stringify(raw[key] ?? null)}`;
  });
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return value as RuntimeConfig;
}

/** What a setting takes, for a person: the choices of an enumeration, the words of a boolean. */
function expected(schema: TSchema, fallback: string): string {
  const choices = (schema.anyOf as TSchema[] | undefined)?.map((option) => option.const);
  if (choices?.every((choice) => typeof choice === 'string')) return `must be one of ${choices.join(', ')}`;
  if (schema.type === 'boolean') return 'must be true or false (or 1 or 0)';
  return fallback;
}
