/**
 * The built-in demo facility: a fictional provincial government compound in Chengdu, shipped
 * with the product and used by its tests and simulators. This module only names the file;
 * reading it is the caller's business (core does no I/O).
 */
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of `demo-facility.yaml`, the reference facility (format version 1), beside this
 * module. Compiled into `dist/core/facility/` (scripts/build.js), this module names the same file
 * in the sources: there is one demo file to read, edit and show.
 */
export const DEMO_FACILITY_PATH: string = fileURLToPath(
  new URL(
    /\/dist\/core\/facility\/demo\.js$/.test(import.meta.url)
      ? '../../../core/facility/demo-facility.yaml'
      : './demo-facility.yaml',
    import.meta.url,
  ),
);
