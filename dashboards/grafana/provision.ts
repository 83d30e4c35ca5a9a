/**
 * Provisioning over Grafana's HTTP API: the data sources, the site's folder and its dashboards,
 * created or updated so that Grafana ends up holding exactly what the facility file generates.
 *
 * - **Idempotent.** Everything is read first and compared; only what differs is written, so a
 *   second run writes nothing and says so. Data sources are compared field by field, their secret
 *   through the hash kept in `jsonData` (data-sources.ts); dashboards by the hash of their content.
 * - **Hand edits are not overwritten.** Each dashboard carries the hash of what was provisioned
 *   (index.ts, `facility_provisioned`). A dashboard in Grafana whose content no longer has the hash
 *   it carries — saved from the editor, changed over the API, or without a mark at all — was changed
 *   by someone since: the run writes nothing and names it, unless `force` is set.
 * - **Plan, then apply.** `dryRun` stops after the plan.
 */
import { hashSecret, verifySecret } from '../../core/facility/secret-hash.ts';
import { type DataSourceSpec, SECRET_HASH_KEY } from './data-sources.ts';
import type { GrafanaApi } from './grafana-api.ts';
import { contentHash, type SiteDashboards, unchangedSinceProvisioning } from './index.ts';

export type ChangeKind = 'create' | 'update' | 'unchanged';

/** One thing provisioning manages, and what it does (or would do) to it. */
export interface PlannedChange {
  readonly what: 'data source' | 'folder' | 'dashboard';
  readonly uid: string;
  readonly title: string;
  readonly change: ChangeKind;
  /** Why an update: the fields that differ. */
  readonly reasons?: readonly string[];
}

/** A dashboard changed in Grafana since it was provisioned. */
export interface HandEdit {
  readonly uid: string;
  readonly title: string;
  /** Its version in Grafana, who saved it last and when, as Grafana says. */
  readonly version?: number;
  readonly updatedBy?: string;
  readonly updated?: string;
  /** The dashboard carries no mark: it was not provisioned by the platform, or the mark was removed. */
  readonly unmarked: boolean;
}

export interface ProvisionOptions {
  readonly api: GrafanaApi;
  readonly dataSources: readonly DataSourceSpec[];
  readonly site: SiteDashboards;
  /** Overwrite dashboards changed in Grafana. */
  readonly force?: boolean;
  /** Plan only. */
  readonly dryRun?: boolean;
}

export interface ProvisionResult {
  readonly grafanaVersion: string;
  readonly changes: readonly PlannedChange[];
  /** Dashboards changed by hand; when not forced, nothing was written. */
  readonly handEdits: readonly HandEdit[];
  /** Whether the changes were written (false for a dry run, or when refused). */
  readonly applied: boolean;
}

type Json = Record<string, unknown>;

/** Grafana answers an unset field as "" or leaves it out; both mean unset. */
function normal(value: unknown): string {
  return value === undefined || value === null || value === '' ? '' : JSON.stringify(value);
}

function differences(desired: Json, existing: Json, keys: readonly string[], prefix = ''): string[] {
  return keys.filter((key) => normal(desired[key]) !== normal(existing[key])).map((key) => `${prefix}${key}`);
}

async function planDataSource(
  api: GrafanaApi,
  spec: DataSourceSpec,
): Promise<PlannedChange & { existing?: Json }> {
  const existing = await api.get(`/api/datasources/uid/${encodeURIComponent(spec.uid)}`);
  const base = { what: 'data source' as const, uid: spec.uid, title: spec.name };
  if (!existing) return { ...base, change: 'create' };
  const desired = spec as unknown as Json;
  const reasons = differences(desired, existing, [
    'name',
    'type',
    'url',
    'access',
    'basicAuth',
    'user',
    'database',
  ]);
  const jsonData = (existing.jsonData ?? {}) as Json;
  reasons.push(...differences(spec.jsonData as Json, jsonData, Object.keys(spec.jsonData), 'jsonData.'));
  const storedHash = jsonData[SECRET_HASH_KEY];
  if (spec.secret === undefined) {
    if (storedHash !== undefined) reasons.push('secret (removed)');
  } else if (typeof storedHash !== 'string' || !(await verifySecret(spec.secret, storedHash))) {
    reasons.push('secret');
  }
  return { ...base, change: reasons.length > 0 ? 'update' : 'unchanged', reasons, existing };
}

