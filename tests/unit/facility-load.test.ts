/**
 * The facility loader: the demo file is valid, and each check reports what it should, with the
 * exact path and message, and nothing else. Cases start from the demo file and change one thing
 * (a few change two, to show both are reported at once).
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { formatProblem, loadFacility, type Problem } from '../../core/facility/load.ts';
import { DEFAULT_FACTORS } from '../../core/facility/schema.ts';
import { hashSecret, verifySecret } from '../../core/facility/secret-hash.ts';

// biome-ignore lint/suspicious/noExplicitAny: test edits reach into arbitrary places of the raw file.
type Raw = Record<string, any>;

const DEMO_TEXT = readFileSync(DEMO_FACILITY_PATH, 'utf8');
const DEMO: Raw = parse(DEMO_TEXT);

/** Problems, as `path: message`, of the demo file after `edit`. */
function problemsAfter(edit: (facility: Raw) => void): string[] {
  const data = structuredClone(DEMO);
  edit(data);
  const result = loadFacility(stringify(data), 'test.yaml');
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

function problemsOf(text: string): Problem[] {
  const result = loadFacility(text, 'test.yaml');
  return result.ok ? [] : result.problems;
}

describe('the demo facility', () => {
  const result = loadFacility(DEMO_TEXT, 'demo-facility.yaml');

  it('loads with no problems', () => {
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });

  it('ships inside the repository, where a clone finds it', () => {
    const repository = fileURLToPath(new URL('../../', import.meta.url));
    expect(relative(repository, DEMO_FACILITY_PATH)).toBe(join('core', 'facility', 'demo-facility.yaml'));
    expect(DEMO.version).toBe(1);
  });

  it('has the figures counted by hand from the file', () => {
    if (!result.ok) throw new Error('demo did not load');
    const f = result.facility;
    expect(f.site.timezone).toBe('Asia/Shanghai');
    expect(f.buildings.reduce((sum, b) => sum + b.floorArea, 0)).toBe(62_000); // 28000+18000+9500+6500
    expect(f.departments.reduce((sum, d) => sum + d.headcount, 0)).toBe(1950);
    expect(f.meters).toHaveLength(32);
    expect(f.vehicles).toHaveLength(24);
    expect(f.rooms).toHaveLength(21);
    expect(f.sensors).toHaveLength(21);
    expect(f.quotas).toHaveLength(16);
    expect(f.calendar.holidays).toHaveLength(7);
    expect(f.tariffs.currency).toBe('CNY');
    // The file gives its own factors: Sichuan grid CO2, not the national default.
    expect(f.factors.co2.electricity).toBe(0.1564);
    expect(f.factors.sources.co2.electricity).toBe('facility file');
  });
});

describe('defaults', () => {
  it('fills factors from docs/standards.md, empty lists and CNY when the file omits them', () => {
    const data = structuredClone(DEMO);
    for (const key of ['factors', 'tariffs', 'quotas', 'vehicles', 'sensors', 'rooms', 'geofences'])
      delete data[key];
    delete data.calendar.holidays;
    delete data.calendar.extraWorkdays;
    const result = loadFacility(stringify(data), 'test.yaml');
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.facility.factors).toEqual(DEFAULT_FACTORS);
    expect(result.facility.factors.co2.electricity).toBe(0.5306);
    expect(result.facility.factors.standardCoal.diesel).toBe(1.224);
    expect(result.facility.tariffs).toEqual({ currency: 'CNY' });
    expect(result.facility.vehicles).toEqual([]);
    expect(result.facility.calendar.holidays).toEqual([]);
  });

  it('keeps a factor source the file names, and defaults the rest', () => {
    const result = loadFacility(
      stringify({
        ...DEMO,
        factors: { co2: { electricity: 0.1564 }, sources: { co2: { electricity: 'Sichuan grid 2023' } } },
      }),
      'test.yaml',
    );
    if (!result.ok) throw new Error('did not load');
    expect(result.facility.factors.co2.electricity).toBe(0.1564);
    expect(result.facility.factors.sources.co2.electricity).toBe('Sichuan grid 2023');
    expect(result.facility.factors.co2.gas).toBe(2.165);
    expect(result.facility.factors.sources.co2.gas).toMatch(/^default: NDRC/);
  });
});

