/**
 * What `facility export mosquitto` does (its options are in `../commands/export.ts`): write
 * mosquitto.conf, passwd and acl for the facility into `--out`, or nothing when a device cannot be
 * converted.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { exportMosquitto, type MosquittoFiles } from '../../broker/mosquitto-export.ts';
import { ConfigError, type RuntimeConfig, settingNames } from '../../core/config.ts';
import { DEBIAN_PERSISTENCE_DIR } from '../commands/export.ts';
import { serviceCredentials } from '../parts.ts';
import { loadFacilityOrExit, loadSecrets } from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

/** The files and their modes: the password file and ACL are for the broker's eyes only. */
const FILES: ReadonlyArray<{ name: keyof MosquittoFiles; mode: number }> = [
  { name: 'passwd', mode: 0o600 },
  { name: 'acl', mode: 0o600 },
  { name: 'mosquitto.conf', mode: 0o644 },
];

export async function runExportMosquitto(command: Command): Promise<void> {
  const config = readSettings(command);
  const options = command.opts<{ out: string; configDir?: string; persistenceDir?: string }>();
  const facility = await loadFacilityOrExit(config.facility, 'export mosquitto');
  const deviceSecrets = await withSettings(command, () => readDeviceSecrets(config));
  const { serviceSecret } = await loadSecrets(config);
  const out = resolve(options.out);
  const tls = withSettings(command, () => tlsFiles(config));
  const result = await exportMosquitto({
    facility,
    services: serviceCredentials(serviceSecret),
    ...(deviceSecrets === undefined
      ? {}
      : { deviceSecrets, deviceSecretsSource: config.deviceSecrets as string }),
    configDir: resolve(options.configDir ?? out),
    persistenceDir: options.persistenceDir ?? DEBIAN_PERSISTENCE_DIR,
    host: config.host,
    mqttPort: config.mqttPort,
    ...(config.mqttWsPort > 0 ? { wsPort: config.mqttWsPort } : {}),
    ...(tls === undefined ? {} : { tls }),
    maxPayloadBytes: config.maxPayloadBytes,
    maxConnections: config.maxConnections,
    source: config.facility ?? 'the built-in demo facility',
  });
  if (!result.ok) {
    process.stderr.write(
      `${result.problems.join('\n')}\n\nfacility export mosquitto: ${result.problems.length} problem(s); ` +
        `nothing written\n`,
    );
    process.exitCode = 1;
    return;
  }
  await mkdir(out, { recursive: true });
  for (const { name, mode } of FILES) await writeAtomically(join(out, name), result.files[name], mode);
  process.stdout.write(
    `export mosquitto: ${result.devices} devices and ${result.services} services → ` +
      `${FILES.map(({ name }) => join(out, name)).join(', ')}\n` +
      `run: mosquitto -c ${join(resolve(options.configDir ?? out), 'mosquitto.conf')}\n`,
  );
}

/** TLS files as Mosquitto will see them; both or neither. */
function tlsFiles(config: RuntimeConfig): { certFile: string; keyFile: string; port: number } | undefined {
  if (config.tlsCert === undefined && config.tlsKey === undefined) return undefined;
  if (config.tlsCert === undefined || config.tlsKey === undefined) {
    const missing = settingNames(config.tlsCert === undefined ? 'tlsCert' : 'tlsKey');
    throw new ConfigError([
      `${missing.flag} / ${missing.env}: MQTT over TLS needs both a certificate and a key`,
    ]);
  }
  return { certFile: config.tlsCert, keyFile: config.tlsKey, port: config.mqttTlsPort };
}

/** The device secrets file: a YAML map of device id → secret (a string). */
async function readDeviceSecrets(config: RuntimeConfig): Promise<Map<string, string> | undefined> {
  const file = config.deviceSecrets;
  if (file === undefined) return undefined;
  const { flag, env } = settingNames('deviceSecrets');
  const problem = (text: string) => new ConfigError([`${flag} / ${env}: ${file}: ${text}`]);
  let parsed: unknown;
  try {
    parsed = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw problem((error as Error).message);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw problem('must be a YAML map of device id to secret, e.g. "b1-e-main: 8f3c…"');
  }
  const secrets = new Map<string, string>();
  const bad: string[] = [];
  for (const [id, secret] of Object.entries(parsed)) {
    if (typeof secret === 'string' && secret.length > 0) secrets.set(id, secret);
    else bad.push(id);
  }
  if (bad.length > 0) throw problem(`the secret of ${bad.join(', ')} must be a non-empty string (quote it)`);
  return secrets;
}

/** Writes through a temporary file and a rename, so that a reader never sees half a file. */
async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode });
  await chmod(temporary, mode);
  await rename(temporary, path);
}
