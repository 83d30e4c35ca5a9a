/**
 * Debian's Mosquitto configured by `facility export mosquitto`, run as the real command
 * (`node bin/facility.js export mosquitto …`) into a temporary folder, on a free port of
 * 127.0.0.1. What the scale-out tests run their workers behind.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePorts } from './influxd-process.ts';
import { MosquittoProcess } from './mosquitto-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

export interface ExportedMosquittoOptions {
  /** The service secret (FACILITY_SERVICE_SECRET) the export writes for svc-ingest, svc-api… */
  readonly serviceSecret: string;
  /** More arguments for the export (e.g. `--facility FILE`). */
  readonly args?: readonly string[];
  /** Lines after the exported configuration, overriding it (see {@link MosquittoProcess}). */
  readonly extraConfig?: string;
}

/** An exported configuration and the Mosquitto running it; `dispose()` removes both. */
export interface ExportedMosquitto {
  readonly mosquitto: MosquittoProcess;
  /** The export's folder (`mosquitto.conf`, `passwd`, `acl`, `data/`). */
  readonly exportDir: string;
  dispose(): Promise<void>;
}

/** Exports, starts Mosquitto on the export, and waits until it listens. */
export async function startExportedMosquitto(options: ExportedMosquittoOptions): Promise<ExportedMosquitto> {
  const exportDir = await mkdtemp(join(tmpdir(), 'sfp-export-'));
  const removeExport = () => rm(exportDir, { recursive: true, force: true });
  try {
    const [port] = await freePorts(1);
    await mkdir(join(exportDir, 'data'));
    await run(
      process.execPath,
      [
        'bin/facility.js',
        'export',
        'mosquitto',
        ...[
          '--out',
          exportDir,
          '--persistence-dir',
          join(exportDir, 'data'),
          '--data',
          join(exportDir, 'state'),
        ],
        ...['--host', '127.0.0.1', '--mqtt-port', String(port)],
        ...(options.args ?? []),
      ],
      { cwd: ROOT, env: { ...process.env, FACILITY_SERVICE_SECRET: options.serviceSecret } },
    );
    const mosquitto = await MosquittoProcess.create({
      exportDir,
      port,
      ...(options.extraConfig === undefined ? {} : { extraConfig: options.extraConfig }),
    });
    try {
      await mosquitto.start();
    } catch (error) {
      await mosquitto.dispose();
      throw error;
    }
    return {
      mosquitto,
      exportDir,
      dispose: async () => {
        await mosquitto.dispose();
        await removeExport();
      },
    };
  } catch (error) {
    await removeExport();
    throw error;
  }
}
