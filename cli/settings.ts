/**
 * Command-line flags of the runtime settings (core/config.ts): one option per setting, its
 * environment variable named in the help, and one validation for flags and environment alike.
 */
import { basename, dirname } from 'node:path';
import { type Command, CommanderError, Option } from 'commander';
import { ConfigError, parseConfig, type RuntimeConfig, settingNames } from '../core/config.ts';
import { StoreError } from '../core/store.ts';

type Key = keyof RuntimeConfig;

const HELP: Readonly<Record<Key, string>> = {
  facility: 'facility file (YAML); default: the built-in demo 设施文件',
  data: 'data folder: DuckDB file, MQTT sessions, secrets 数据目录 (default: data)',
  host: 'address the broker and API listen on 监听地址 (default: 127.0.0.1)',
  mqttPort: 'MQTT port (default: 1883)',
  mqttWsPort: 'MQTT over WebSocket port, 0 = off (default: 0)',
  mqttTlsPort: 'MQTT over TLS port, used with --tls-cert and --tls-key (default: 8883)',
  tlsCert: 'PEM certificate chain file: turns on MQTT over TLS 证书文件',
  tlsKey: 'PEM private key file for MQTT over TLS 私钥文件',
  maxPayloadBytes: 'largest MQTT payload accepted, bytes (default: 65536)',
  maxConnections: 'most MQTT clients at once (default: 10000)',
  devicePublishRate:
    'messages/s a device may publish, burst twice that; over it it is disconnected (default: 50)',
  redisUrl:
    'redis://… broker: keeps MQTT sessions and shares messages in Redis, for several brokers (default: LevelDB in the data folder); api: keeps alerts in Redis and shares the live feed across api processes',
  httpPort: 'HTTP API port (default: 8080)',
  apiRateLimit: 'API requests a minute per client address, 0 = no limit 每个地址每分钟请求数 (default: 600)',
  simulators: 'do not run the device simulators 不运行设备模拟器 (default: they run)',
  backfillDays: 'days of history generated into an empty store 回填天数 (default: 30)',
  speed: 'simulated seconds per real second 模拟倍速 (default: 1)',
  seed: 'simulator seed: the same seed gives the same data 随机种子',
  showcase:
    'plant a water leak, an empty conditioned room and a car outside the service area at once, for a demo 演示故障 (default: on for start, off for simulate)',
  store: 'time-series store: duckdb | influx (default: duckdb)',
  influxUrl: 'InfluxDB URL (default: http://127.0.0.1:8086)',
  influxDatabase: 'InfluxDB 1.x database, or 2.x/3.x bucket (default: facility)',
  influxOrg: 'InfluxDB 2.x organisation',
  influxToken: 'InfluxDB 2.x/3.x API token',
  influxUsername: 'InfluxDB 1.x user',
  influxPassword: 'InfluxDB 1.x password',
  brokerUrl: 'MQTT broker URL for parts run alone (default: mqtt://127.0.0.1:1883)',
  shared: 'subscribe with the MQTT 5 shared subscription $share/ingest/fac/# (Mosquitto 2, EMQX)',
  ingestId: 'name of this ingest worker (MQTT client id svc-ingest-NAME); one per worker (default: main)',
  metricsPort: "port of this worker's /metrics and /health, 0 = off (default: 0)",
  deviceSecrets: 'YAML file "device-id: secret" for devices the facility file gives only by secretHash',
  serviceSecret: "password of the platform's own MQTT clients; default: generated into the data folder",
  adminToken: 'bootstrap API admin token; default: generated and printed',
  sessionSecret:
    'key signing the live page’s session cookies, at least 32 characters; default: generated into the data folder 会话密钥',
  sessionHours: 'how long a password sign-in lasts, hours 登录有效期 (default: 12)',
  secureCookies:
    'mark the session cookie Secure (behind an https reverse proxy) (default: when the request is https)',
  alertEngine:
    'run the alert engine here 运行告警引擎 (default: on for start, off for api: give it to one api process)',
  logLevel: 'fatal | error | warn | info | debug | trace | silent (default: info)',
};

const BOOLEAN: ReadonlySet<Key> = new Set([
  'simulators',
  'shared',
  'showcase',
  'secureCookies',
  'alertEngine',
]);
/** Booleans whose default depends on the command: both `--x` and `--no-x`. */
const BOTH_FORMS: Readonly<Partial<Record<Key, string>>> = {
  showcase: 'do not plant the showcase faults 不植入演示故障',
  alertEngine: 'do not run the alert engine here 不在此进程运行告警引擎',
};

/**
 * Add the flags of `keys` to a command. Booleans that default on get a `--no-…` form; `showcase`,
 * whose default depends on the command, gets both forms.
 */
export function addSettings(command: Command, keys: readonly Key[]): Command {
  for (const key of keys) {
    const { flag, env } = settingNames(key);
    const help = `${HELP[key]} [env ${env}]`;
    const negative = BOTH_FORMS[key];
    if (negative !== undefined) {
      command.addOption(new Option(flag, help));
      command.addOption(new Option(`--no-${flag.slice(2)}`, negative));
    } else if (BOOLEAN.has(key)) command.addOption(new Option(flag, help));
    else command.addOption(new Option(`${flag} <value>`, help));
  }
  return command;
}

/** Validated settings from the command's flags and the environment; prints and exits on error. */
export function readSettings(
  command: Command,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RuntimeConfig {
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    // Commander sets `simulators: true` by default for `--no-simulators`; only an explicit flag counts.
    if (command.getOptionValueSource(key) === 'cli') flags[key] = value;
  }
  return withSettings(command, () => parseConfig(flags, env));
}

/**
 * Runs `make`, turning a {@link ConfigError} (a bad setting found late, e.g. an unreadable TLS
 * key) into the same usage error as a bad flag: the message and exit status 2. A data folder whose
 * DuckDB file another process holds (a running `facility start`) ends the same way, in one line.
 */
export function withSettings<T>(command: Command, make: () => T): T {
  try {
    const result = make();
    if (result instanceof Promise) {
      return result.catch((error: unknown) => failOnConfig(command, error)) as T;
    }
    return result;
  } catch (error) {
    return failOnConfig(command, error);
  }
}

function failOnConfig(command: Command, error: unknown): never {
  if (error instanceof StoreError && error.code === 'STORE_LOCKED') {
    process.stderr.write(`facility ${command.name()}: ${lockedStoreMessage(error)}\n`);
    // `run` sets the exit status from it; Commander prints nothing more.
    throw new CommanderError(2, 'facility.store-locked', '');
  }
  if (!(error instanceof ConfigError)) throw error;
  command.error(`facility ${command.name()}: ${error.message}`, { exitCode: 2, code: 'facility.config' });
}

/**
 * The one line for a DuckDB file held by another process, e.g. `the data folder /srv/data is in
 * use: another process (PID 4242), most likely a running \`facility start\`, holds
 * /srv/data/facility.duckdb. …`. The file and the PID come from the store's and DuckDB's message.
 */
export function lockedStoreMessage(error: StoreError): string {
  const file = /"([^"]+\.duckdb)"/.exec(error.message)?.[1];
  const pid = /\bPID (\d+)/.exec(error.message)?.[1];
  const folder = file === undefined ? 'the data folder' : `the data folder ${dirname(file)}`;
  return (
    `${folder} is in use: another process${pid === undefined ? '' : ` (PID ${pid})`}, most likely a running ` +
    `\`facility start\`, holds ${file === undefined ? 'its DuckDB file' : basename(file)}. DuckDB lets one process ` +
    'open a file: stop that process, or give --data another folder (`facility start` runs an ingest of its own).'
  );
}