describe('five planted mistakes', () => {
  it('are all reported, with their paths and positions, sorted by position', () => {
    const text = readFileSync('tests/unit/fixtures/facility-five-mistakes.yaml', 'utf8');
    const result = loadFacility(text, 'five.yaml');
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      'five.yaml:28:43  calendar.extraWorkdays[2]: "2026-02-29" is not a date (February 2026 has 28 days)',
      'five.yaml:40:124  buildings[1].floorArea: departments occupy 18,500 m² in building b2, more than its floor area of 18,000 m²',
      'five.yaml:66:113  meters[4].parent: no meter "b1-e-mian" (did you mean "b1-e-main"?)',
      'five.yaml:72:11  meters[10].id: duplicate meter id "b2-e-light" (first at meters[9])',
      'five.yaml:177:88  tariffs.electricity.seasons[1].valley[0]: "22:00-07:00" overlaps peak period "20:00-23:00" of this season',
    ]);
  });
});

interface Case {
  name: string;
  edit: (f: Raw) => void;
  expected: string[];
}

const ID_RULE =
  'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 characters (ids become MQTT topic levels)';

const schemaCases: Case[] = [
  {
    name: 'unknown key, with a suggestion',
    edit: (f) => {
      f.meters[0].buidling = 'b1';
    },
    expected: ['meters[0].buidling: unknown field (did you mean "building"?)'],
  },
  {
    name: 'unknown top-level key',
    edit: (f) => {
      f.metres = [];
    },
    expected: ['metres: unknown field (did you mean "meters"?)'],
  },
  {
    name: 'missing required field',
    edit: (f) => {
      delete f.meters[3].interval;
    },
    expected: ['meters[3].interval: required field is missing'],
  },
  {
    name: 'wrong type',
    edit: (f) => {
      f.buildings[0].floorArea = '28000 m2';
      f.site.id = 2026;
    },
    expected: [
      'site.id: must be text, not number 2026 (quote it)',
      'buildings[0].floorArea: must be a number, not "28000 m2"',
    ],
  },
  {
    name: 'misspelt enumerated value',
    edit: (f) => {
      f.meters[2].kind = 'electricty';
    },
    expected: [
      'meters[2].kind: "electricty" is not one of electricity, water, gas (did you mean "electricity"?)',
    ],
  },
  {
    name: 'unsupported version',
    edit: (f) => {
      f.version = 2;
    },
    expected: ['version: unsupported format version 2; this program reads version 1'],
  },
  {
    name: 'negative and zero areas, headcounts and intervals',
    edit: (f) => {
      f.buildings[2].floorArea = -9500;
      f.departments[1].headcount = 0;
      f.departments[2].spaces[0].area = 0;
      f.meters[1].interval = 0;
      f.rooms[0].area = -60;
      f.vehicles[0].interval = -10;
    },
    expected: [
      'buildings[2].floorArea: must be greater than 0, not -9500',
      'departments[1].headcount: must be greater than 0, not 0',
      'departments[2].spaces[0].area: must be greater than 0, not 0',
      'meters[1].interval: must be greater than 0, not 0',
      'vehicles[0].interval: must be greater than 0, not -10',
      'rooms[0].area: must be greater than 0, not -60',
    ],
  },
  {
    name: 'non-integer interval',
    edit: (f) => {
      f.sensors[0].interval = 60.5;
    },
    expected: ['sensors[0].interval: must be a whole number, not 60.5'],
  },
  {
    name: 'location out of range',
    edit: (f) => {
      f.site.location = { lat: 104.066, lon: 30.657 };
    },
    expected: ['site.location.lat: must be between -90 and 90, not 104.066'],
  },
  {
    name: 'workday listed twice',
    edit: (f) => {
      f.calendar.workdays = ['mon', 'tue', 'mon'];
    },
    expected: ['calendar.workdays: lists "mon" more than once'],
  },
];

