/**
 * docker-compose.yml, checked without Docker (none on these machines): parsed with `yaml`,
 * interpolated the way Compose does with the values of .env.example, and held against the real
 * product — each platform service's command is parsed by the real `facility` program
 * (cli/program.ts) and its FACILITY_* environment validated by the real settings schema
 * (core/config.ts) as that command would read it; ports, volumes, dependencies, health checks,
 * restart policies, and the places where services must agree (broker URL and port, the exported
 * configuration's folder, InfluxDB org, bucket and token) are checked too.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildProgram } from '../../cli/program.ts';
import { parseConfig, type RuntimeConfig, RuntimeConfigSchema, settingNames } from '../../core/config.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/**
 * Commands services run that the `facility` program does not have yet, with the flags their
 * contract names. Once the program has the command, the test checks it against the program instead.
 */
const PENDING_COMMANDS: Readonly<Record<string, readonly string[]>> = {};

/** Ports of the third-party images' services, as their images document them. */
const IMAGE_PORTS: Readonly<Record<string, number>> = {
  'influxdb:2.7': 8086,
  'grafana/grafana-oss:11.6.5': 3000,
};

/** Long-running services without a health check, and why: nothing to ask them. */
const NO_HEALTHCHECK: Readonly<Record<string, string>> = {
  simulate: 'publishes only; its devices are seen in the ingest and the api',
};

// ------------------------------------------------------------------------- Compose's interpolation

/** `KEY=value` lines of an env file; comments and blank lines skipped. */
function parseEnvFile(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) entries.set(match[1] as string, match[2] as string);
  }
  return entries;
}

/**
 * Compose's interpolation of one string (compose-spec, "Interpolation"): `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, and `$$` for a literal `$`. A bare `$VAR`
 * is refused here: the file uses the braced form only. Records the variables it reads.
 */
function interpolate(value: string, env: ReadonlyMap<string, string>, used: Set<string>): string {
  return value.replace(
    /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|[A-Za-z_])/g,
    (_all, ...groups) => {
      const [escapeOrBrace, name, operator, argument] = groups as [string, string?, string?, string?];
      if (escapeOrBrace === '$') return '$';
      if (name === undefined) throw new Error(`bare variable in "${value}": write \${…}`);
      used.add(name);
      const set = env.has(name);
      const text = env.get(name) ?? '';
      switch (operator) {
        case ':-':
          return set && text !== '' ? text : (argument ?? '');
        case '-':
          return set ? text : (argument ?? '');
        case ':?':
          if (!set || text === '') throw new Error(`${name}: ${argument}`);
          return text;
        case '?':
          if (!set) throw new Error(`${name}: ${argument}`);
          return text;
        default:
          return text;
      }
    },
  );
}

function interpolateDeep(value: unknown, env: ReadonlyMap<string, string>, used: Set<string>): unknown {
  if (typeof value === 'string') return interpolate(value, env, used);
  if (Array.isArray(value)) return value.map((item) => interpolateDeep(item, env, used));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateDeep(item, env, used)]),
    );
  }
  return value;
}

// ------------------------------------------------------------------------- the file, as Compose reads it

interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  user?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const envExample = parseEnvFile(read('.env.example'));
/** .env.example with its empty secrets filled, as an operator's .env is. */
const configuredEnv = new Map(
  [...envExample].map(([name, value]) => [
    name,
    value === '' && isSecret(name) ? `${name.toLowerCase()}-0123456789abcdef` : value,
  ]),
);
const raw: unknown = parseYaml(read('docker-compose.yml'), { merge: true });
const used = new Set<string>();
const compose = interpolateDeep(raw, configuredEnv, used) as ComposeFile;
const services = Object.entries(compose.services);

function isSecret(name: string): boolean {
  return /_(SECRET|TOKEN|PASSWORD)$/.test(name);
}

const settingByEnv = new Map(
  (Object.keys(RuntimeConfigSchema.properties) as Array<keyof RuntimeConfig>).map((key) => [
    settingNames(key).env,
    key,
  ]),
);

/** Whether a service runs the platform's image (built from this repository). */
function isPlatform(service: Service): boolean {
  return service.build !== undefined;
}

