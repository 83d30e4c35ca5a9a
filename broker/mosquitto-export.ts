/**
 * The facility's MQTT security and limits as Mosquitto 2 configuration, so that an external
 * Mosquitto can take the embedded broker's place (README, "Scaling out"):
 *
 * * `passwd`: every device and platform service, the password hashed the way `mosquitto_passwd`
 *   does (PBKDF2-HMAC-SHA512, `$7$iterations$salt$hash`, see {@link mosquittoPasswordHash});
 * * `acl`: the embedded broker's rules (broker/auth.ts), written per user: a device publishes
 *   only its own data channel and `status`, subscribes only under its own topics, and gets
 *   nothing of `$SYS`; the services read and write `fac/#` and read `$SYS/#`; ingest workers
 *   publish their status under `platform/ingest/` and the api reads it;
 * * `mosquitto.conf`: listeners, the payload and connection limits, and the settings that keep a
 *   shared-subscription ingest lossless (see {@link mosquittoConf}).
 *
 * A device given only by `secretHash` (scrypt) cannot be converted: Mosquitto cannot check scrypt,
 * and a hash cannot be turned back into the secret. Its secret must be handed to the export;
 * the secret is checked against the `secretHash` before it is written. The functions here are pure
 * but for the hashing; the `facility export mosquitto` command writes the files.
 */
import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Facility } from '../core/facility/schema.ts';
import { verifySecret } from '../core/facility/secret-hash.ts';
import { INGEST_WORKER_STATUS_ROOT } from '../core/ingest-workers.ts';
import {
  DATA_CHANNEL,
  type DeviceKind,
  deviceTopicPrefix,
  STATUS_CHANNEL,
  TOPIC_ROOT,
} from '../core/telemetry.ts';
import type { ServiceCredential } from './auth.ts';

const pbkdf2Async = promisify(pbkdf2);

/**
 * PBKDF2 iterations of the exported password hashes. `mosquitto_passwd` 2.0 writes 101; more
 * iterations cost every login more CPU in the broker. Device secrets should be long random
 * strings, for which the count matters little; 1,000 keeps a broker restart with 10,000
 * reconnecting devices to about a second of hashing.
 */
export const MOSQUITTO_PBKDF2_ITERATIONS = 1000;

/** Salt bytes of a `$7$` hash, as `mosquitto_passwd` writes (12). */
const SALT_BYTES = 12;
/** SHA-512 output: the derived key of a `$7$` hash. */
const KEY_BYTES = 64;

/**
 * A password hashed as Mosquitto 2's password file holds it:
 * `$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512(password, salt, iterations, 64)>`.
 */
