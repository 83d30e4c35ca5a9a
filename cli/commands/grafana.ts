/**
 * `facility grafana provision`: the site's InfluxDB (and optionally Prometheus) data source, its
 * folder and its dashboards (dashboards/grafana/), into a Grafana over its HTTP API — or, with
 * `--out DIR`, as files for Grafana's file provisioning.
 *
 * Exit status: 0 done (or nothing to change); 1 refused (a dashboard was changed in Grafana since
 * it was provisioned, and no --force) or Grafana failed; 2 a bad setting, or Grafana unreachable,
 * refusing the token, or of an unsupported version.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, type RuntimeConfig, settingNames } from '../../core/config.ts';
import { siteUid } from '../../dashboards/grafana/common.ts';
import {
  type DataSourceSpec,
  influxDataSource,
  prometheusDataSource,
} from '../../dashboards/grafana/data-sources.ts';
import { provisioningFiles } from '../../dashboards/grafana/file-provisioning.ts';
import { GrafanaApi, GrafanaError, SUPPORTED_GRAFANA } from '../../dashboards/grafana/grafana-api.ts';
import { buildDashboards, type SiteDashboards } from '../../dashboards/grafana/index.ts';
import { type PlannedChange, provision } from '../../dashboards/grafana/provision.ts';
import { loadFacilityOrExit } from '../platform.ts';
import { addSettings, readSettings, withSettings } from '../settings.ts';

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
    const config = readSettings(command);
    const options = command.opts<{ dryRun?: boolean; force?: boolean; out?: string }>();
    const facility = await loadFacilityOrExit(config.facility, 'grafana provision');
    const site = facility.site.id;
    const dataSources = dataSourcesOf(site, config);
    const dashboards = buildDashboards(facility, {
      dataSources: {
        influx: { type: 'influxdb', uid: siteUid(site, 'influxdb') },
        ...(config.grafanaPrometheusUrl === undefined
          ? {}
          : { prometheus: { type: 'prometheus', uid: siteUid(site, 'prometheus') } }),
      },
      now: Date.now(),
    });
    if (options.out !== undefined) {
      await writeFiles(resolve(options.out), site, dataSources, dashboards, options.dryRun === true);
      return;
    }
    const token = withSettings(command, () => requireToken(config));
    const api = new GrafanaApi({ url: config.grafanaUrl, token });
    try {
      const result = await provision({
        api,
        dataSources,
        site: dashboards,
        force: options.force === true,
        dryRun: options.dryRun === true,
      });
      const out: string[] = [`grafana provision: Grafana ${result.grafanaVersion} at ${api.url}`];
      if (result.handEdits.length > 0 && !result.applied && options.dryRun !== true) {
        process.stderr.write(
          `${out[0]}\n${result.handEdits
            .map(
              (edit) =>
                `  dashboard "${edit.title}" (uid ${edit.uid}) ${
                  edit.unmarked
                    ? 'was not provisioned by facility (no facility_provisioned mark)'
                    : 'was changed in Grafana since it was provisioned'
                }${edit.version === undefined ? '' : `: version ${edit.version}`}${edit.updatedBy ? `, saved by ${edit.updatedBy}` : ''}${edit.updated ? ` at ${edit.updated}` : ''}`,
            )
            .join('\n')}\n` +
            'grafana provision: refusing to overwrite changed dashboards; nothing was written. Keep the changes ' +
            '(export their JSON, or save them as a copy under another name) and run again with --force to replace them.\n',
        );
        process.exitCode = 1;
        return;
      }
      const changed = result.changes.filter((c) => c.change !== 'unchanged');
      const verb = (c: PlannedChange) =>
        options.dryRun === true
          ? c.change === 'create'
            ? 'would create'
            : 'would update'
          : c.change === 'create'
            ? 'created'
            : 'updated';
      for (const change of changed) {
        out.push(
          `  ${verb(change)} ${change.what} "${change.title}" (uid ${change.uid})${
            change.reasons && change.reasons.length > 0 ? `: ${change.reasons.join(', ')}` : ''
          }`,
        );
      }
      for (const edit of result.handEdits) {
        out.push(`  (--force) dashboard "${edit.title}" (uid ${edit.uid}) had been changed in Grafana`);
      }
      const unchanged = result.changes.length - changed.length;
      if (changed.length === 0) {
        out.push(
          `grafana provision: nothing to change — ${result.changes.length} items already as generated (no changes 无需更改)`,
        );
      } else {
        out.push(
          `grafana provision: ${options.dryRun === true ? 'dry run, nothing written: ' : ''}${changed.length} ${
            options.dryRun === true ? 'to change' : 'changed'
          }, ${unchanged} unchanged`,
        );
      }
      process.stdout.write(`${out.join('\n')}\n`);
    } catch (error) {
      if (!(error instanceof GrafanaError)) throw error;
      process.stderr.write(`facility grafana provision: ${error.message}\n`);
      process.exitCode = error.code === 'http' ? 1 : 2;
    }
  });
  return grafana.addCommand(command);
}

function requireToken(config: RuntimeConfig): string {
  if (config.grafanaToken !== undefined) return config.grafanaToken;
  const { flag, env } = settingNames('grafanaToken');
  throw new ConfigError([
    `${flag} / ${env}: a Grafana service-account token is needed (Grafana: Administration › Users and access › Service accounts, role Admin › Add service account token); or give --out DIR to write files instead`,
  ]);
}

/** The data sources from the platform's InfluxDB settings (and Prometheus, when given). */
export function dataSourcesOf(site: string, config: RuntimeConfig): DataSourceSpec[] {
  const influx = influxDataSource(site, {
    url: config.grafanaInfluxUrl ?? config.influxUrl,
    database: config.influxDatabase,
    ...(config.influxToken === undefined ? {} : { token: config.influxToken }),
    ...(config.influxUsername === undefined ? {} : { username: config.influxUsername }),
    ...(config.influxPassword === undefined ? {} : { password: config.influxPassword }),
  });
  return config.grafanaPrometheusUrl === undefined
    ? [influx]
    : [influx, prometheusDataSource(site, config.grafanaPrometheusUrl)];
}

async function writeFiles(
  out: string,
  site: string,
  dataSources: readonly DataSourceSpec[],
  dashboards: SiteDashboards,
  dryRun: boolean,
): Promise<void> {
  const files = provisioningFiles(site, dataSources, dashboards);
  for (const [path, text] of files) {
    const target = join(out, path);
    if (dryRun) continue;
    await mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    await writeFile(temporary, text);
    await rename(temporary, target);
  }
  process.stdout.write(
    `grafana provision: ${dryRun ? 'would write' : 'wrote'} ${files.size} files into ${out}: ` +
      `${[...files.keys()].join(', ')}\n` +
      'Mount or copy the folder as /etc/grafana/provisioning; Grafana reads the InfluxDB secret from ' +
      '$FACILITY_INFLUX_TOKEN (or $FACILITY_INFLUX_PASSWORD) in its own environment.\n',
  );
}