/** The `facility` command a platform service runs, and its arguments after the command path. */
function facilityCommand(args: readonly string[]): {
  path: string;
  command: Command | undefined;
  rest: string[];
} {
  let command: Command = buildProgram();
  const path: string[] = [];
  let index = 0;
  for (; index < args.length; index++) {
    const sub = command.commands.find((candidate) => candidate.name() === args[index]);
    if (!sub) break;
    command = sub;
    path.push(args[index] as string);
  }
  const pending = Object.keys(PENDING_COMMANDS).find((name) => args.join(' ').startsWith(name));
  if (pending && path.join(' ') !== pending) {
    return { path: pending, command: undefined, rest: args.slice(pending.split(' ').length) };
  }
  return { path: path.join(' '), command: path.length > 0 ? command : undefined, rest: args.slice(index) };
}

/** The settings a platform service's command reads: its flags over its FACILITY_* environment. */
function settingsOf(service: Service): RuntimeConfig {
  const { command, rest } = facilityCommand(service.command ?? []);
  if (!command) throw new Error('not a command of the program');
  command.parseOptions(rest);
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    if (command.getOptionValueSource(key) === 'cli') flags[key] = value;
  }
  const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
  return parseConfig(flags, env);
}

function hostAndContainerPort(mapping: string): [number, number] {
  const match = /^(\d+):(\d+)$/.exec(mapping);
  if (!match) throw new Error(`port "${mapping}" is not HOST:CONTAINER`);
  return [Number(match[1]), Number(match[2])];
}

/** `source:target[:mode]` of a volume entry. */
function volume(entry: string): { source: string; target: string; mode?: string } {
  const [source, target, mode] = entry.split(':') as [string, string, string?];
  return { source, target, ...(mode === undefined ? {} : { mode }) };
}

/** The port a health check asks, from its `http://127.0.0.1:PORT/…`. */
function healthPort(service: Service): number | undefined {
  const match = /127\.0\.0\.1:(\d+)/.exec((service.healthcheck?.test ?? []).join(' '));
  return match ? Number(match[1]) : undefined;
}

const byName = (name: string): Service => {
  const service = compose.services[name];
  if (!service) throw new Error(`no service ${name}`);
  return service;
};

// ------------------------------------------------------------------------- the checks