async function dataSourceBody(spec: DataSourceSpec, existing: Json | undefined): Promise<Json> {
  const { secret, ...body } = spec;
  const jsonData: Json = { ...spec.jsonData };
  if (secret !== undefined) jsonData[SECRET_HASH_KEY] = await hashSecret(secret);
  return {
    ...body,
    ...(existing?.id === undefined ? {} : { id: existing.id }),
    jsonData,
    ...(spec.secureJsonData === undefined ? {} : { secureJsonData: spec.secureJsonData }),
  };
}

/** Plans, and unless told otherwise applies, the provisioning of a site. */
export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const { api, site } = options;
  const { version } = await api.health();
  const changes: PlannedChange[] = [];
  const handEdits: HandEdit[] = [];

  const dataSources = [];
  for (const spec of options.dataSources) {
    const planned = await planDataSource(api, spec);
    const { existing: _existing, ...change } = planned;
    changes.push(change);
    dataSources.push({ spec, planned });
  }

  const folderPath = `/api/folders/${encodeURIComponent(site.folder.uid)}`;
  const folder = await api.get(folderPath);
  const folderChange: PlannedChange = {
    what: 'folder',
    uid: site.folder.uid,
    title: site.folder.title,
    change: !folder ? 'create' : folder.title !== site.folder.title ? 'update' : 'unchanged',
    ...(folder && folder.title !== site.folder.title ? { reasons: ['title'] } : {}),
  };
  changes.push(folderChange);

  for (const dashboard of site.dashboards) {
    const uid = dashboard.uid as string;
    const title = dashboard.title ?? uid;
    const found = await api.get(`/api/dashboards/uid/${encodeURIComponent(uid)}`);
    if (!found) {
      changes.push({ what: 'dashboard', uid, title, change: 'create' });
      continue;
    }
    const current = (found.dashboard ?? {}) as Json;
    const meta = (found.meta ?? {}) as Json;
    const reasons: string[] = [];
    if (contentHash(current) !== contentHash(dashboard)) reasons.push('content');
    if ((meta.folderUid ?? '') !== site.folder.uid) reasons.push('folder');
    if (reasons.length === 0) {
      changes.push({ what: 'dashboard', uid, title, change: 'unchanged' });
      continue;
    }
    if (!unchangedSinceProvisioning(current)) {
      handEdits.push({
        uid,
        title: typeof current.title === 'string' ? current.title : title,
        ...(typeof meta.version === 'number'
          ? { version: meta.version }
          : typeof current.version === 'number'
            ? { version: current.version }
            : {}),
        ...(typeof meta.updatedBy === 'string' ? { updatedBy: meta.updatedBy } : {}),
        ...(typeof meta.updated === 'string' ? { updated: meta.updated } : {}),
        unmarked: !current.templating || !JSON.stringify(current.templating).includes('facility_provisioned'),
      });
    }
    changes.push({ what: 'dashboard', uid, title, change: 'update', reasons });
  }

  const refused = handEdits.length > 0 && options.force !== true;
  if (options.dryRun === true || refused)
    return { grafanaVersion: version, changes, handEdits, applied: false };

  for (const { spec, planned } of dataSources) {
    if (planned.change === 'create')
      await api.send('POST', '/api/datasources', await dataSourceBody(spec, undefined));
    else if (planned.change === 'update') {
      await api.send(
        'PUT',
        `/api/datasources/uid/${encodeURIComponent(spec.uid)}`,
        await dataSourceBody(spec, planned.existing),
      );
    }
  }
  if (folderChange.change === 'create') {
    await api.send('POST', '/api/folders', { uid: site.folder.uid, title: site.folder.title });
  } else if (folderChange.change === 'update') {
    await api.send('PUT', folderPath, {
      title: site.folder.title,
      version: folder?.version,
      overwrite: true,
    });
  }
  for (const dashboard of site.dashboards) {
    const change = changes.find((c) => c.what === 'dashboard' && c.uid === dashboard.uid);
    if (change?.change === 'unchanged') continue;
    await api.send('POST', '/api/dashboards/db', {
      dashboard,
      folderUid: site.folder.uid,
      overwrite: true,
      message: `facility grafana provision ${contentHash(dashboard)}`,
    });
  }
  return { grafanaVersion: version, changes, handEdits, applied: true };
}
