/**
 * Cross-checks of a facility file: what the schema cannot say (references, uniqueness, sums,
 * calendars, tariffs, shapes).
 *
 * They run on the raw parsed data even when the schema found problems, so that one run reports
 * every problem: each check reads only the values that have the expected type and skips the
 * rest, which the schema has already reported.
 */
import { IANAZone } from 'luxon';
import {
  type ClockRange,
  clockRangesOverlap,
  parseClockRange,
  parseDay,
  parseDayRange,
  weekdayOf,
} from './dates.ts';
import { type LonLat, polygonProblems } from './geometry.ts';
import { managementChecks } from './management-checks.ts';
import type { PathProblem, PathSegment } from './problem.ts';
import {
  DATE_PATTERN,
  DATE_RANGE_PATTERN,
  ID_PATTERN,
  METER_KINDS,
  type MeterKind,
  TIME_RANGE_PATTERN,
  TOU_PERIODS,
  WEEKDAYS,
  type Weekday,
} from './schema.ts';
import { parseSecretHash } from './secret-hash.ts';
import { didYouMean } from './suggest.ts';

type Rec = Record<string, unknown>;

/** An element of a list that is a mapping, with its index in the list. */
interface Item {
  rec: Rec;
  index: number;
}

type Report = (path: PathSegment[], message: string, at?: PathProblem['at']) => void;

const COLLECTIONS = [
  'geofences',
  'buildings',
  'departments',
  'meters',
  'vehicles',
  'rooms',
  'sensors',
] as const;
type Collection = (typeof COLLECTIONS)[number];
const DEVICE_COLLECTIONS = ['meters', 'vehicles', 'sensors'] as const;

/** Singular nouns for messages. */
const NOUN: Record<Collection, string> = {
  geofences: 'geofence',
  buildings: 'building',
  departments: 'department',
  meters: 'meter',
  vehicles: 'vehicle',
  rooms: 'room',
  sensors: 'sensor',
};

const isMeterKind = (value: string | undefined): value is MeterKind =>
  METER_KINDS.includes(value as MeterKind);

const isRec = (value: unknown): value is Rec =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function rec(parent: Rec | undefined, key: string): Rec | undefined {
  const value = parent?.[key];
  return isRec(value) ? value : undefined;
}

function items(parent: Rec | undefined, key: string): Item[] {
  const list = parent?.[key];
  if (!Array.isArray(list)) return [];
  return list.flatMap((value, index) => (isRec(value) ? [{ rec: value, index }] : []));
}

function str(parent: Rec | undefined, key: string): string | undefined {
  const value = parent?.[key];
  return typeof value === 'string' ? value : undefined;
}

