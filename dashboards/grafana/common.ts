/**
 * What every dashboard of a site shares: the data source references, the stable uids, the template
 * variables built from the facility file (a new building, meter, car or room appears in them at the
 * next provisioning), the facility's meters grouped the way the panels sum them, and small panel
 * helpers.
 */
import { createHash } from 'node:crypto';
import {
  CustomVariableBuilder,
  type DataSourceRef,
  type ValueMapping,
  VariableHide,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Facility, Meter, MeterKind } from '../../core/facility/schema.ts';

/** Grafana's limit and alphabet of uids (dashboards, folders, data sources). */
const UID_MAX = 40;
const UID_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * A stable uid from the site id and a name: `{site}-{name}` when that is a valid Grafana uid, else
 * a shortened site id with 8 hex digits of its SHA-256, so that two sites never share a uid.
 */
export function siteUid(site: string, name: string): string {
  const plain = `${site}-${name}`;
  if (plain.length <= UID_MAX && UID_PATTERN.test(plain)) return plain;
  const hash = createHash('sha256').update(site).digest('hex').slice(0, 8);
  const room = Math.max(1, UID_MAX - name.length - hash.length - 2);
  const slug = site.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, room);
  return `${slug}-${hash}-${name}`;
}

/** The data sources the panels query. */
export interface DataSources {
  /** The InfluxDB data source (InfluxQL). */
  readonly influx: DataSourceRef;
  /** A Prometheus data source scraping the ingest workers and the api, when one is configured. */
  readonly prometheus?: DataSourceRef;
}

/** Options of the dashboard builders. */
export interface DashboardOptions {
  readonly dataSources: DataSources;
  /** Now, epoch ms: picks the year of the quotas. */
  readonly now: number;
}

/** The facility as the panels read it. */
export class SiteModel {
  readonly facility: Facility;
  readonly site: string;
  readonly zone: string;

  constructor(facility: Facility) {
    this.facility = facility;
    this.site = facility.site.id;
    this.zone = facility.site.timezone;
  }

  /** Meters that are no other meter's sub-meter: their sum is the site's use, counted once. */
  rootMeters(kind: MeterKind, building?: string): Meter[] {
    return this.facility.meters.filter(
      (m) => m.kind === kind && m.parent === undefined && (building === undefined || m.building === building),
    );
  }

  /** Kinds the facility has meters of, in the order electricity, water, gas. */
  kinds(): MeterKind[] {
    return (['electricity', 'water', 'gas'] as const).filter((k) => this.rootMeters(k).length > 0);
  }

  /** The year of `now` in the site's zone. */
  yearOf(now: number): number {
    return Number(
      new Intl.DateTimeFormat('en', { timeZone: this.zone, year: 'numeric' }).format(new Date(now)),
    );
  }

  /**
   * The quotas of a scope that apply in the year of `now`: that year's, or else the latest year's
   * before it (with the year, so the panel can say which).
   */
  quota(
    scope: 'site' | 'building' | 'department',
    id: string,
    kind: string,
    now: number,
  ): { amount: number; year: number } | undefined {
    const year = this.yearOf(now);
    const candidates = this.facility.quotas
      .filter((q) => q.scope === scope && q.id === id && q.kind === kind && q.year <= year)
      .sort((a, b) => b.year - a.year);
    const quota = candidates[0];
    return quota === undefined ? undefined : { amount: quota.amount, year: quota.year };
  }
}

/** Days in a calendar year. */
export function daysInYear(year: number): number {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 366 : 365;
}

/**
 * A multi-value template variable from the facility file, `text : value` pairs so that the picker
 * shows Chinese names and the queries get ids; "All" expands to every id.
 */
export function facilityVariable(
  name: string,
  label: string,
  description: string,
  options: ReadonlyArray<{ text: string; value: string }>,
): CustomVariableBuilder {
  // Custom variables split on commas; ids cannot hold one (core/facility/schema.ts ID_PATTERN).
  const query = options.map((o) => `${o.text.replaceAll(',', '，').replaceAll(' : ', ':')} : ${o.value}`);
  return new CustomVariableBuilder(name)
    .label(label)
    .description(description)
    .values(query.join(','))
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: ['All'], value: ['$__all'] })
    .options([
      { selected: true, text: 'All', value: '$__all' },
      ...options.map((o) => ({ selected: false, text: o.text, value: o.value })),
    ])
    .hide(VariableHide.DontHide);
}

/** Variables of the facility's buildings, departments, meters, vehicles and rooms. */
export function variables(model: SiteModel): {
  building: () => CustomVariableBuilder;
  department: () => CustomVariableBuilder;
  meter: () => CustomVariableBuilder;
  vehicle: () => CustomVariableBuilder;
  room: () => CustomVariableBuilder;
} {
  const f = model.facility;
  return {
    building: () =>
      facilityVariable(
        'building',
        '楼栋',
        'Building (from the facility file)',
        f.buildings.map((b) => ({ text: b.name.zh, value: b.id })),
      ),
    department: () =>
      facilityVariable(
        'department',
        '部门',
        'Department (from the facility file)',
        f.departments.map((d) => ({ text: d.name.zh, value: d.id })),
      ),
    meter: () =>
      facilityVariable(
        'meter',
        '计量表',
        'Meter (from the facility file)',
        f.meters.map((m) => ({ text: m.name?.zh ?? m.id, value: m.id })),
      ),
    vehicle: () =>
      facilityVariable(
        'vehicle',
        '车辆',
        'Official car, by plate (from the facility file)',
        f.vehicles.map((v) => ({ text: v.plate, value: v.id })),
      ),
    room: () =>
      facilityVariable(
        'room',
        '房间',
        'Room (from the facility file)',
        f.rooms.map((r) => ({ text: r.name.zh, value: r.id })),
      ),
  };
}

/** Value mappings id → Chinese name, for table and bar chart columns holding ids. */
export function nameMappings(items: ReadonlyArray<{ id: string; text: string }>): ValueMapping[] {
  if (items.length === 0) return [];
  return [
    {
      type: 'value',
      options: Object.fromEntries(items.map((item, index) => [item.id, { text: item.text, index }])),
    } as ValueMapping,
  ];
}

/** A description: English first, then Chinese, as the dashboards' labels are Chinese. */
export function describe(english: string, chinese?: string): string {
  return chinese === undefined ? english : `${english}\n\n${chinese}`;
}
