/** What the end-to-end tests share: the demo facility, and waiting for a condition with a readable timeout. */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { loadFacility } from '../../core/facility/load.ts';
import type { Facility } from '../../core/facility/schema.ts';

/** The built-in demo facility, loaded and validated. */
export function demoFacility(): Facility {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error('the demo facility does not load');
  return loaded.facility;
}

/** Waits until `condition` holds, polling every `everyMs`; the error names `what`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs: number,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await sleep(everyMs);
  }
}
