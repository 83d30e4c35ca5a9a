/**
 * `facility simulate`: the device simulators alone, publishing as real devices to any broker —
 * the part to run next to `facility broker` and `facility ingest`, or against a broker of your own.
 * What it does is in `../run/simulate.ts`, loaded when it runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { addSettings } from '../settings.ts';

function parseInstant(value: string): number {
  const time = Date.parse(value);
  if (!Number.isFinite(time)) {
    throw new InvalidArgumentError(
      `"${value}" is not a date-time; use ISO 8601, e.g. 2026-11-01T08:00:00+08:00`,
    );
  }
  return time;
}

function parseMinutes(value: string): number {
  const minutes = Number(value);
  if (!Number.isFinite(minutes) || minutes <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive number of minutes`);
  }
  return minutes;
}

export function simulateCommand(): Command {
  const command = new Command('simulate')
    .summary('run the device simulators alone 单独运行设备模拟器')
    .description(
      'Publish the simulated readings of every meter, vehicle and room sensor of the facility to ' +
        'an MQTT broker, each device logging in with its own id and secret — in real time, or ' +
        'faster with --speed (a run started in the past with --from catches up with the present ' +
        'and then goes on in real time).\n\n' +
        '以设施文件中的设备身份向 MQTT 服务发布模拟数据。',
    );
  addSettings(command, ['facility', 'brokerUrl', 'speed', 'seed', 'showcase', 'logLevel']);
  command
    .addOption(
      new Option('--from <instant>', 'simulated start, ISO 8601 (default: now) 模拟起点').argParser(
        parseInstant,
      ),
    )
    .addOption(new Option('--devices <ids>', 'only these device ids, comma-separated 仅这些设备'))
    .addOption(
      new Option('--duration <minutes>', 'stop after this many real minutes 运行时长').argParser(
        parseMinutes,
      ),
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  facility simulate --broker-url mqtt://127.0.0.1:1883\n' +
        '  facility simulate --from 2026-11-27T00:00:00+08:00 --speed 60   # replay yesterday at 60×\n' +
        '  facility simulate --showcase   # a water leak, an empty room conditioned, a car out of the area, at once\n',
    );
  return command.action(async () => {
    const { runSimulate } = await import('../run/simulate.ts');
    await runSimulate(command);
  });
}