describe('docker-compose.yml', () => {
  it('has the scaled shape: InfluxDB, Mosquitto and its export, two ingest workers, the api, simulators, Redis, Grafana and its provisioning', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'api',
        'grafana',
        'grafana-provision',
        'influxdb',
        'ingest-a',
        'ingest-b',
        'mosquitto',
        'mosquitto-config',
        'redis',
        'simulate',
      ].sort(),
    );
  });

  it('refuses to start until the secrets are set, naming each', () => {
    const missing: string[] = [];
    for (const name of [...envExample.keys()].filter((key) => isSecret(key) && key !== 'GRAFANA_TOKEN')) {
      const env = new Map(configuredEnv);
      env.set(name, '');
      try {
        interpolateDeep(raw, env, new Set());
      } catch (error) {
        if ((error as Error).message.startsWith(`${name}: set ${name} in .env`)) continue;
        throw error;
      }
      missing.push(name);
    }
    expect(missing, 'secrets compose starts without').toEqual([]);
  });

  it('reads every variable from .env.example, and .env.example holds nothing it does not read', () => {
    expect([...used].filter((name) => !envExample.has(name)).sort(), 'read but not in .env.example').toEqual(
      [],
    );
    expect(
      [...envExample.keys()].filter((name) => !used.has(name)).sort(),
      'in .env.example, not read',
    ).toEqual([]);
    const unknown = [...envExample.keys()].filter(
      (name) => name.startsWith('FACILITY_') && !settingByEnv.has(name),
    );
    expect(unknown, 'FACILITY_* names that are no setting').toEqual([]);
  });

  it('gives every service an image or a build with a Dockerfile running the facility command', () => {
    for (const [name, service] of services) {
      expect(service.image !== undefined || service.build !== undefined, name).toBe(true);
      if (service.build !== undefined) {
        const context = typeof service.build === 'string' ? service.build : service.build.context;
        const dockerfile = join(ROOT, context, 'Dockerfile');
        expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
        expect(readFileSync(dockerfile, 'utf8')).toMatch(/^ENTRYPOINT \["node", "bin\/facility\.js"\]$/m);
      }
    }
  });

  it('runs commands and flags of the real facility program, and FACILITY_* settings each command reads, with valid values', () => {
    for (const [name, service] of services) {
      const environment = Object.keys(service.environment ?? {});
      const unknown = environment.filter((key) => key.startsWith('FACILITY_') && !settingByEnv.has(key));
      expect(unknown, `${name}: FACILITY_* names that are no setting`).toEqual([]);
      if (!isPlatform(service)) continue;

      const args = service.command ?? [];
      const { path, command, rest } = facilityCommand(args);
      expect(path, `${name}: ${args.join(' ')}`).not.toBe('');
      if (!command) {
        // A pending contract: its flags, exactly.
        const flags = rest.filter((arg) => arg.startsWith('--'));
        expect(flags, `${name}: flags of the "${path}" contract`).toEqual(PENDING_COMMANDS[path]);
        continue;
      }
      expect(command.commands, `${name}: "${path}" needs a sub-command`).toEqual([]);
      const { operands, unknown: unknownFlags } = command.parseOptions(rest);
      expect(unknownFlags, `${name}: flags "${path}" does not have`).toEqual([]);
      expect(operands.length, `${name}: operands of "${path}"`).toBeLessThanOrEqual(
        command.registeredArguments.length,
      );
      for (const option of command.options) {
        if (option.mandatory)
          expect(command.getOptionValue(option.attributeName()), `${name}: ${option.long}`).toBeDefined();
      }
      const taken = new Set(command.options.map((option) => option.attributeName()));
      const notRead = environment.filter((key) => {
        const setting = settingByEnv.get(key);
        return setting !== undefined && !taken.has(setting);
      });
      expect(notRead, `${name}: FACILITY_* settings "${path}" does not read`).toEqual([]);
      expect(() => settingsOf(service), name).not.toThrow();
    }
  });

  it('publishes distinct host ports onto the ports the services listen on', () => {
    const hostPorts: number[] = [];
    for (const [name, service] of services) {
      for (const mapping of service.ports ?? []) {
        const [host, container] = hostAndContainerPort(mapping);
        hostPorts.push(host);
        if (name === 'api') expect(container, name).toBe(settingsOf(service).httpPort);
        else if (name === 'mosquitto') expect(String(container)).toBe(exportFlag('--mqtt-port'));
        else expect(container, name).toBe(IMAGE_PORTS[service.image ?? '']);
      }
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('mounts declared volumes and folders of this repository, and declares only volumes it mounts', () => {
    const mounted = new Set<string>();
    for (const [name, service] of services) {
      for (const entry of service.volumes ?? []) {
        const { source, target, mode } = volume(entry);
        expect(target, `${name}: ${entry}`).toMatch(/^\//);
        if (mode !== undefined) expect(['ro', 'rw'], `${name}: ${entry}`).toContain(mode);
        if (source.startsWith('.')) {
          expect(existsSync(join(ROOT, source)), `${name}: ${source}`).toBe(true);
        } else {
          expect(Object.keys(compose.volumes), `${name}: volume ${source}`).toContain(source);
          mounted.add(source);
        }
      }
    }
    expect(Object.keys(compose.volumes).filter((declared) => !mounted.has(declared))).toEqual([]);
    // The InfluxDB image runs executable *.sh files of its init folder after setup.
    const init = join(ROOT, 'deploy/influxdb/init/10-facility-dbrp.sh');
    expect(statSync(init).mode & 0o111, 'the init script is executable').not.toBe(0);
    const script = readFileSync(init, 'utf8').replaceAll('\\\n', ' ');
    expect(script).toMatch(/influx v1 dbrp create .*--db "\$\{bucket\}" --rp autogen --default/);
  });

  it('depends on services that exist, are healthy when waited on healthy, and finish when waited on to finish', () => {
    for (const [name, service] of services) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        const other = byName(target);
        if (condition === 'service_healthy') expect(other.healthcheck, `${name} → ${target}`).toBeDefined();
        else if (condition === 'service_completed_successfully')
          expect(other.restart, `${name} → ${target}`).toBe('no');
        else expect.fail(`${name} → ${target}: condition ${condition}`);
      }
    }
  });

  it('restarts long-running services and checks their health; one-shots run once', () => {
    for (const [name, service] of services) {
      expect(['no', 'unless-stopped', 'always', 'on-failure'], name).toContain(service.restart);
      if (service.restart === 'no') continue;
      if (NO_HEALTHCHECK[name] === undefined) expect(service.healthcheck, name).toBeDefined();
    }
    expect(byName('mosquitto-config').restart).toBe('no');
    expect(byName('grafana-provision').restart).toBe('no');
  });

  it('agrees across services: broker URL, exported configuration, InfluxDB, health-check ports', () => {
    const brokerUrl = `mqtt://mosquitto:${exportFlag('--mqtt-port')}`;
    for (const name of ['ingest-a', 'ingest-b', 'api', 'simulate']) {
      expect(settingsOf(byName(name)).brokerUrl, name).toBe(brokerUrl);
    }
    // The export writes where Mosquitto reads: the same volume at the same folder.
    const mosquitto = byName('mosquitto');
    const configFile = mosquitto.command?.[mosquitto.command.indexOf('-c') + 1] ?? '';
    const out = exportFlag('--out');
    expect(posix.dirname(configFile)).toBe(out);
    const mountAt = (service: Service, target: string) =>
      (service.volumes ?? []).map(volume).find((entry) => entry.target === target)?.source;
    expect(mountAt(mosquitto, out)).toBeDefined();
    expect(mountAt(byName('mosquitto-config'), out)).toBe(mountAt(mosquitto, out));
    expect(mountAt(mosquitto, exportFlag('--persistence-dir'))).toBeDefined();

    // Two workers on the shared subscription, each its own session and health port.
    const workers = ['ingest-a', 'ingest-b'].map((name) => ({ name, config: settingsOf(byName(name)) }));
    expect(workers.every(({ config }) => config.shared)).toBe(true);
    expect(new Set(workers.map(({ config }) => config.ingestId)).size).toBe(2);
    for (const { name, config } of workers) {
      expect(config.metricsPort, name).toBeGreaterThan(0);
      expect(healthPort(byName(name)), name).toBe(config.metricsPort);
      expect(config.host, name).toBe('0.0.0.0');
    }
    expect(healthPort(byName('api'))).toBe(settingsOf(byName('api')).httpPort);

    // The store the platform uses is the bucket, org and token InfluxDB is set up with.
    const influx = byName('influxdb').environment ?? {};
    for (const name of ['ingest-a', 'ingest-b', 'api']) {
      const config = settingsOf(byName(name));
      expect(config.store, name).toBe('influx');
      expect(config.influxUrl, name).toBe(`http://influxdb:${IMAGE_PORTS['influxdb:2.7']}`);
      expect(config.influxOrg, name).toBe(influx.DOCKER_INFLUXDB_INIT_ORG);
      expect(config.influxDatabase, name).toBe(influx.DOCKER_INFLUXDB_INIT_BUCKET);
      expect(config.influxToken, name).toBe(influx.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    }

    // Grafana's data source reaches the same InfluxDB, and the provisioning reaches Grafana.
    const provision = settingsOf(byName('grafana-provision'));
    expect(provision.influxUrl).toBe(`http://influxdb:${IMAGE_PORTS['influxdb:2.7']}`);
    expect(provision.influxDatabase).toBe(influx.DOCKER_INFLUXDB_INIT_BUCKET);
    expect(provision.influxToken).toBe(influx.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    expect(provision.grafanaUrl).toBe(`http://grafana:${IMAGE_PORTS[byName('grafana').image ?? '']}`);
    expect(byName('grafana-provision').environment?.FACILITY_GRAFANA_TOKEN).toBe(
      configuredEnv.get('GRAFANA_TOKEN'),
    );
  });
});

/** A flag's value in the `export mosquitto` one-shot's command. */
function exportFlag(flag: string): string {
  const command = byName('mosquitto-config').command ?? [];
  const index = command.indexOf(flag);
  if (index < 0) throw new Error(`mosquitto-config has no ${flag}`);
  return command[index + 1] as string;
}
