/**
 * Command-line flags of the runtime settings (core/config.ts): one option per setting, its
 * environment variable named in the help, and one validation for flags and environment alike.
 */
import { Command, Option } from 'commander';
import { ConfigError, parseConfig, type RuntimeConfig, settingNames } from '../core/config.ts';

type Key = keyof RuntimeConfig;

const HELP: Readonly<Record<Key, string>> = {
  facility: 'facility file (YAML); default: the built-in demo 设施文件',
  data: 'data folder: DuckDB file, MQTT sessions, secrets 数据目录 (default: data)',
  host: 'address the broker and API listen on 监听地址 (default: 127.0.0.1)',
  mqttPort: 'MQTT port (default: 1883)',
  mqttWsPort: 'MQTT over WebSocket port, 0 = off (default: 0)',
  httpPort: 'HTTP API port (default: 8080)',
  simulators: 'run the device simulators 运行设备模拟器 (default: on)',
  backfillDays: 'days of history generated into an empty store 回填天数 (default: 30)',
  speed: 'simulated seconds per real second 模拟倍速 (default: 1)',
  seed: 'simulator seed: the same seed gives the same data 随机种子',
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
  serviceSecret: "password of the platform's own MQTT clients; default: generated into the data folder",
  adminToken: 'bootstrap API admin token; default: generated and printed',
  logLevel: 'fatal | error | warn | info | debug | trace | silent (default: info)',
};

const BOOLEAN: ReadonlySet<Key> = new Set(['simulators', 'shared']);

/** Add the flags of `keys` to a command. Booleans that default on get a `--no-…` form. */
export function addSettings(command: Command, keys: readonly Key[]): Command {
  for (const key of keys) {
    const { flag, env } = settingNames(key);
    const help = `${HELP[key]} [env ${env}]`;
    if (key === 'simulators') command.addOption(new Option(`--no-${flag.slice(2)}`, help));
    else if (BOOLEAN.has(key)) command.addOption(new Option(flag, help));
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
  try {
    return parseConfig(flags, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    command.error(`facility ${command.name()}: ${error.message}`, { exitCode: 2, code: 'facility.config' });
  }
}