const idCases: Case[] = [
  {
    name: 'id with a topic separator, a wildcard, upper case or white space',
    edit: (f) => {
      f.site.id = 'cd/compound';
      f.meters[0].id = 'B1-e-main';
      f.vehicles[0].id = 'v+01';
      f.sensors[0].id = 's b1';
      f.rooms[0].id = '$sys';
    },
    expected: [
      `site.id: "cd/compound" ${ID_RULE}`,
      `meters[0].id: "B1-e-main" ${ID_RULE}`,
      // meters[1..3] name b1-e-main as parent, which no longer exists.
      'meters[1].parent: no meter "b1-e-main" (did you mean "B1-e-main"?)',
      'meters[2].parent: no meter "b1-e-main" (did you mean "B1-e-main"?)',
      'meters[3].parent: no meter "b1-e-main" (did you mean "B1-e-main"?)',
      `vehicles[0].id: "v+01" ${ID_RULE}`,
      `rooms[0].id: "$sys" ${ID_RULE}`,
      `sensors[0].id: "s b1" ${ID_RULE}`,
      'sensors[0].room: no room "b1-m0301"',
    ],
  },
  {
    name: 'duplicate id within a collection',
    edit: (f) => {
      f.rooms[5].id = 'b1-m0301';
      f.sensors[5].room = 'b1-m0301';
    },
    expected: ['rooms[5].id: duplicate room id "b1-m0301" (first at rooms[0])'],
  },
  {
    name: 'device id used by a meter and a vehicle',
    edit: (f) => {
      f.vehicles[3].id = 'b4-g-boiler';
    },
    expected: [
      'vehicles[3].id: id "b4-g-boiler" is already used by meters[31]; device ids are MQTT usernames and must be unique across meters, vehicles and sensors',
    ],
  },
  {
    name: 'duplicate licence plate, written differently',
    edit: (f) => {
      f.vehicles[1].plate = '川a 3g816';
    },
    expected: ['vehicles[1].plate: duplicate plate "川a 3g816" (first at vehicles[0])'],
  },
];

const referenceCases: Case[] = [
  {
    name: 'misspelt parent meter',
    edit: (f) => {
      f.meters[4].parent = 'b1-e-mian';
    },
    expected: ['meters[4].parent: no meter "b1-e-mian" (did you mean "b1-e-main"?)'],
  },
  {
    name: 'meter building and department',
    edit: (f) => {
      f.meters[5].building = 'b9';
      f.meters[5].parent = 'b1-e-main';
      f.meters[6].department = 'polcy';
    },
    expected: [
      'meters[5].building: no building "b9"',
      'meters[5].parent: parent "b1-e-main" is in building b1, this meter in b9',
      'meters[6].department: no department "polcy" (did you mean "policy"?)',
    ],
  },
  {
    name: 'vehicle department, room building and department, sensor room',
    edit: (f) => {
      f.vehicles[20].department = 'genoffice';
      f.rooms[1].building = 'b5';
      f.rooms[12].department = 'gen_office';
      f.sensors[2].room = 'b1-m1002';
    },
    expected: [
      'vehicles[20].department: no department "genoffice" (did you mean "gen-office"?)',
      'rooms[1].building: no building "b5"',
      'rooms[12].department: no department "gen_office" (did you mean "gen-office"?)',
      'sensors[2].room: no room "b1-m1002" (did you mean "b1-m1001"?)',
    ],
  },
  {
    name: 'department space in an unknown building, and a building listed twice',
    edit: (f) => {
      f.departments[0].spaces = [
        { building: 'b7', area: 100 },
        { building: 'b1', area: 6800 },
        { building: 'b1', area: 10 },
      ];
    },
    expected: [
      'departments[0].spaces[0].building: no building "b7"',
      'departments[0].spaces[2].building: building "b1" is already listed in spaces[1]',
    ],
  },
  {
    name: 'quota for an unknown site, building and department',
    edit: (f) => {
      f.quotas[0].id = 'cd-campus';
      f.quotas[3].id = 'b0';
      f.quotas[7].id = 'general-office';
    },
    expected: [
      'quotas[0].id: no site "cd-campus"; this file\'s site is "cd-compound"',
      'quotas[3].id: no building "b0"',
      'quotas[7].id: no department "general-office"',
    ],
  },
  {
    name: 'parent meter of another kind',
    edit: (f) => {
      f.meters[26].parent = 'b1-e-main';
    },
    expected: ['meters[26].parent: parent "b1-e-main" measures electricity, this meter water'],
  },
  {
    name: 'parent meter in another building',
    edit: (f) => {
      f.meters[10].parent = 'b1-e-main';
    },
    expected: ['meters[10].parent: parent "b1-e-main" is in building b1, this meter in b2'],
  },
  {
    name: 'parent links that loop',
    edit: (f) => {
      f.meters[0].parent = 'b1-e-light'; // b1-e-main → b1-e-light → b1-e-main
    },
    expected: ['meters[0].parent: parent links loop: b1-e-main → b1-e-light → b1-e-main'],
  },
  {
    name: 'a meter its own parent',
    edit: (f) => {
      f.meters[21].parent = 'b4-e-main';
    },
    expected: ['meters[21].parent: a meter cannot be its own parent'],
  },
  {
    name: 'department meter without a department',
    edit: (f) => {
      delete f.meters[7].department;
    },
    expected: [
      'meters[7].department: required for a meter of system "department": name the department it measures',
    ],
  },
  {
    name: 'department meter in a building where the department has no space',
    edit: (f) => {
      f.meters[13].department = 'finance'; // b2-e-energy; finance sits in b1
    },
    expected: [
      'meters[13].department: department "finance" has no space in building b2 (departments[1].spaces)',
    ],
  },
];

