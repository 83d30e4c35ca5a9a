/**
 * vitest globalSetup: one real `influxd` for the whole run, in a fresh temporary folder on free
 * 127.0.0.1 ports. Tests read its URL with `inject('influxUrl')` and make their own database.
 */
import type { TestProject } from 'vitest/node';
import { InfluxdProcess } from './influxd-process.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the shared test influxd, e.g. `http://127.0.0.1:40123`. */
    influxUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const influxd = await InfluxdProcess.create();
  try {
    await influxd.start();
  } catch (error) {
    await influxd.dispose();
    throw error;
  }
  project.provide('influxUrl', influxd.url);
  return () => influxd.dispose();
}
