/**
 * `facility export mosquitto` against Debian's real Mosquitto 2 (issue 12, "Scale-out with real
 * parts"): the MQTT security contract that the embedded broker passes (broker-security-contract.ts)
 * runs unchanged against a `mosquitto` started with the exported files; the password hashes are
 * the ones `mosquitto_passwd` writes; and the command, run for real, refuses to write anything
 * while a device given only by `secretHash` has no secret, and converts it once given one.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { exportMosquitto, mosquittoPasswordHash } from '../../broker/mosquitto-export.ts';
import { DEMO_FACILITY_PATH, hashSecret } from '../../core/facility/index.ts';
import { freePorts } from '../setup/influxd-process.ts';
import { MosquittoProcess } from '../setup/mosquitto-process.ts';
import { connectClient, refusedWith } from '../setup/mqtt-clients.ts';
import {
  brokerSecurityContract,
  MAX_PAYLOAD_BYTES,
  SENSOR,
  SERVICES,
  SITE,
} from './broker-security-contract.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** A folder removed when the test ends. */
async function tempFolder(prefix: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

brokerSecurityContract('Mosquitto with the exported configuration', async (facility, services) => {
  const dir = await mkdtemp(join(tmpdir(), 'sfp-contract-mosquitto-'));
  const [port] = await freePorts(1);
  await mkdir(join(dir, 'data'));
  const exported = await exportMosquitto({
    facility,
    services,
    // The contract's sensor is given only by secretHash: its secret comes from the operator.
    deviceSecrets: new Map([[SENSOR.id, SENSOR.secret]]),
    configDir: dir,
    persistenceDir: join(dir, 'data'),
    host: '127.0.0.1',
    mqttPort: port,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    maxConnections: 1000,
    source: 'the contract facility',
  });
  if (!exported.ok) throw new Error(exported.problems.join('\n'));
  for (const [name, text] of Object.entries(exported.files)) await writeFile(join(dir, name), text);
  const mosquitto = await MosquittoProcess.create({ exportDir: dir, port });
  const dispose = async () => {
    await mosquitto.dispose();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mosquitto.start();
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    broker: {
      url: mosquitto.url,
      badCredentialsCode: 5,
      deniedSubscription: 'granted',
      ingest: { protocolVersion: 5, shared: true },
    },
    stop: dispose,
  };
});

describe('facility export mosquitto', () => {
  it("hashes passwords exactly as mosquitto_passwd does (PBKDF2-SHA512, '$7$')", async () => {
    const dir = await tempFolder('sfp-passwd-');
    const file = join(dir, 'passwd');
    await run('mosquitto_passwd', ['-c', '-b', file, 'alice', 'pässword with spaces']);
    const line = (await readFile(file, 'utf8')).trim();
    const [, hash] = line.split(':') as [string, string];
    const [, , iterations, salt] = hash.split('$') as [string, string, string, string];
    expect(hash).toMatch(/^\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(
      await mosquittoPasswordHash('pässword with spaces', {
        iterations: Number(iterations),
        salt: Buffer.from(salt, 'base64'),
      }),
    ).toBe(hash);
    expect(
      await mosquittoPasswordHash('wrong', {
        iterations: Number(iterations),
        salt: Buffer.from(salt, 'base64'),
      }),
    ).not.toBe(hash);
  });

  it('refuses, naming each device, a facility whose devices have only a secretHash; converts them given their secrets', {
    timeout: 60_000,
  }, async () => {
    const dir = await tempFolder('sfp-export-cli-');
    const demo = await readFile(DEMO_FACILITY_PATH, 'utf8');
    // Two devices of the demo facility given only by secretHash, as a real deployment gives them.
    const secrets = { [SENSOR.id]: 'sensor secret 1', v01: 'vehicle secret 2' };
    let facilityText = demo;
    for (const [id, secret] of Object.entries(secrets)) {
      const hashed = await hashSecret(secret, { N: 1024, r: 8, p: 1 });
      const plain = `secret: demo-${id} }`;
      expect(facilityText, id).toContain(plain);
      facilityText = facilityText.replace(plain, `secretHash: "${hashed}" }`);
    }
    const facilityFile = join(dir, 'site.yaml');
    await writeFile(facilityFile, facilityText);
    const out = join(dir, 'mosquitto');
    const [port] = await freePorts(1);
    const exportArgs = [
      ...['bin/facility.js', 'export', 'mosquitto', '--facility', facilityFile, '--out', out],
      ...['--data', join(dir, 'state'), '--persistence-dir', join(dir, 'data')],
      ...['--host', '127.0.0.1', '--mqtt-port', String(port), '--max-payload-bytes', '2048'],
    ];
    const exportCommand = (extra: string[] = []) =>
      run(process.execPath, [...exportArgs, ...extra], {
        cwd: ROOT,
        env: { ...process.env, FACILITY_SERVICE_SECRET: 'export-test-service-secret' },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );

    // Without the secrets: every such device named, with the fix, and nothing written.
    const refused = await exportCommand();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `sensor ${SENSOR.id}: has only a secretHash (scrypt), which Mosquitto cannot check`,
    );
    expect(refused.stderr).toContain('vehicle v01: has only a secretHash (scrypt)');
    expect(refused.stderr).toMatch(/--device-secrets FILE or FACILITY_DEVICE_SECRETS/);
    expect(refused.stderr).toMatch(/2 problem\(s\); nothing written/);
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });

    // A wrong secret, and an id that is no device: refused too.
    const secretsFile = join(dir, 'device-secrets.yaml');
    await writeFile(secretsFile, `${SENSOR.id}: "sensor secret 1"\nv01: "not it"\nv99: "x"\n`);
    const wrong = await exportCommand(['--device-secrets', secretsFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`vehicle v01: the secret in ${secretsFile} does not match its secretHash`);
    expect(wrong.stderr).toContain(`${secretsFile}: "v99" is not a device of the facility file`);
    expect(wrong.stderr).not.toContain(SENSOR.id);
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });

    // The right secrets, from FACILITY_DEVICE_SECRETS.
    await writeFile(secretsFile, `${SENSOR.id}: "sensor secret 1"\nv01: "vehicle secret 2"\n`);
    const done = await run(process.execPath, exportArgs, {
      cwd: ROOT,
      env: {
        ...process.env,
        FACILITY_SERVICE_SECRET: 'export-test-service-secret',
        FACILITY_DEVICE_SECRETS: secretsFile,
      },
    });
    expect(done.stdout).toMatch(/^export mosquitto: 77 devices and 3 services → /);
    const mode = async (name: string) => (await stat(join(out, name))).mode & 0o777;
    expect({
      passwd: await mode('passwd'),
      acl: await mode('acl'),
      conf: await mode('mosquitto.conf'),
    }).toEqual({
      passwd: 0o600,
      acl: 0o600,
      conf: 0o644,
    });
    const conf = await readFile(join(out, 'mosquitto.conf'), 'utf8');
    for (const line of [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${out}/passwd`,
      `acl_file ${out}/acl`,
      'message_size_limit 2048',
      'max_queued_messages 0',
      'persistence true',
    ]) {
      expect(conf.split('\n'), line).toContain(line);
    }
    expect(conf).not.toMatch(/^persistent_client_expiration/m);
    const passwd = await readFile(join(out, 'passwd'), 'utf8');
    expect(passwd.trim().split('\n')).toHaveLength(80);
    expect(passwd).not.toContain('secret');

    // The real Mosquitto takes the files: the converted devices log in with their secrets.
    await mkdir(join(dir, 'data'));
    const mosquitto = await MosquittoProcess.create({ exportDir: out, port });
    onTestFinished(() => mosquitto.dispose());
    await mosquitto.start();
    const sensor = await connectClient(mosquitto.url, {
      clientId: SENSOR.id,
      username: SENSOR.id,
      password: 'sensor secret 1',
    });
    await sensor.publishAsync(`fac/${SITE}/sensor/${SENSOR.id}/state`, '{}', { qos: 1 });
    const vehicle = await connectClient(mosquitto.url, {
      clientId: 'v01',
      username: 'v01',
      password: 'vehicle secret 2',
    });
    expect([sensor.connected, vehicle.connected]).toEqual([true, true]);
    expect(await refusedWith(mosquitto.url, { clientId: 'v01', username: 'v01', password: 'demo-v01' })).toBe(
      5,
    );
    const ingest = SERVICES.find((service) => service.service === 'ingest');
    expect(ingest).toBeDefined();
    const service = await connectClient(mosquitto.url, {
      clientId: 'svc-ingest-x',
      username: 'svc-ingest',
      password: 'export-test-service-secret',
      protocolVersion: 5,
    });
    expect(service.connected).toBe(true);
  });
});
