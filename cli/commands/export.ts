/**
 * `facility export mosquitto`: the facility's device credentials, topic ACL and broker limits as
 * Mosquitto 2 configuration, for running Mosquitto in the embedded broker's place. What it does
 * is in `../run/export.ts`, loaded when it runs.
 */
import { Command, Option } from 'commander';
import { addSettings } from '../settings.ts';

/** Debian's `mosquitto` package keeps its persistence here. */
export const DEBIAN_PERSISTENCE_DIR = '/var/lib/mosquitto';

export function exportCommand(): Command {
  const command = new Command('export')
    .summary('write the configuration of an external MQTT broker 导出外部消息服务配置')
    .description(
      'Write what an external MQTT broker needs to take the embedded broker’s place: the devices’ ' +
        'credentials, the topic ACL and the limits, from the facility file.',
    );
  command.addCommand(mosquittoCommand());
  return command;
}

function mosquittoCommand(): Command {
  const command = new Command('mosquitto')
    .summary('Mosquitto 2: mosquitto.conf, passwd and acl')
    .description(
      'Write mosquitto.conf, passwd (PBKDF2-SHA512, as mosquitto_passwd writes) and acl into --out: ' +
        'every device of the facility file and the platform services (svc-ingest, svc-api, ' +
        'svc-simulator, with the service secret), the same topic rules as the embedded broker, the ' +
        'listeners and limits of the settings, and the settings that make a shared-subscription ' +
        'ingest lossless (no queue cap, sessions that never expire, persistence).\n\n' +
        'A device given only by secretHash cannot be converted: give its secret in --device-secrets ' +
        '(YAML "device-id: secret"); nothing is written while a device cannot be.',
    )
    .addOption(new Option('--out <dir>', 'folder to write the files into 输出目录').makeOptionMandatory())
    .addOption(
      new Option(
        '--config-dir <dir>',
        'folder Mosquitto will read passwd and acl from (default: --out, made absolute)',
      ),
    )
    .addOption(
      new Option(
        '--persistence-dir <dir>',
        `folder of Mosquitto's session database (default: ${DEBIAN_PERSISTENCE_DIR})`,
      ),
    );
  addSettings(command, [
    'facility',
    'data',
    'host',
    'mqttPort',
    'mqttWsPort',
    'mqttTlsPort',
    'tlsCert',
    'tlsKey',
    'maxPayloadBytes',
    'maxConnections',
    'deviceSecrets',
    'serviceSecret',
  ]);
  command.addHelpText(
    'after',
    '\nExamples:\n' +
      '  facility export mosquitto --out /etc/mosquitto/conf.d/facility --host 0.0.0.0\n' +
      '  mosquitto -c /etc/mosquitto/conf.d/facility/mosquitto.conf\n' +
      '  facility export mosquitto --out ./mqtt --config-dir /mosquitto/config --persistence-dir /mosquitto/data\n',
  );
  return command.action(async () => {
    const { runExportMosquitto } = await import('../run/export.ts');
    await runExportMosquitto(command);
  });
}
