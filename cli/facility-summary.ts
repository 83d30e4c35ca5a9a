/**
 * The one-screen summary `facility check` prints for a valid facility file: what the platform
 * will monitor, with a unit on every figure and bilingual labels.
 */
import { IANAZone } from 'luxon';
import { parseClockRange, parseDayRange } from '../core/facility/dates.ts';
import { polygonAreaM2 } from '../core/facility/geometry.ts';
import {
  BUILDING_USE_LABELS,
  CLIMATE_ZONE_LABELS,
  METER_KIND_LABELS,
  METER_SYSTEM_LABELS,
  QUOTA_KIND_LABELS,
  QUOTA_SCOPE_LABELS,
  ROOM_TYPE_LABELS,
  VEHICLE_ENERGY_LABELS,
  WEEKDAY_LABELS,
} from '../core/facility/labels.ts';
import {
  FACTOR_ENERGIES,
  type Facility,
  type FactorEnergy,
  METER_KINDS,
  METER_SYSTEMS,
  type Name,
  QUOTA_SCOPES,
  ROOM_TYPES,
  UNITS,
  VEHICLE_ENERGIES,
  WEEKDAYS,
  type Weekday,
} from '../core/facility/schema.ts';

const LABEL_WIDTH = 22;

/** Terminal columns a string takes: CJK and full-width characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const wide =
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) ||
      (code >= 0x20000 && code <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(1, width - displayWidth(text)));
}

function padStart(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text))) + text;
}

const num = (n: number, digits = 4) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const bi = (name: Name) => `${name.zh} ${name.en}`;
const plural = (n: number, word: string) => `${num(n)} ${word}${n === 1 ? '' : 's'}`;

function countBy<T, K extends string>(list: readonly T[], key: (item: T) => K): Map<K, number> {
  const counts = new Map<K, number>();
  for (const item of list) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** `周一至周五 Mon–Fri`; runs of three days or more are shortened, others listed. */
function weekdayRuns(days: readonly Weekday[]): string {
  const runs: Weekday[][] = [];
  for (const day of WEEKDAYS) {
    if (!days.includes(day)) continue;
    const last = runs[runs.length - 1];
    const previous = last?.[last.length - 1];
    if (last && previous && WEEKDAYS.indexOf(previous) === WEEKDAYS.indexOf(day) - 1) last.push(day);
    else runs.push([day]);
  }
  const text = (lang: 'zh' | 'en', joiner: string) =>
    runs
      .flatMap((run) => {
        const first = run[0] as Weekday;
        const last = run[run.length - 1] as Weekday;
        return run.length >= 3
          ? [`${WEEKDAY_LABELS[first][lang]}${joiner}${WEEKDAY_LABELS[last][lang]}`]
          : run.map((d) => WEEKDAY_LABELS[d][lang]);
      })
      .join(lang === 'zh' ? '、' : ', ');
  return `${text('zh', '至')} ${text('en', '–')}`;
}

function areaText(m2: number): string {
  const km2 = m2 / 1e6;
  return km2 >= 1 ? `${num(km2, 1)} km²` : `${num(Math.round(m2 / 100) * 100)} m²`;
}

