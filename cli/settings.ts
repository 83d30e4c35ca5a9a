/**
 * Command-line flags of the runtime settings (core/config.ts): one option per setting, with its
 * environment variable named in the help. Validating them is `read-settings.ts`, loaded by the
 * commands when they run, so that describing them (`--help`) loads no schema library.
 */
import { type Command, Option } from 'commander';
import type { RuntimeConfig } from '../core/config.ts';
import { settingNames } from '../core/setting-names.ts';

type Key = keyof RuntimeConfig;

/** The MQTT settings every command that runs a broker takes. */
export const BROKER_SETTINGS = [
  'host',
  'mqttPort',
  'mqttWsPort',
  'mqttTlsPort',
  'tlsCert',
  'tlsKey',
  'maxPayloadBytes',
  'maxConnections',
  'devicePublishRate',
  'redisUrl',
] as const satisfies readonly Key[];

/** The settings of the store and its InfluxDB server. */
export const STORE_SETTINGS = [
  'store',
  'duckdbCacheMb',
  'influxUrl',
  'influxDatabase',
  'influxOrg',
  'influxToken',
  'influxUsername',
  'influxPassword',
] as const satisfies readonly Key[];

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
  duckdbCacheMb:
    'most MB of hourly rollups the DuckDB store keeps in memory for sums, 0 = none 小时汇总内存缓存 (default: 128)',
  influxUrl: 'InfluxDB URL (default: http://127.0.0.1:8086)',
  influxDatabase: 'InfluxDB 1.x database, or 2.x/3.x bucket (default: facility)',
  influxOrg: 'InfluxDB 2.x organisation',
  influxToken: 'InfluxDB 2.x/3.x API token',
  influxUsername: 'InfluxDB 1.x user',
  influxPassword: 'InfluxDB 1.x password',
  brokerUrl: 'MQTT broker URL for parts run alone (default: mqtt://127.0.0.1:1883)',
  ingest:
    'run the ingest in the broker process: store what devices publish, then acknowledge it 同进程数据接入 (default: off)',
  spoolMaxMb:
    'most MB the in-process ingest spools for an InfluxDB that is down, in DATA/spool (default: 1024)',
  shared: 'subscribe with the MQTT 5 shared subscription $share/ingest/fac/# (Mosquitto 2, EMQX)',
  ingestId: 'name of this ingest worker (MQTT client id svc-ingest-NAME); one per worker (default: main)',
  metricsPort: "port of this worker's /metrics and /health, 0 = off (default: 0)",
  deviceSecrets: 'YAML file "device-id: secret" for devices the facility file gives only by secretHash',
  grafanaUrl: 'Grafana base URL 可视化平台地址 (default: http://127.0.0.1:3000)',
  grafanaToken: 'Grafana service-account token (role Admin) 服务账号令牌',
  grafanaInfluxUrl: 'InfluxDB URL as Grafana reaches it (default: --influx-url)',
  grafanaPrometheusUrl:
    'Prometheus scraping the ingest workers and the api: adds the ingest panels (default: none)',
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
  'ingest',
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