export async function mosquittoPasswordHash(
  password: string,
  options: { iterations?: number; salt?: Buffer } = {},
): Promise<string> {
  const iterations = options.iterations ?? MOSQUITTO_PBKDF2_ITERATIONS;
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const key = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, KEY_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Where Mosquitto finds the files, and how it listens. */
export interface MosquittoExportOptions {
  readonly facility: Facility;
  /** The platform's own clients (svc-ingest, svc-api, svc-simulator). */
  readonly services: readonly ServiceCredential[];
  /** Secrets of devices the facility file gives only by `secretHash`: device id → secret. */
  readonly deviceSecrets?: ReadonlyMap<string, string>;
  /** Where the secrets came from, for messages: `--device-secrets site-secrets.yaml`. */
  readonly deviceSecretsSource?: string;
  /** Folder Mosquitto reads `passwd` and `acl` from (absolute). */
  readonly configDir: string;
  /** Folder of Mosquitto's persistence file `mosquitto.db` (absolute). */
  readonly persistenceDir: string;
  /** Listen address. */
  readonly host: string;
  /** MQTT over TCP. */
  readonly mqttPort: number;
  /** MQTT over WebSocket; none when absent. */
  readonly wsPort?: number;
  /** MQTT over TLS with these PEM files (paths as Mosquitto sees them); none when absent. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly port: number };
  /** Largest payload, bytes. */
  readonly maxPayloadBytes: number;
  /** Most clients at once, per listener. */
  readonly maxConnections: number;
  /** The facility file, for the header comment. */
  readonly source: string;
  /** PBKDF2 iterations; default {@link MOSQUITTO_PBKDF2_ITERATIONS}. */
  readonly iterations?: number;
}

/** The three files, by name. */
export interface MosquittoFiles {
  readonly 'mosquitto.conf': string;
  readonly passwd: string;
  readonly acl: string;
}

/** Outcome of {@link exportMosquitto}: the files, or every device that cannot be converted. */
export type MosquittoExport =
  | { readonly ok: true; readonly files: MosquittoFiles; readonly devices: number; readonly services: number }
  | { readonly ok: false; readonly problems: readonly string[] };

interface Device {
  readonly kind: DeviceKind;
  readonly id: string;
  readonly secret?: string;
  readonly secretHash?: string;
}

function devicesOf(facility: Facility): Device[] {
  return [
    ...facility.meters.map((device) => ({ ...device, kind: 'meter' as const })),
    ...facility.vehicles.map((device) => ({ ...device, kind: 'vehicle' as const })),
    ...facility.sensors.map((device) => ({ ...device, kind: 'sensor' as const })),
  ];
}

/**
 * The password of each device, or a problem naming the device and the fix. Every problem is
 * reported, and none of the files is produced while there is one, so that no device is left
 * with a broken or missing entry.
 */
async function devicePasswords(
  options: MosquittoExportOptions,
): Promise<{ passwords: Map<string, string>; problems: string[] }> {
  const devices = devicesOf(options.facility);
  const given = options.deviceSecrets ?? new Map<string, string>();
  const source = options.deviceSecretsSource ?? 'the device secrets file';
  const problems: string[] = [];
  const passwords = new Map<string, string>();
  const known = new Set(devices.map((device) => device.id));
  for (const id of given.keys()) {
    if (!known.has(id)) problems.push(`${source}: "${id}" is not a device of the facility file`);
  }
  await Promise.all(
    devices.map(async (device) => {
      const name = `${device.kind} ${device.id}`;
      const secret = given.get(device.id);
      if (device.secret !== undefined) {
        if (secret !== undefined && secret !== device.secret) {
          problems.push(
            `${name}: ${source} gives a secret other than the facility file's; remove one of them`,
          );
          return;
        }
        passwords.set(device.id, device.secret);
        return;
      }
      if (device.secretHash === undefined) {
        problems.push(`${name}: has no credential in the facility file`);
        return;
      }
      if (secret === undefined) {
        problems.push(
          `${name}: has only a secretHash (scrypt), which Mosquitto cannot check and which cannot be ` +
            `turned back into the secret; give its secret in a device secrets file ` +
            `(YAML "${device.id}: <secret>", --device-secrets FILE or FACILITY_DEVICE_SECRETS)`,
        );
        return;
      }
      if (!(await verifySecret(secret, device.secretHash))) {
        problems.push(`${name}: the secret in ${source} does not match its secretHash`);
        return;
      }
      passwords.set(device.id, secret);
    }),
  );
  return { passwords, problems: problems.sort() };
}

/** Builds the three files, or says why it cannot. */
export async function exportMosquitto(options: MosquittoExportOptions): Promise<MosquittoExport> {
  const deviceIds = new Set(devicesOf(options.facility).map((device) => device.id));
  const problems: string[] = [];
  for (const service of options.services) {
    if (deviceIds.has(service.username)) {
      problems.push(`service ${service.service}: user name "${service.username}" is a device id`);
    }
  }
  const { passwords, problems: deviceProblems } = await devicePasswords(options);
  problems.push(...deviceProblems);
  if (problems.length > 0) return { ok: false, problems };

  const iterations = options.iterations ?? MOSQUITTO_PBKDF2_ITERATIONS;
  const users = [
    ...options.services.map((service) => [service.username, service.password] as const),
    ...devicesOf(options.facility).map((device) => [device.id, passwords.get(device.id) as string] as const),
  ];
  const lines = await Promise.all(
    users.map(async ([user, password]) => `${user}:${await mosquittoPasswordHash(password, { iterations })}`),
  );
  return {
    ok: true,
    devices: deviceIds.size,
    services: options.services.length,
    files: {
      'mosquitto.conf': mosquittoConf(options),
      passwd: `${lines.join('\n')}\n`,
      acl: mosquittoAcl(options.facility, options.services, options.source),
    },
  };
}

/**
 * The ACL file: the embedded broker's rules (broker/auth.ts `authorizePublish`,
 * `authorizeSubscribe`) written out per user. Mosquitto checks a subscription against `read`
 * rules with the filter itself, so `fac/#` or `+/…` from a device matches no rule of its own and
 * is refused; `$share/{group}/` is taken off before the check. A client gets nothing of `$SYS`
 * unless a rule says so.
 */
export function mosquittoAcl(
  facility: Facility,
  services: readonly ServiceCredential[],
  source: string,
): string {
  const out = [
    '# Topic ACL of the Smart Facility Platform, written by',
    `# \`facility export mosquitto\` from ${source}.`,
    '# Regenerate it rather than edit it. Clients without a user name have no rule here: nothing.',
    '',
  ];
  for (const service of services) {
    out.push(`user ${service.username}`);
    out.push(`topic readwrite ${TOPIC_ROOT}/#`);
    out.push('topic read $SYS/#');
    if (service.service === 'ingest') out.push(`topic write ${INGEST_WORKER_STATUS_ROOT}/#`);
    if (service.service === 'api') out.push(`topic read ${INGEST_WORKER_STATUS_ROOT}/#`);
    out.push('');
  }
  for (const device of devicesOf(facility)) {
    const prefix = deviceTopicPrefix(facility.site.id, device.kind, device.id);
    out.push(`user ${device.id}`);
    out.push(`topic write ${prefix}${DATA_CHANNEL[device.kind]}`);
    out.push(`topic write ${prefix}${STATUS_CHANNEL}`);
    // `…/{id}/#` also matches `…/{id}` itself (MQTT 3.1.1 §4.7.1.2), as the embedded rule allows.
    out.push(`topic read ${prefix}#`);
    out.push('');
  }
  return out.join('\n');
}

/**
 * Bytes a packet may have beyond the payload limit (fixed header, topic, packet id, properties),
 * as the embedded broker allows (broker.ts `PACKET_OVERHEAD_BYTES`).
 */
const PACKET_OVERHEAD_BYTES = 4096;

/**
 * `mosquitto.conf`. Besides listeners and limits, it holds what a shared-subscription ingest
 * needs to lose nothing (README, "Scaling out"):
 *
 * * `max_queued_messages 0`: no cap on a client's queue. Mosquitto hands each member of a share
 *   group its turn whether or not it is connected; the turns of a worker that is away queue in its
 *   session, and past the default cap of 1,000 they are dropped, though the devices had their
 *   PUBACK. The queue lives in the broker's memory: size it (README).
 * * `max_inflight_messages 0`: MQTT 3.1.1 clients get every message without a cap of 20 in flight
 *   (an MQTT 5 client, as the shared ingest is, sets its own Receive Maximum); the ingest
 *   acknowledges a message only after its batch is committed, so 20 would throttle it to a few
 *   hundred messages a second and grow the queue.
 * * no `persistent_client_expiration`: a worker's session, and the share queued in it, is kept
 *   until the worker comes back, however long; expiring it would drop acknowledged messages.
 *   The api's health names a worker that is away (README).
 * * `persistence true`: sessions, subscriptions and queues survive a restart of Mosquitto
 *   (saved at shutdown and every `autosave_interval` seconds).
 */
export function mosquittoConf(options: MosquittoExportOptions): string {
  const listeners = [
    `listener ${options.mqttPort} ${options.host}`,
    'protocol mqtt',
    `max_connections ${options.maxConnections}`,
  ];
  if (options.wsPort !== undefined) {
    listeners.push(
      '',
      `listener ${options.wsPort} ${options.host}`,
      'protocol websockets',
      `max_connections ${options.maxConnections}`,
    );
  }
  if (options.tls !== undefined) {
    listeners.push(
      '',
      `listener ${options.tls.port} ${options.host}`,
      'protocol mqtt',
      `certfile ${options.tls.certFile}`,
      `keyfile ${options.tls.keyFile}`,
      `max_connections ${options.maxConnections}`,
    );
  }
  const dir = (folder: string) => (folder.endsWith('/') ? folder : `${folder}/`);
  return [
    '# Mosquitto 2 configuration of the Smart Facility Platform, written by',
    `# \`facility export mosquitto\` from ${options.source}.`,
    '# Regenerate it rather than edit it.',
    '',
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${dir(options.configDir)}passwd`,
    `acl_file ${dir(options.configDir)}acl`,
    '',
    '# Listeners. max_connections counts per listener (the embedded broker counts them together).',
    ...listeners,
    '',
    '# Payload limit, as the embedded broker: a larger payload is refused; a packet longer than the',
    '# limit plus room for the header closes the connection. Mosquitto has no per-device publish',
    '# rate limit (the embedded broker has --device-publish-rate).',
    `message_size_limit ${options.maxPayloadBytes}`,
    `max_packet_size ${options.maxPayloadBytes + PACKET_OVERHEAD_BYTES}`,
    '',
    '# Lossless shared-subscription ingest ($share/ingest/fac/#), see README "Scaling out":',
    "# no cap on a client's queue (the default, 1000, drops the turns of a worker that is away);",
    '# no cap on messages in flight to MQTT 3.1.1 clients (MQTT 5 clients set Receive Maximum);',
    '# sessions never expire (no persistent_client_expiration): a worker that is away keeps its',
    "# share until it is back, and the api's health names it meanwhile.",
    'max_queued_messages 0',
    'max_inflight_messages 0',
    'persistence true',
    `persistence_location ${dir(options.persistenceDir)}`,
    'autosave_interval 60',
    '',
    'set_tcp_nodelay true',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
    '',
  ].join('\n');
}