const areaCases: Case[] = [
  {
    name: 'departments occupying more than the building',
    edit: (f) => {
      f.departments[3].spaces[0].area = 14_600; // b1: 6800 + 4200 + 2400 + 14600 = 28000, exactly full
      f.departments[8].spaces[0].area = 6_600; // b4: 6600 > 6500
    },
    expected: [
      'buildings[3].floorArea: departments occupy 6,600 m² in building b4, more than its floor area of 6,500 m²',
    ],
  },
  {
    name: 'a room larger than its building, and on a floor it does not have',
    edit: (f) => {
      f.rooms[7].area = 9_600; // b3-hall; b3 is 9,500 m²
      f.rooms[3].floor = 17; // b1 has 16 floors
      f.rooms[4].floor = -1; // b2 declares no basement
    },
    expected: [
      'rooms[3].floor: building b1 has 16 floors above ground, not 17',
      'rooms[4].floor: building b2 has 0 basement floors (basementFloors), so no floor -1',
      'rooms[7].area: 9,600 m² is more than the floor area of building b3 (9,500 m²)',
    ],
  },
  {
    name: 'a basement room where the building declares basements',
    edit: (f) => {
      f.buildings[1].basementFloors = 2;
      f.rooms[4].floor = -2;
    },
    expected: [],
  },
];

