/** `facility broker`: the MQTT broker alone (device authentication, ACL, limits, sessions). */
import { Command } from 'commander';
import { BROKER_SETTINGS, brokerUrls, createBroker } from '../parts.ts';
import { createLogger, Lifecycle, loadFacilityOrExit, loadSecrets, untilSignal } from '../platform.ts';
import { addSettings, readSettings, withSettings } from '../settings.ts';

export function brokerCommand(): Command {
  const command = new Command('broker')
    .summary('run the MQTT broker alone 单独运行 MQTT 服务')
    .description(
      'Run the embedded MQTT broker (aedes): devices log in with their id and secret from the ' +
        'facility file and may publish only their own topics; the platform services log in as ' +
        'svc-ingest / svc-api / svc-simulator with the service secret.',
    );
  addSettings(command, ['facility', 'data', ...BROKER_SETTINGS, 'serviceSecret', 'logLevel']);
  return command.action(async () => {
    const config = readSettings(command);
    const logger = createLogger(config);
    const facility = await loadFacilityOrExit(config.facility, 'broker');
    const { serviceSecret } = await loadSecrets(config);
    const life = new Lifecycle(logger);
    const broker = await withSettings(command, () => createBroker(config, facility, serviceSecret, logger));
    await life.start('broker', broker);
    process.stdout.write(
      `MQTT broker 消息服务  ${brokerUrls(config.host, broker.ports)}\nCtrl-C to stop 按 Ctrl-C 停止\n`,
    );
    await untilSignal();
    await life.stop();
  });
}