function num(parent: Rec | undefined, key: string): number | undefined {
  const value = parent?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The strings of a list, with their indexes, skipping elements of other types. */
function strings(
  parent: Rec | undefined,
  key: string,
  pattern?: string,
): Array<{ text: string; index: number }> {
  const list = parent?.[key];
  if (!Array.isArray(list)) return [];
  const regex = pattern === undefined ? undefined : new RegExp(pattern);
  return list.flatMap((value, index) =>
    typeof value === 'string' && (regex === undefined || regex.test(value)) ? [{ text: value, index }] : [],
  );
}

const area = (m2: number) => `${m2.toLocaleString('en-US')} m²`;

/** First occurrence of each id in each collection. */
type Index = Record<Collection, Map<string, Item>>;

function buildIndex(data: Rec): Index {
  const index = {} as Index;
  for (const collection of COLLECTIONS) {
    const byId = new Map<string, Item>();
    for (const item of items(data, collection)) {
      const id = str(item.rec, 'id');
      if (id !== undefined && !byId.has(id)) byId.set(id, item);
    }
    index[collection] = byId;
  }
  return index;
}

/**
 * Every cross-check problem of a parsed facility file, in no particular order. Pure: `data` is
 * what the YAML parser produced.
 */
export function crossCheck(data: unknown): PathProblem[] {
  if (!isRec(data)) return [];
  const problems: PathProblem[] = [];
  const report: Report = (path, message, at) => {
    problems.push(at === undefined ? { path, message } : { path, message, at });
  };
  const index = buildIndex(data);
  checkSite(data, report);
  checkIds(data, report);
  checkDepartments(data, index, report);
  checkMeters(data, index, report);
  checkVehicles(data, index, report);
  checkRooms(data, index, report);
  checkSensors(data, index, report);
  checkCredentials(data, report);
  checkCalendar(data, report);
  checkTariffs(data, report);
  checkGeofences(data, report);
  checkQuotas(data, index, report);
  problems.push(...managementChecks(data));
  return problems;
}

function checkSite(data: Rec, report: Report): void {
  const timezone = str(rec(data, 'site'), 'timezone');
  if (timezone !== undefined && timezone !== '' && !IANAZone.isValidZone(timezone)) {
    report(
      ['site', 'timezone'],
      `unknown IANA time zone "${timezone}"${didYouMean(timezone, Intl.supportedValuesOf('timeZone'))}`,
    );
  }
}

/** A reference to an id of `collection`: reports it when no such id exists. */
function checkRef(
  index: Index,
  collection: Collection,
  path: PathSegment[],
  id: string | undefined,
  report: Report,
): Item | undefined {
  if (id === undefined || id === '') return undefined;
  const target = index[collection].get(id);
  if (!target) report(path, `no ${NOUN[collection]} "${id}"${didYouMean(id, index[collection].keys())}`);
  return target;
}

function checkIds(data: Rec, report: Report): void {
  for (const collection of COLLECTIONS) {
    const first = new Map<string, number>();
    for (const { rec: item, index } of items(data, collection)) {
      const id = str(item, 'id');
      if (id === undefined) continue;
      const earlier = first.get(id);
      if (earlier === undefined) first.set(id, index);
      else
        report(
          [collection, index, 'id'],
          `duplicate ${NOUN[collection]} id "${id}" (first at ${collection}[${earlier}])`,
        );
    }
  }
  // Device ids are MQTT usernames: one namespace across all device kinds.
  const devices = new Map<string, string>();
  for (const collection of DEVICE_COLLECTIONS) {
    const own = new Set<string>();
    for (const { rec: item, index } of items(data, collection)) {
      const id = str(item, 'id');
      if (id === undefined || own.has(id)) continue;
      own.add(id);
      const other = devices.get(id);
      if (other === undefined) devices.set(id, `${collection}[${index}]`);
      else {
        report(
          [collection, index, 'id'],
          `id "${id}" is already used by ${other}; device ids are MQTT usernames and must be unique across meters, vehicles and sensors`,
        );
      }
    }
  }
}

function checkDepartments(data: Rec, index: Index, report: Report): void {
  const occupied = new Map<string, number>();
  for (const { rec: department, index: d } of items(data, 'departments')) {
    const seen = new Map<string, number>();
    for (const { rec: space, index: s } of items(department, 'spaces')) {
      const path = ['departments', d, 'spaces', s];
      const building = str(space, 'building');
      const target = checkRef(index, 'buildings', [...path, 'building'], building, report);
      if (building === undefined) continue;
      const earlier = seen.get(building);
      if (earlier !== undefined) {
        report([...path, 'building'], `building "${building}" is already listed in spaces[${earlier}]`);
        continue;
      }
      seen.set(building, s);
      const spaceArea = num(space, 'area');
      if (target && spaceArea !== undefined && spaceArea > 0) {
        occupied.set(building, (occupied.get(building) ?? 0) + spaceArea);
      }
    }
  }
  for (const { rec: building, index: b } of items(data, 'buildings')) {
    const id = str(building, 'id');
    const floorArea = num(building, 'floorArea');
    const used = id === undefined ? undefined : occupied.get(id);
    if (used !== undefined && floorArea !== undefined && floorArea > 0 && used > floorArea) {
      report(
        ['buildings', b, 'floorArea'],
        `departments occupy ${area(used)} in building ${id}, more than its floor area of ${area(floorArea)}`,
      );
    }
  }
}

function checkMeters(data: Rec, index: Index, report: Report): void {
  const meters = items(data, 'meters');
  for (const { rec: meter, index: m } of meters) {
    const id = str(meter, 'id');
    const building = str(meter, 'building');
    checkRef(index, 'buildings', ['meters', m, 'building'], building, report);
    const department = str(meter, 'department');
    const owner = checkRef(index, 'departments', ['meters', m, 'department'], department, report);
    if (str(meter, 'system') === 'department' && !('department' in meter)) {
      report(
        ['meters', m, 'department'],
        'required for a meter of system "department": name the department it measures',
        'parent',
      );
    }
    if (owner && building !== undefined && index.buildings.has(building)) {
      const inBuilding = items(owner.rec, 'spaces').some((space) => str(space.rec, 'building') === building);
      if (!inBuilding) {
        report(
          ['meters', m, 'department'],
          `department "${department}" has no space in building ${building} (departments[${owner.index}].spaces)`,
        );
      }
    }
    const parent = str(meter, 'parent');
    if (parent === undefined || parent === '' || parent === id) continue; // own parent: reported as a loop
    const target = checkRef(index, 'meters', ['meters', m, 'parent'], parent, report);
    if (!target) continue;
    const kind = str(meter, 'kind');
    const parentKind = str(target.rec, 'kind');
    if (isMeterKind(kind) && isMeterKind(parentKind) && kind !== parentKind) {
      report(['meters', m, 'parent'], `parent "${parent}" measures ${parentKind}, this meter ${kind}`);
    }
    const parentBuilding = str(target.rec, 'building');
    if (building !== undefined && parentBuilding !== undefined && building !== parentBuilding) {
      report(
        ['meters', m, 'parent'],
        `parent "${parent}" is in building ${parentBuilding}, this meter in ${building}`,
      );
    }
  }
  checkParentLoops(meters, index, report);
}

/** Reports each loop of parent links once, at its meter listed first. */
function checkParentLoops(meters: Item[], index: Index, report: Report): void {
  const reported = new Set<string>();
  for (const start of meters) {
    const chain: Item[] = [];
    let current: Item | undefined = start;
    while (current && !chain.includes(current)) {
      chain.push(current);
      const parent = str(current.rec, 'parent');
      current = parent === undefined ? undefined : index.meters.get(parent);
    }
    if (!current) continue;
    const loop = chain.slice(chain.indexOf(current));
    const key = loop
      .map((item) => item.index)
      .sort((a, b) => a - b)
      .join(',');
    if (reported.has(key)) continue;
    reported.add(key);
    const head = loop.reduce((a, b) => (b.index < a.index ? b : a));
    const from = loop.indexOf(head);
    const ordered = [...loop.slice(from), ...loop.slice(0, from), head].map((item) => str(item.rec, 'id'));
    report(
      ['meters', head.index, 'parent'],
      loop.length === 1 ? 'a meter cannot be its own parent' : `parent links loop: ${ordered.join(' → ')}`,
    );
  }
}

function checkVehicles(data: Rec, index: Index, report: Report): void {
  const plates = new Map<string, number>();
  for (const { rec: vehicle, index: v } of items(data, 'vehicles')) {
    checkRef(index, 'departments', ['vehicles', v, 'department'], str(vehicle, 'department'), report);
    const plate = str(vehicle, 'plate');
    if (plate === undefined) continue;
    // 川A·3G816, 川A 3G816 and 川a3g816 are one plate.
    const key = plate.replace(/[\s·•.-]/g, '').toUpperCase();
    const earlier = plates.get(key);
    if (earlier === undefined) plates.set(key, v);
    else report(['vehicles', v, 'plate'], `duplicate plate "${plate}" (first at vehicles[${earlier}])`);
  }
}

function checkRooms(data: Rec, index: Index, report: Report): void {
  for (const { rec: room, index: r } of items(data, 'rooms')) {
    const building = checkRef(index, 'buildings', ['rooms', r, 'building'], str(room, 'building'), report);
    checkRef(index, 'departments', ['rooms', r, 'department'], str(room, 'department'), report);
    if (!building) continue;
    const buildingId = str(building.rec, 'id');
    const floorArea = num(building.rec, 'floorArea');
    const roomArea = num(room, 'area');
    if (floorArea !== undefined && floorArea > 0 && roomArea !== undefined && roomArea > floorArea) {
      report(
        ['rooms', r, 'area'],
        `${area(roomArea)} is more than the floor area of building ${buildingId} (${area(floorArea)})`,
      );
    }
    const floor = num(room, 'floor');
    const floors = num(building.rec, 'floors');
    const basements = num(building.rec, 'basementFloors') ?? 0;
    if (floor !== undefined && floors !== undefined && floor > floors) {
      report(['rooms', r, 'floor'], `building ${buildingId} has ${floors} floors above ground, not ${floor}`);
    } else if (floor !== undefined && floor < -basements) {
      report(
        ['rooms', r, 'floor'],
        `building ${buildingId} has ${basements} basement floors (basementFloors), so no floor ${floor}`,
      );
    }
  }
}

function checkSensors(data: Rec, index: Index, report: Report): void {
  for (const { rec: sensor, index: s } of items(data, 'sensors')) {
    checkRef(index, 'rooms', ['sensors', s, 'room'], str(sensor, 'room'), report);
  }
}

function checkCredentials(data: Rec, report: Report): void {
  for (const collection of DEVICE_COLLECTIONS) {
    for (const { rec: device, index } of items(data, collection)) {
      const hasSecret = 'secret' in device;
      const hasHash = 'secretHash' in device;
      if (!hasSecret && !hasHash) {
        report(
          [collection, index, 'secret'],
          'required field is missing: give "secret" or "secretHash"',
          'parent',
        );
      } else if (hasSecret && hasHash) {
        report([collection, index, 'secretHash'], 'give "secret" or "secretHash", not both', 'key');
      }
      const hash = str(device, 'secretHash');
      if (hash?.startsWith('scrypt:')) {
        const parsed = parseSecretHash(hash);
        if (!parsed.ok) report([collection, index, 'secretHash'], parsed.reason);
      }
    }
  }
}

function checkCalendar(data: Rec, report: Report): void {
  const calendar = rec(data, 'calendar');
  if (!calendar) return;
  const hours = str(calendar, 'workingHours');
  if (hours !== undefined && new RegExp(TIME_RANGE_PATTERN).test(hours)) {
    const parsed = parseClockRange(hours);
    if (!parsed.ok) report(['calendar', 'workingHours'], parsed.reason);
    else if (parsed.value.end <= parsed.value.start) {
      report(
        ['calendar', 'workingHours'],
        `"${hours}" ends before it starts; working hours cannot run past midnight`,
      );
    }
  }

  const holidayOf = new Map<number, { index: number; text: string }>();
  for (const { text, index } of strings(calendar, 'holidays', DATE_RANGE_PATTERN)) {
    const parsed = parseDayRange(text);
    if (!parsed.ok) {
      report(['calendar', 'holidays', index], parsed.reason);
      continue;
    }
    let overlapped: { index: number; text: string } | undefined;
    for (let day = parsed.value.first; day <= parsed.value.last; day++) {
      const earlier = holidayOf.get(day);
      if (earlier) overlapped ??= earlier;
      else holidayOf.set(day, { index, text });
    }
    if (overlapped) {
      report(
        ['calendar', 'holidays', index],
        `"${text}" overlaps calendar.holidays[${overlapped.index}] ("${overlapped.text}")`,
      );
    }
  }

  const workdayList = calendar.workdays;
  const workdays = Array.isArray(workdayList)
    ? new Set(workdayList.filter((d): d is Weekday => WEEKDAYS.includes(d as Weekday)))
    : undefined;
  const extras = new Map<number, number>();
  for (const { text, index } of strings(calendar, 'extraWorkdays', DATE_PATTERN)) {
    const path = ['calendar', 'extraWorkdays', index];
    const parsed = parseDay(text);
    if (!parsed.ok) {
      report(path, parsed.reason);
      continue;
    }
    const day = parsed.value;
    const earlier = extras.get(day);
    if (earlier !== undefined) {
      report(path, `${text} is already listed at calendar.extraWorkdays[${earlier}]`);
      continue;
    }
    extras.set(day, index);
    const holiday = holidayOf.get(day);
    const weekday = weekdayOf(day);
    if (holiday) {
      report(path, `${text} falls inside holiday "${holiday.text}" (calendar.holidays[${holiday.index}])`);
    } else if (workdays?.has(weekday)) {
      report(
        path,
        `${text} is a ${WEEKDAY_NAMES[weekday]}, already a workday; a make-up workday must be a day off`,
      );
    }
  }
}

const WEEKDAY_NAMES: Record<Weekday, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};

