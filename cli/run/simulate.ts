/**
 * What `facility simulate` does (its options are in `../commands/simulate.ts`): the simulators of
 * every device of the facility, as MQTT clients of the broker, until Ctrl-C or `--duration`.
 */
import type { Command } from 'commander';
import { LiveSimulator, type LiveStats } from '../../simulators/live.ts';
import { createSimulation } from '../../simulators/simulation.ts';
import { createLogger, Lifecycle, loadFacilityOrExit, untilSignal } from '../platform.ts';
import { readSettings } from '../read-settings.ts';

const MINUTE_MS = 60_000;

export async function runSimulate(command: Command): Promise<void> {
  const config = readSettings(command);
  const options = command.opts<{ from?: number; devices?: string; duration?: number }>();
  const logger = createLogger(config);
  const facility = await loadFacilityOrExit(config.facility, 'simulate');
  const simulation = createSimulation(facility, { seed: config.seed });
  const known = new Set(simulation.devices().map((d) => d.id));
  const devices = options.devices
    ?.split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const unknown = devices?.filter((id) => !known.has(id)) ?? [];
  if (unknown.length > 0) {
    command.error(`facility simulate: --devices: no device ${unknown.map((id) => `"${id}"`).join(', ')}`, {
      exitCode: 2,
    });
  }
  const life = new Lifecycle(logger);
  const live = new LiveSimulator({
    simulation,
    brokerUrl: config.brokerUrl,
    speed: config.speed,
    start: options.from ?? Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS,
    ...(devices ? { devices } : {}),
    // Off unless asked: this command keeps no state, and a restart would forget an episode whose
    // leak and trip the store already holds (see simulators/showcase.ts).
    showcase: config.showcase ?? false,
    logger,
  });
  try {
    await life.start('simulators', live);
    const stats = live.stats();
    process.stdout.write(
      `simulate: ${stats.devices} devices 台 → ${config.brokerUrl}, speed ×${config.speed}, seed ${config.seed}\n`,
    );
    for (const fault of live.showcase()) {
      process.stdout.write(`simulate: showcase 演示故障: ${fault.description}\n`);
    }
    const { duration } = options;
    await (duration === undefined
      ? untilSignal()
      : Promise.race([untilSignal(), new Promise((r) => setTimeout(r, duration * MINUTE_MS))]));
    await life.stop();
    process.stdout.write(`${simulateSummary(live.stats())}\n`);
  } finally {
    await life.stop();
  }
}

/** The line `facility simulate` prints when it stops. */
export function simulateSummary(stats: LiveStats): string {
  const n = (value: number) => value.toLocaleString('en-US');
  return (
    `simulate: published ${n(stats.messages)} messages (${n(stats.readings)} readings), ` +
    `acknowledged ${n(stats.acknowledged)}, errors ${n(stats.errors)}`
  );
}