const calendarCases: Case[] = [
  {
    name: 'unknown time zone',
    edit: (f) => {
      f.site.timezone = 'Asia/Beijing';
    },
    expected: ['site.timezone: unknown IANA time zone "Asia/Beijing"'],
  },
  {
    name: 'misspelt time zone',
    edit: (f) => {
      f.site.timezone = 'Asia/Shangai';
    },
    expected: ['site.timezone: unknown IANA time zone "Asia/Shangai" (did you mean "Asia/Shanghai"?)'],
  },
  {
    name: 'holiday range that ends before it starts, and impossible dates',
    edit: (f) => {
      f.calendar.holidays[0] = '2026-01-03..2026-01-01';
      f.calendar.holidays[1] = '2026-02-15..2026-02-30';
      f.calendar.holidays[2] = '2026-13-01';
      f.calendar.holidays[3] = '2026/05/01';
    },
    expected: [
      'calendar.holidays[0]: "2026-01-03..2026-01-01" starts after it ends',
      'calendar.holidays[1]: "2026-02-30" is not a date (February 2026 has 28 days)',
      'calendar.holidays[2]: "2026-13-01" is not a date (there is no month 13)',
      'calendar.holidays[3]: "2026/05/01" must be a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD',
    ],
  },
  {
    name: 'overlapping holidays',
    edit: (f) => {
      f.calendar.holidays.push('2026-10-07..2026-10-08');
    },
    expected: [
      'calendar.holidays[7]: "2026-10-07..2026-10-08" overlaps calendar.holidays[6] ("2026-10-01..2026-10-07")',
    ],
  },
  {
    name: 'extra workday that is already a workday, inside a holiday, listed twice, or impossible',
    edit: (f) => {
      f.calendar.extraWorkdays = ['2026-10-12', '2026-10-03', '2026-10-10', '2026-10-10', '2026-02-29'];
    },
    expected: [
      'calendar.extraWorkdays[0]: 2026-10-12 is a Monday, already a workday; a make-up workday must be a day off',
      'calendar.extraWorkdays[1]: 2026-10-03 falls inside holiday "2026-10-01..2026-10-07" (calendar.holidays[6])',
      'calendar.extraWorkdays[3]: 2026-10-10 is already listed at calendar.extraWorkdays[2]',
      'calendar.extraWorkdays[4]: "2026-02-29" is not a date (February 2026 has 28 days)',
    ],
  },
  {
    name: 'extra workday on a day off in a six-day week',
    edit: (f) => {
      f.calendar.workdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    },
    expected: [
      'calendar.extraWorkdays[1]: 2026-02-14 is a Saturday, already a workday; a make-up workday must be a day off',
      'calendar.extraWorkdays[2]: 2026-02-28 is a Saturday, already a workday; a make-up workday must be a day off',
      'calendar.extraWorkdays[3]: 2026-05-09 is a Saturday, already a workday; a make-up workday must be a day off',
      'calendar.extraWorkdays[5]: 2026-10-10 is a Saturday, already a workday; a make-up workday must be a day off',
    ],
  },
  ...(
    [
      ['9:00-18:00', '"9:00-18:00" must be a time range written HH:MM-HH:MM, e.g. "09:00-18:00"'],
      ['09:00-25:00', '"25:00" is not a time of day in "09:00-25:00"'],
      ['09:60-18:00', '"09:60" is not a time of day in "09:60-18:00"'],
      ['18:00-09:00', '"18:00-09:00" ends before it starts; working hours cannot run past midnight'],
      ['09:00-09:00', '"09:00-09:00" is empty (it starts when it ends)'],
    ] as const
  ).map(
    ([hours, message]): Case => ({
      name: `working hours ${hours}`,
      edit: (f) => {
        f.calendar.workingHours = hours;
      },
      expected: [`calendar.workingHours: ${message}`],
    }),
  ),
  {
    name: 'working hours 00:00-24:00 are a whole day, accepted',
    edit: (f) => {
      f.calendar.workingHours = '00:00-24:00';
    },
    expected: [],
  },
];

const tariffCases: Case[] = [
  {
    name: 'overlapping periods in a season, one wrapping midnight',
    edit: (f) => {
      f.tariffs.electricity.seasons[0].valley = ['21:00-08:00']; // meets peak 17:00-22:00
      f.tariffs.electricity.seasons[2].peak = ['10:00-12:00', '11:30-13:00'];
    },
    expected: [
      'tariffs.electricity.seasons[0].valley[0]: "21:00-08:00" overlaps peak period "17:00-22:00" of this season',
      'tariffs.electricity.seasons[2].peak[1]: "11:30-13:00" overlaps peak period "10:00-12:00" of this season',
    ],
  },
  {
    name: 'wrapping valley that only touches the peak is fine',
    edit: (f) => {
      f.tariffs.electricity.seasons[1].valley = ['23:00-07:00'];
    },
    expected: [],
  },
  {
    name: 'a month in two seasons, and a month in none',
    edit: (f) => {
      f.tariffs.electricity.seasons[1].months = [7, 8, 3];
    },
    expected: [
      'tariffs.electricity.seasons: no season covers month 9; every month needs exactly one season',
      'tariffs.electricity.seasons[1].months[2]: month 3 is already in seasons[0]',
    ],
  },
  {
    name: 'a month twice in one season, and months out of range',
    edit: (f) => {
      f.tariffs.electricity.seasons[2].months = [1, 2, 12, 1, 13];
    },
    expected: [
      'tariffs.electricity.seasons[2].months[3]: month 1 is listed twice in this season',
      'tariffs.electricity.seasons[2].months[4]: must be between 1 and 12, not 13',
    ],
  },
  {
    name: 'a period with no price, and an empty one',
    edit: (f) => {
      f.tariffs.electricity.seasons[1].sharp = ['12:00-14:00'];
      f.tariffs.electricity.seasons[1].peak = ['11:00-11:00', '20:00-23:00'];
    },
    expected: [
      'tariffs.electricity.seasons[1].peak[0]: "11:00-11:00" is empty (it starts when it ends)',
      'tariffs.electricity.seasons[1].sharp: the season has sharp periods but tariffs.electricity.prices.sharp is not set',
    ],
  },
];