function checkTariffs(data: Rec, report: Report): void {
  const electricity = rec(rec(data, 'tariffs'), 'electricity');
  if (!electricity) return;
  const prices = rec(electricity, 'prices');
  const seasons = items(electricity, 'seasons');
  const base: PathSegment[] = ['tariffs', 'electricity', 'seasons'];
  const seasonOf = new Map<number, number>();
  let anyMonths = false;
  for (const { rec: season, index: s } of seasons) {
    const months = season.months;
    if (Array.isArray(months)) {
      anyMonths = true;
      months.forEach((month, k) => {
        if (!Number.isInteger(month) || month < 1 || month > 12) return;
        const earlier = seasonOf.get(month);
        if (earlier === s) report([...base, s, 'months', k], `month ${month} is listed twice in this season`);
        else if (earlier !== undefined)
          report([...base, s, 'months', k], `month ${month} is already in seasons[${earlier}]`);
        else seasonOf.set(month, s);
      });
    }

    const periods: Array<{ kind: string; text: string; range: ClockRange }> = [];
    for (const kind of TOU_PERIODS) {
      const listed = strings(season, kind, TIME_RANGE_PATTERN);
      if (listed.length > 0 && prices && num(prices, kind) === undefined) {
        report(
          [...base, s, kind],
          `the season has ${kind} periods but tariffs.electricity.prices.${kind} is not set`,
        );
      }
      for (const { text, index } of listed) {
        const parsed = parseClockRange(text);
        if (!parsed.ok) {
          report([...base, s, kind, index], parsed.reason);
          continue;
        }
        const clash = periods.find((other) => clockRangesOverlap(other.range, parsed.value));
        if (clash)
          report(
            [...base, s, kind, index],
            `"${text}" overlaps ${clash.kind} period "${clash.text}" of this season`,
          );
        periods.push({ kind, text, range: parsed.value });
      }
    }
  }
  if (anyMonths) {
    const missing = Array.from({ length: 12 }, (_, i) => i + 1).filter((month) => !seasonOf.has(month));
    if (missing.length > 0) {
      report(
        base,
        `no season covers month${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; every month needs exactly one season`,
      );
    }
  }
}

