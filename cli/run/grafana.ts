/**
 * What `facility grafana provision` does (its options are in `../commands/grafana.ts`): build the
 * site's dashboards from the facility file and provision them, with their data sources and
 * folder, into Grafana over its HTTP API, or write them as file-provisioning files.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, type RuntimeConfig, settingNames } from '../../core/config.ts';
import { siteUid } from '../../dashboards/grafana/common.ts';
import {
  type DataSourceSpec,
  influxDataSource,
  prometheusDataSource,
} from '../../dashboards/grafana/data-sources.ts';
import { provisioningFiles } from '../../dashboards/grafana/file-provisioning.ts';
import { GrafanaApi, GrafanaError } from '../../dashboards/grafana/grafana-api.ts';
import { buildDashboards, type SiteDashboards } from '../../dashboards/grafana/index.ts';
import { type PlannedChange, provision } from '../../dashboards/grafana/provision.ts';
import { loadFacilityOrExit } from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

export async function runGrafanaProvision(command: Command): Promise<void> {
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