const geofenceCases: Case[] = [
  {
    name: 'fewer than 3 distinct points (a closed two-point "ring")',
    edit: (f) => {
      f.geofences[0].polygon = [
        [104.0645, 30.6558],
        [104.0675, 30.6558],
        [104.0645, 30.6558],
      ];
    },
    expected: ['geofences[0].polygon: a polygon needs at least 3 distinct points, this one has 2'],
  },
  {
    name: 'coordinates out of range, one probably swapped',
    edit: (f) => {
      f.geofences[0].polygon[1] = [30.6558, 104.0675];
      f.geofences[1].polygon[0] = [203.93, 30.55];
    },
    expected: [
      'geofences[0].polygon[1]: latitude 104.0675 is outside -90..90 (points are [lon, lat]; is this one [lat, lon]?)',
      'geofences[1].polygon[0]: longitude 203.93 is outside -180..180',
    ],
  },
  {
    name: 'self-intersecting outline (a bow tie)',
    edit: (f) => {
      f.geofences[0].polygon = [
        [104.0645, 30.6558],
        [104.0675, 30.6582],
        [104.0675, 30.6558],
        [104.0645, 30.6582],
      ];
    },
    expected: [
      'geofences[0].polygon: the outline crosses itself: edge 0–1 meets edge 2–3 (points are joined in list order)',
    ],
  },
  {
    name: 'zero area (points on one line)',
    edit: (f) => {
      f.geofences[0].polygon = [
        [104.0, 30.0],
        [104.1, 30.1],
        [104.2, 30.2],
      ];
    },
    expected: ['geofences[0].polygon: the polygon has zero area (its points lie on one line)'],
  },
  {
    name: 'outline that folds back on itself',
    edit: (f) => {
      f.geofences[0].polygon = [
        [0, 0],
        [2, 0],
        [2, 2],
        [2, 1],
        [0, 2],
      ];
    },
    expected: ['geofences[0].polygon[2]: the outline folds back on itself at point 2'],
  },
  {
    name: 'a point that is not a pair',
    edit: (f) => {
      f.geofences[0].polygon[2] = [104.0675];
    },
    expected: ['geofences[0].polygon[2]: must be a point [lon, lat], not [104.0675]'],
  },
  {
    name: 'a closed ring (last point = first) is valid',
    edit: (f) => {
      f.geofences[0].polygon.push([104.0645, 30.6558]);
    },
    expected: [],
  },
];

const credentialCases: Case[] = [
  {
    name: 'no credential, both credentials, a malformed hash',
    edit: (f) => {
      delete f.meters[0].secret;
      f.vehicles[0].secretHash = f.vehicles[0].secret;
      f.sensors[0].secretHash = 'scrypt:1000:8:1:c2FsdHNhbHRzYWx0c2FsdA==:aGFzaGhhc2hoYXNoaGFzaA==';
      delete f.sensors[0].secret;
      f.sensors[1].secretHash = 'bcrypt$2b$10$abc';
      delete f.sensors[1].secret;
    },
    expected: [
      'meters[0].secret: required field is missing: give "secret" or "secretHash"',
      // The key comes before its value in the text.
      'vehicles[0].secretHash: give "secret" or "secretHash", not both',
      'vehicles[0].secretHash: "demo-v01" must be written scrypt:N:r:p:saltB64:hashB64',
      'sensors[0].secretHash: scrypt N must be a power of two greater than 1, not 1000',
      'sensors[1].secretHash: "bcrypt$2b$10$abc" must be written scrypt:N:r:p:saltB64:hashB64',
    ],
  },
  {
    name: 'a well-formed hash in place of the secret',
    edit: (f) => {
      delete f.meters[0].secret;
      f.meters[0].secretHash = 'scrypt:16384:8:1:c2FsdHNhbHRzYWx0c2FsdA==:aGFzaGhhc2hoYXNoaGFzaA==';
    },
    expected: [],
  },
];