function checkGeofences(data: Rec, report: Report): void {
  for (const { rec: geofence, index: g } of items(data, 'geofences')) {
    const polygon = geofence.polygon;
    if (!Array.isArray(polygon)) continue;
    const wellFormed = polygon.every(
      (point) =>
        Array.isArray(point) &&
        point.length === 2 &&
        point.every((c) => typeof c === 'number' && Number.isFinite(c)),
    );
    if (!wellFormed) continue;
    for (const problem of polygonProblems(polygon as LonLat[])) {
      report(
        problem.point === undefined
          ? ['geofences', g, 'polygon']
          : ['geofences', g, 'polygon', problem.point],
        problem.message,
      );
    }
  }
}

function checkQuotas(data: Rec, index: Index, report: Report): void {
  const rawSiteId = str(rec(data, 'site'), 'id');
  // A malformed site id is reported by the schema; comparing quotas with it would only echo that.
  const siteId = rawSiteId !== undefined && new RegExp(ID_PATTERN).test(rawSiteId) ? rawSiteId : undefined;
  const seen = new Map<string, number>();
  for (const { rec: quota, index: q } of items(data, 'quotas')) {
    const scope = str(quota, 'scope');
    const id = str(quota, 'id');
    const path = ['quotas', q, 'id'];
    if (scope === 'site' && id !== undefined && siteId !== undefined && id !== siteId) {
      report(path, `no site "${id}"; this file's site is "${siteId}"`);
    } else if (scope === 'building') {
      checkRef(index, 'buildings', path, id, report);
    } else if (scope === 'department') {
      checkRef(index, 'departments', path, id, report);
    }
    const kind = str(quota, 'kind');
    const year = num(quota, 'year');
    if (scope === undefined || id === undefined || kind === undefined || year === undefined) continue;
    const key = JSON.stringify([scope, id, kind, year]);
    const earlier = seen.get(key);
    if (earlier === undefined) seen.set(key, q);
    else
      report(
        ['quotas', q],
        `duplicate quota: ${scope} ${id}, ${kind}, ${year} (first at quotas[${earlier}])`,
      );
  }
}
