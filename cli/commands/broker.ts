/**
 * `facility broker`: the MQTT broker alone (device authentication, ACL, limits, sessions), or
 * with `--ingest` the broker with the in-process ingest, as in `facility start`. What it does is
 * in `../run/broker.ts`, loaded when it runs.
 */
import { Command } from 'commander';
import { addSettings, BROKER_SETTINGS, STORE_SETTINGS } from '../settings.ts';

export function brokerCommand(): Command {
  const command = new Command('broker')
    .summary('run the MQTT broker alone, or with the ingest inside it 单独运行 MQTT 服务')
    .description(
      'Run the embedded MQTT broker (aedes): devices log in with their id and secret from the ' +
        'facility file and may publish only their own topics; the platform services log in as ' +
        'svc-ingest / svc-api / svc-simulator with the service secret. With --ingest, the ingest ' +
        'runs inside the broker (no MQTT hop, no ingest session): each device message is ' +
        'validated and stored before the broker acknowledges it.',
    );
  addSettings(command, [
    'facility',
    'data',
    ...BROKER_SETTINGS,
    'ingest',
    ...STORE_SETTINGS,
    'spoolMaxMb',
    'serviceSecret',
    'logLevel',
  ]);
  command.addHelpText(
    'after',
    '\nExamples:\n' +
      '  facility broker                                  # the broker alone\n' +
      '  facility broker --ingest                         # broker and ingest into data/facility.duckdb\n' +
      '  facility broker --ingest --store influx --influx-url http://influx:8086\n',
  );
  return command.action(async () => {
    const { runBroker } = await import('../run/broker.ts');
    await runBroker(command);
  });
}
