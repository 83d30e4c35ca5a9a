/**
 * `facility ingest`: one ingest worker alone, an MQTT client of any broker (the scale-out path,
 * with `--shared` on an MQTT 5 broker). What it does is in `../run/ingest.ts`, loaded when it runs.
 */
import { Command, Option } from 'commander';
import { addSettings, STORE_SETTINGS } from '../settings.ts';

export function ingestCommand(): Command {
  const command = new Command('ingest')
    .summary('run one ingest worker alone 单独运行数据接入')
    .description(
      'Subscribe to the telemetry of a broker (fac/#, or the MQTT 5 shared subscription ' +
        '$share/ingest/fac/# with --shared), validate every message, store it, and acknowledge it ' +
        'only once the store has committed it. Rejected messages go to the dead-letter. On the ' +
        'embedded broker, `facility broker --ingest` (or `facility start`) runs the ingest inside ' +
        'the broker instead.\n\n' +
        'With --shared, the worker also publishes its status (retained, platform/ingest/NAME/status; ' +
        'offline as its Will), which `facility api` shows in its health. With --metrics-port, it serves ' +
        'GET /metrics (Prometheus) and GET /health (200 while connected to the broker, else 503).',
    );
  addSettings(command, [
    'facility',
    'data',
    'brokerUrl',
    'shared',
    'ingestId',
    'host',
    'metricsPort',
    'serviceSecret',
    ...STORE_SETTINGS,
    'logLevel',
  ]);
  command.addOption(
    new Option(
      '--retire',
      'leave the shared subscription for good: store what the broker still holds for this worker, ' +
        'end its session, clear its status, and exit 退役此接入实例',
    ),
  );
  return command.action(async () => {
    const { runIngest } = await import('../run/ingest.ts');
    await runIngest(command);
  });
}
