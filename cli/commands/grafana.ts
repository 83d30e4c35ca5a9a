/**
 * `facility grafana provision`: the site's InfluxDB (and optionally Prometheus) data source, its
 * folder and its dashboards (dashboards/grafana/), into a Grafana over its HTTP API — or, with
 * `--out DIR`, as files for Grafana's file provisioning. What it does is in `../run/grafana.ts`,
 * loaded when it runs.
 *
 * Exit status: 0 done (or nothing to change); 1 refused (a dashboard was changed in Grafana since
 * it was provisioned, and no --force) or Grafana failed; 2 a bad setting, or Grafana unreachable,
 * refusing the token, or of an unsupported version.
 */
import { Command, Option } from 'commander';
// A module without imports: naming the supported versions in the help loads nothing more.
import { SUPPORTED_GRAFANA } from '../../dashboards/grafana/grafana-api.ts';
import { addSettings } from '../settings.ts';

export function grafanaCommand(): Command {
  const grafana = new Command('grafana')
    .summary('Grafana dashboards of the site 可视化仪表板')
    .description(
      'Dashboards as code for Grafana, built from the facility file: energy overview, department responsibility, ' +
        'fleet, rooms and platform health, querying InfluxDB in InfluxQL.\n' +
        '由设施文件生成 Grafana 仪表板。',
    );
  const command = new Command('provision')
    .summary('create or update the data source, folder and dashboards in Grafana 部署仪表板')
    .description(
      "Create or update, over Grafana's HTTP API with a service-account token (role Admin), the InfluxDB data " +
        "source (InfluxQL, from the platform's InfluxDB settings), a Prometheus data source with " +
        "--grafana-prometheus-url, the site's folder and its dashboards. Idempotent: what is already as generated is " +
        'left alone, and a run with nothing to change says so.\n\n' +
        'A dashboard changed in Grafana since it was provisioned (each carries the hash of what was provisioned, ' +
        'in its hidden variable facility_provisioned) is not overwritten: the run writes nothing and names it; ' +
        '--force replaces it. Grafana ' +
        `${SUPPORTED_GRAFANA.from}.x to ${SUPPORTED_GRAFANA.below - 1}.x.\n\n` +
        '通过 Grafana HTTP API 创建或更新数据源、文件夹和仪表板；手工修改过的仪表板需 --force 才覆盖。',
    )
    .addOption(new Option('--dry-run', 'print what would change, change nothing 只显示将做的更改'))
    .addOption(new Option('--force', 'overwrite dashboards changed in Grafana since provisioning 强制覆盖'))
    .addOption(
      new Option(
        '--out <dir>',
        'write the files of Grafana file provisioning into DIR instead (datasources/, dashboards/) 输出文件',
      ),
    );
  addSettings(command, [
    'facility',
    'grafanaUrl',
    'grafanaToken',
    'grafanaInfluxUrl',
    'grafanaPrometheusUrl',
    'influxUrl',
    'influxDatabase',
    'influxOrg',
    'influxToken',
    'influxUsername',
    'influxPassword',
  ]);
  command.addHelpText(
    'after',
    '\nExamples:\n' +
      '  FACILITY_GRAFANA_TOKEN=glsa_… facility grafana provision --grafana-url http://127.0.0.1:3000 --influx-token …\n' +
      '  facility grafana provision --dry-run\n' +
      '  facility grafana provision --out ./grafana-provisioning   # then mount it as /etc/grafana/provisioning\n',
  );
  command.action(async () => {
    const { runGrafanaProvision } = await import('../run/grafana.ts');
    await runGrafanaProvision(command);
  });
  return grafana.addCommand(command);
}