/** Renders the summary of a valid facility; `file` is the name to show. */
export function renderFacilitySummary(facility: Facility, file: string): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(pad(label, LABEL_WIDTH) + text);
  const sub = (label: string, text: string) => lines.push(pad(`  ${label}`, LABEL_WIDTH) + text);
  const { site, calendar } = facility;

  lines.push(`✓ ${file}: no problems 无问题 (format version ${facility.version})`, '');
  row('站点 Site', `${site.name.zh} / ${site.name.en} (${site.id})`);
  const offset = IANAZone.create(site.timezone).formatOffset(Date.now(), 'short');
  row('时区 Time zone', `${site.timezone}, UTC${offset}`);
  row('气候区 Climate zone', `${bi(CLIMATE_ZONE_LABELS[site.climateZone])} (GB 50176)`);

  const totalArea = facility.buildings.reduce((sum, b) => sum + b.floorArea, 0);
  row(
    '建筑 Buildings',
    `${plural(facility.buildings.length, 'building')} 栋, ${num(totalArea)} m² total 总建筑面积`,
  );
  const nameWidth = Math.max(...facility.buildings.map((b) => displayWidth(`${b.name.zh} / ${b.name.en}`)));
  const idWidth = Math.max(...facility.buildings.map((b) => b.id.length));
  for (const b of facility.buildings) {
    const use = bi(BUILDING_USE_LABELS[b.use]);
    lines.push(
      `  ${pad(b.id, idWidth + 2)}${pad(`${b.name.zh} / ${b.name.en}`, nameWidth + 2)}` +
        `${padStart(`${num(b.floorArea)} m²`, 10)}  ${pad(use, 22)}${plural(b.floors, 'floor')} 层` +
        (b.ventilationClass ? `  class ${b.ventilationClass} 类` : ''),
    );
  }

  const headcount = facility.departments.reduce((sum, d) => sum + d.headcount, 0);
  const occupied = facility.departments.reduce(
    (sum, d) => sum + d.spaces.reduce((s, space) => s + space.area, 0),
    0,
  );
  row(
    '部门 Departments',
    `${plural(facility.departments.length, 'department')} 个, ${num(headcount)} people 人, ${num(occupied)} m² occupied 占用`,
  );

  const byKind = countBy(facility.meters, (m) => m.kind);
  const bySystem = countBy(facility.meters, (m) => m.system);
  row(
    '计量表 Meters',
    `${plural(facility.meters.length, 'meter')} 块: ` +
      METER_KINDS.filter((k) => byKind.has(k))
        .map((k) => `${bi(METER_KIND_LABELS[k])} ${byKind.get(k)}`)
        .join(', '),
  );
  if (facility.meters.length > 0) {
    sub(
      '分项 by system',
      METER_SYSTEMS.filter((s) => bySystem.has(s))
        .map((s) => `${bi(METER_SYSTEM_LABELS[s])} ${bySystem.get(s)}`)
        .join(', '),
    );
  }

  const byEnergy = countBy(facility.vehicles, (v) => v.energy);
  const vehicleSeats = facility.vehicles.reduce((sum, v) => sum + v.seats, 0);
  row(
    '车辆 Vehicles',
    `${plural(facility.vehicles.length, 'vehicle')} 辆: ` +
      VEHICLE_ENERGIES.filter((e) => byEnergy.has(e))
        .map((e) => `${bi(VEHICLE_ENERGY_LABELS[e])} ${byEnergy.get(e)}`)
        .join(', ') +
      `; ${num(vehicleSeats)} seats 座`,
  );

  const roomSeats = facility.rooms.reduce((sum, r) => sum + r.capacity, 0);
  row('房间 Rooms', `${plural(facility.rooms.length, 'room')} 间, ${num(roomSeats)} seats 座 total`);
  const roomTypes = ROOM_TYPES.filter((t) => facility.rooms.some((r) => r.type === t));
  if (roomTypes.length > 0) {
    sub(
      '类型 by type',
      roomTypes
        .map((t) => {
          const rooms = facility.rooms.filter((r) => r.type === t);
          return `${bi(ROOM_TYPE_LABELS[t])} ${rooms.length} (${num(rooms.reduce((s, r) => s + r.capacity, 0))} seats)`;
        })
        .join(', '),
    );
  }

  const sensedRooms = new Set(facility.sensors.map((s) => s.room)).size;
  row(
    '传感器 Sensors',
    `${plural(facility.sensors.length, 'sensor')} 个 in ${plural(sensedRooms, 'room')} 间`,
  );
  row(
    '地理围栏 Geofences',
    facility.geofences.length === 0
      ? '0 geofences 个'
      : `${plural(facility.geofences.length, 'geofence')} 个: ` +
          facility.geofences
            .map((g) => `${g.id} ${g.name.zh} ${areaText(polygonAreaM2(g.polygon))}`)
            .join(', '),
  );

  const hours = parseClockRange(calendar.workingHours);
  const hoursPerDay = hours.ok ? (hours.value.end - hours.value.start) / 60 : 0;
  const holidayDays = calendar.holidays.reduce((sum, text) => {
    const range = parseDayRange(text);
    return range.ok ? sum + range.value.last - range.value.first + 1 : sum;
  }, 0);
  row(
    '日历 Calendar',
    `${weekdayRuns(calendar.workdays)} ${calendar.workingHours} (${num(hoursPerDay, 2)} h/day 小时/天)`,
  );
  sub(
    '节假日 Holidays',
    `${plural(calendar.holidays.length, 'holiday period')} = ${plural(holidayDays, 'day')} 天; ` +
      `${plural(calendar.extraWorkdays.length, 'extra workday')} 调休上班`,
  );

  const { tariffs } = facility;
  const currency = tariffs.currency;
  const tariffParts: string[] = [];
  if (tariffs.electricity) {
    const { prices, seasons } = tariffs.electricity;
    const levels = (['sharp', 'peak', 'flat', 'valley'] as const).flatMap((p) =>
      prices[p] === undefined ? [] : [`${p} ${num(prices[p])}`],
    );
    tariffParts.push(
      `电 electricity ${levels.join(' / ')} ${currency}/kWh` +
        (seasons ? ` (time-of-use 分时, ${plural(seasons.length, 'season')})` : ''),
    );
  }
  const unitTariffs = (['water', 'gas', 'gasoline', 'diesel'] as const).flatMap((k) => {
    const tariff = tariffs[k];
    return tariff ? [`${k} ${num(tariff.price)} ${currency}/${UNITS[k]}`] : [];
  });
  row('价格 Tariffs', tariffParts[0] ?? (unitTariffs.length > 0 ? '' : 'none 未设置'));
  if (unitTariffs.length > 0) sub('', unitTariffs.join(', '));

  const { factors } = facility;
  const defaults = FACTOR_ENERGIES.flatMap((e) =>
    (['standardCoal', 'co2'] as const).filter((set) => factors.sources[set][e].startsWith('default')),
  ).length;
  const factorLine = (set: 'standardCoal' | 'co2', unit: string) =>
    FACTOR_ENERGIES.map((e: FactorEnergy) => {
      const mark = defaults > 0 && factors.sources[set][e].startsWith('default') ? '*' : '';
      return `${e} ${num(factors[set][e])} ${unit}/${UNITS[e]}${mark}`;
    }).join(', ');
  row(
    '折标系数 Factors',
    defaults === 0
      ? 'all from the facility file 均由文件给定'
      : defaults === FACTOR_ENERGIES.length * 2
        ? 'all defaults 均为默认值 (docs/standards.md)'
        : '* default 默认值 (docs/standards.md), others from the facility file',
  );
  sub('标准煤 coal', factorLine('standardCoal', 'kgce'));
  sub('CO2', factorLine('co2', 'kg'));

  const years = [...new Set(facility.quotas.map((q) => q.year))].sort();
  row(
    '定额 Quotas',
    `${plural(facility.quotas.length, 'quota')} 项${years.length > 0 ? ` for ${years.join(', ')}` : ''}`,
  );
  for (const scope of QUOTA_SCOPES) {
    const quotas = facility.quotas.filter((q) => q.scope === scope);
    if (quotas.length === 0) continue;
    const ids = new Set(quotas.map((q) => q.id)).size;
    const totals = new Map<string, number>();
    for (const q of quotas)
      totals.set(`${q.kind} ${q.year}`, (totals.get(`${q.kind} ${q.year}`) ?? 0) + q.amount);
    const parts = [...totals].map(([key, amount]) => {
      const [kind, year] = key.split(' ') as [keyof typeof QUOTA_KIND_LABELS, string];
      return `${bi(QUOTA_KIND_LABELS[kind])} ${num(amount)} ${UNITS[kind]}${years.length > 1 ? ` (${year})` : ''}`;
    });
    const label = QUOTA_SCOPE_LABELS[scope];
    sub(
      `${label.zh} ${label.en}`,
      `${scope === 'site' ? '' : `${plural(ids, scope)}, sum `}${parts.join(', ')}`,
    );
  }

  const devices = [...facility.meters, ...facility.vehicles, ...facility.sensors];
  const plain = devices.filter((d) => d.secret !== undefined).length;
  row(
    '设备凭据 Credentials',
    `${plural(devices.length, 'device')} 台: ${num(devices.length - plain)} scrypt-hashed, ` +
      `${num(plain)} plain secrets 明文${plain > 0 ? ' (demo only 仅限演示)' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
