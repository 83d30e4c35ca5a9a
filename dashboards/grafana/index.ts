/**
 * Dashboards as code: the site's Grafana folder and dashboards, built with the Grafana Foundation
 * SDK from the facility file, so that a new building, meter, car or room appears at the next
 * provisioning without anyone editing JSON. Uids are stable (site id + dashboard name), and every
 * dashboard carries the hash of what was provisioned (see {@link markProvisioned}).
 */
import { createHash } from 'node:crypto';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Facility } from '../../core/facility/schema.ts';
import { type DashboardOptions, SiteModel, siteUid } from './common.ts';
import { departmentsDashboard } from './departments.ts';
import { energyDashboard } from './energy.ts';
import { fleetDashboard } from './fleet.ts';
import { platformDashboard } from './platform.ts';
import { roomsDashboard } from './rooms.ts';

export { type DashboardOptions, type DataSources, siteUid } from './common.ts';

/** A dashboard's JSON as Grafana's HTTP API takes it (`dashboard` of POST /api/dashboards/db). */
export type DashboardJson = Dashboard & Record<string, unknown>;

/** The site's folder and dashboards. */
export interface SiteDashboards {
  readonly folder: { readonly uid: string; readonly title: string };
  readonly dashboards: readonly DashboardJson[];
}

/** The name of the hidden constant variable holding the provisioning hash. */
export const PROVISION_MARK = 'facility_provisioned';

/** Builds the site's dashboards (each marked with the hash of its content). */
export function buildDashboards(facility: Facility, options: DashboardOptions): SiteDashboards {
  const model = new SiteModel(facility);
  const builders = [
    energyDashboard(model, options),
    departmentsDashboard(model, options),
    fleetDashboard(model, options),
    roomsDashboard(model, options),
    platformDashboard(model, options),
  ];
  return {
    folder: { uid: siteUid(facility.site.id, 'folder'), title: `${facility.site.name.zh}（智慧机关）` },
    dashboards: builders.map((builder) => markProvisioned(numberPanels(builder.build() as DashboardJson))),
  };
}

/**
 * Panel ids 1, 2, 3… in order, so that the JSON is the same for the same facility; and without the
 * interval-variable settings (`auto`, `auto_min`, `auto_count`) the SDK gives every variable, which
 * mean nothing to the others and are not in Grafana's dashboard schema for them.
 */
function numberPanels(dashboard: DashboardJson): DashboardJson {
  const panels = (dashboard.panels ?? []).map((panel, index) => ({ ...panel, id: index + 1 }));
  const list = (dashboard.templating?.list ?? []).map((variable) => {
    if (variable.type === 'interval') return variable;
    const { auto: _auto, auto_min: _min, auto_count: _count, ...rest } = variable;
    return rest;
  });
  return { ...dashboard, panels, templating: { list } } as DashboardJson;
}

/** JSON with object keys sorted, for hashing. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    return Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/**
 * The keys a dashboard's content is hashed over: what the generator writes and a person edits.
 * Keys Grafana manages itself (`id`, `version`) or may add when it stores a dashboard are left out,
 * so that storing is never mistaken for an edit; the provisioning mark is left out of `templating`.
 */
const CONTENT_KEYS = [
  'uid',
  'title',
  'description',
  'tags',
  'timezone',
  'time',
  'timepicker',
  'refresh',
  'editable',
  'graphTooltip',
  'fiscalYearStartMonth',
  'liveNow',
  'weekStart',
  'links',
  'annotations',
  'panels',
  'templating',
  'schemaVersion',
] as const;

function contentOf(dashboard: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const key of CONTENT_KEYS) if (dashboard[key] !== undefined) content[key] = dashboard[key];
  const list = ((dashboard.templating as { list?: unknown[] } | undefined)?.list ?? []).filter(
    (variable) => (variable as { name?: string }).name !== PROVISION_MARK,
  );
  return { ...content, templating: { list } };
}

/** `sha256:…` of a dashboard's content (see {@link contentOf}). */
export function contentHash(dashboard: Readonly<Record<string, unknown>>): string {
  return `sha256:${createHash('sha256')
    .update(canonicalJson(contentOf(dashboard)))
    .digest('hex')}`;
}

/**
 * The hash a dashboard was marked with when it was provisioned, or undefined when it carries none
 * (never provisioned by the platform, or the mark was removed).
 */
export function provisionedHash(dashboard: Readonly<Record<string, unknown>>): string | undefined {
  const list = (dashboard.templating as { list?: Array<Record<string, unknown>> } | undefined)?.list ?? [];
  const mark = list.find((variable) => variable.name === PROVISION_MARK);
  const value = mark?.query;
  return typeof value === 'string' && value.startsWith('sha256:') ? value : undefined;
}

/**
 * Adds the mark: a hidden constant variable `facility_provisioned` whose value is the hash of the
 * dashboard's content. Grafana keeps a constant variable through a save in its editor, and any
 * change to the dashboard — through the editor or the API — changes the content, so the next
 * provisioning finds a content that no longer matches its mark and refuses to overwrite it
 * without `--force`.
 */
export function markProvisioned(dashboard: DashboardJson): DashboardJson {
  const hash = contentHash(dashboard);
  const list = [...(dashboard.templating?.list ?? [])].filter((variable) => variable.name !== PROVISION_MARK);
  list.push({
    type: 'constant',
    name: PROVISION_MARK,
    label: 'provisioned',
    description:
      'Written by `facility grafana provision`: the hash of this dashboard as provisioned. Changing the dashboard makes the next provisioning refuse to overwrite it without --force.',
    query: hash,
    hide: 2,
    skipUrlSync: true,
  } as (typeof list)[number]);
  return { ...dashboard, templating: { list } } as DashboardJson;
}

/**
 * Whether a dashboard read back from Grafana is as it was provisioned: it carries a mark and its
 * content still has that hash.
 */
export function unchangedSinceProvisioning(dashboard: Readonly<Record<string, unknown>>): boolean {
  const mark = provisionedHash(dashboard);
  return mark !== undefined && mark === contentHash(dashboard);
}