const quotaCases: Case[] = [
  {
    name: 'quota listed twice for the same scope, id, kind and year',
    edit: (f) => {
      f.quotas.push({ scope: 'building', id: 'b2', kind: 'electricity', year: 2026, amount: 1 });
      f.quotas.push({ scope: 'building', id: 'b2', kind: 'electricity', year: 2027, amount: 1 });
    },
    expected: ['quotas[16]: duplicate quota: building b2, electricity, 2026 (first at quotas[4])'],
  },
];

describe.each([
  ['schema', schemaCases],
  ['ids', idCases],
  ['references and meters', referenceCases],
  ['areas and floors', areaCases],
  ['calendar', calendarCases],
  ['tariffs', tariffCases],
  ['geofences', geofenceCases],
  ['credentials', credentialCases],
  ['quotas', quotaCases],
])('%s', (_group, cases) => {
  it.each(cases)('$name', ({ edit, expected }) => {
    expect(problemsAfter(edit)).toEqual(expected);
  });
});

describe('positions in the text', () => {
  const text = [
    'version: 1', // 1
    'site:', // 2
    '  id: s', // 3
    '  name: { zh: 站, en: Site }', // 4
    '  timezone: Asia/Shanghai', // 5
    '  location: { lat: 30, lon: 104 }', // 6
    '  climateZone: cold', // 7
    'calendar: { workdays: [mon], workingHours: "09:00-18:00" }', // 8
    'buildings:', // 9
    '  - id: b1', // 10
    '    name: { zh: 楼, en: B }', // 11
    '    use: office', // 12
    '    floorArea: 100', // 13
    '    flors: 2', // 14
    'meters:', // 15
    '  - { id: m1, kind: water, building: b2, system: total, interval: 60, secret: x }', // 16
  ].join('\n');

  it('points at the key of an unknown field, the mapping missing a field, and the bad value', () => {
    expect(problemsOf(text).map(formatProblem)).toEqual([
      'test.yaml:10:5  buildings[0].floors: required field is missing',
      'test.yaml:14:5  buildings[0].flors: unknown field (did you mean "floors"?)',
      'test.yaml:16:38  meters[0].building: no building "b2"',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const problems = problemsOf('version: 1\nsite: { id: s\nbuildings: []\n');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.path).toBe('');
    expect(problems[0]?.message).toMatch(/^YAML: /);
    expect(problems[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it('reports a duplicate key together with the other problems', () => {
    const problems = problemsOf(`${text}\nversion: 1\n`).map(formatProblem);
    expect(problems[0]).toBe('test.yaml:10:5  buildings[0].floors: required field is missing');
    expect(problems).toContain('test.yaml:17:1  YAML: Map keys must be unique');
    expect(problems).toHaveLength(4);
  });

  it('reports an empty file', () => {
    expect(problemsOf('# nothing\n').map(formatProblem)).toEqual(['test.yaml  the facility file is empty']);
  });

  it('reports a file that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n').map(formatProblem)).toEqual([
      'test.yaml:1:1  must be a mapping (key: value), not a list',
    ]);
  });
});

describe('secret hashes', () => {
  it('verify the secret they were made from, and no other', async () => {
    const hash = await hashSecret('demo-b1-e-main', { N: 1024, r: 8, p: 1 });
    expect(hash).toMatch(/^scrypt:1024:8:1:[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*$/);
    expect(await verifySecret('demo-b1-e-main', hash)).toBe(true);
    expect(await verifySecret('demo-b1-e-mian', hash)).toBe(false);
    expect(await verifySecret('demo-b1-e-main', 'scrypt:garbage')).toBe(false);
  });
});
