/**
 * `--out DIR`: the same data sources and dashboards as files for Grafana's file provisioning,
 * laid out as Grafana's provisioning folder (mount or copy DIR as /etc/grafana/provisioning):
 *
 * - `datasources/{site}.yaml` — the data sources; secrets are not written: they read the
 *   environment variable named in the file (`$FACILITY_INFLUX_TOKEN`…) when Grafana starts;
 * - `dashboards/{site}.yaml` — a dashboard provider for the site's folder, reading
 *   `/etc/grafana/provisioning/dashboards/{site}/`;
 * - `dashboards/{site}/{uid}.json` — one file per dashboard.
 */
import { stringify } from 'yaml';
import type { DataSourceSpec } from './data-sources.ts';
import type { SiteDashboards } from './index.ts';

/** Where Grafana's packages and image read provisioning from. */
export const GRAFANA_PROVISIONING_DIR = '/etc/grafana/provisioning';

/** The variables Grafana should read each data source's secret from, by data source type. */
export interface SecretVariables {
  readonly token: string;
  readonly password: string;
}

/** Files to write, path (relative to DIR) → content. */
export function provisioningFiles(
  site: string,
  dataSources: readonly DataSourceSpec[],
  dashboards: SiteDashboards,
  secretVariables: SecretVariables = { token: 'FACILITY_INFLUX_TOKEN', password: 'FACILITY_INFLUX_PASSWORD' },
): Map<string, string> {
  const files = new Map<string, string>();
  const sources = dataSources.map((spec) => {
    const { secret: _secret, secureJsonData, ...rest } = spec;
    const secure: Record<string, string> = {};
    if (secureJsonData?.httpHeaderValue1 !== undefined)
      secure.httpHeaderValue1 = `Token $${secretVariables.token}`;
    if (secureJsonData?.password !== undefined) secure.password = `$${secretVariables.password}`;
    return {
      ...rest,
      editable: false,
      ...(Object.keys(secure).length > 0 ? { secureJsonData: secure } : {}),
    };
  });
  files.set(
    `datasources/${site}.yaml`,
    `# Written by \`facility grafana provision --out\`: data sources of site ${site}.\n${stringify({ apiVersion: 1, datasources: sources })}`,
  );
  files.set(
    `dashboards/${site}.yaml`,
    `# Written by \`facility grafana provision --out\`: the dashboards of site ${site}.\n${stringify({
      apiVersion: 1,
      providers: [
        {
          name: `facility-${site}`,
          folder: dashboards.folder.title,
          folderUid: dashboards.folder.uid,
          type: 'file',
          disableDeletion: false,
          allowUiUpdates: false,
          options: { path: `${GRAFANA_PROVISIONING_DIR}/dashboards/${site}` },
        },
      ],
    })}`,
  );
  for (const dashboard of dashboards.dashboards) {
    files.set(`dashboards/${site}/${dashboard.uid}.json`, `${JSON.stringify(dashboard, null, 2)}\n`);
  }
  return files;
}
