/**
 * Where official cars go, and the small plane geometry the vehicle model needs.
 *
 * {@link CHENGDU_PLACES}: real places in Chengdu an official car of a provincial compound is sent
 * to. Coordinates are approximate (read off a map to about 100 m, WGS-84; Chinese web maps show
 * GCJ-02, offset by a few hundred metres) and serve a plausible simulation only. The last four are
 * outside the central urban service area on purpose: the out-of-area fault sends a car there.
 */
import type { LonLat } from '../core/facility/geometry.ts';
import type { Name } from '../core/facility/schema.ts';
import { Draw } from './random.ts';

/** A destination. */
export interface Place {
  readonly id: string;
  readonly name: Name;
  readonly lon: number;
  readonly lat: number;
}

const place = (id: string, zh: string, en: string, lon: number, lat: number): Place => ({
  id,
  name: { zh, en },
  lon,
  lat,
});

/** Destinations in Chengdu (approximate coordinates, WGS-84). */
export const CHENGDU_PLACES: readonly Place[] = [
  place('sichuan-gov', '四川省人民政府', 'Sichuan Provincial Government', 104.0788, 30.6531),
  place('chengdu-gov', '成都市人民政府', 'Chengdu Municipal Government', 104.0566, 30.5756),
  place('chengdu-east-station', '成都东站', 'Chengdu East Railway Station', 104.1414, 30.6302),
  place('chengdu-station', '成都站', 'Chengdu Railway Station', 104.074, 30.6966),
  place('chengdu-south-station', '成都南站', 'Chengdu South Railway Station', 104.0705, 30.608),
  place('shuangliu-airport', '成都双流国际机场', 'Chengdu Shuangliu International Airport', 103.956, 30.574),
  place(
    'west-china-hospital',
    '四川大学华西医院',
    'West China Hospital, Sichuan University',
    104.062,
    30.642,
  ),
  place('provincial-hospital', '四川省人民医院', 'Sichuan Provincial People’s Hospital', 104.0405, 30.6635),
  place('third-hospital', '成都市第三人民医院', 'Chengdu Third People’s Hospital', 104.0565, 30.668),
  place('jinjiang-district', '锦江区人民政府', 'Jinjiang District Government', 104.083, 30.656),
  place('qingyang-district', '青羊区人民政府', 'Qingyang District Government', 104.0615, 30.6745),
  place('wuhou-district', '武侯区人民政府', 'Wuhou District Government', 104.0435, 30.642),
  place('chenghua-district', '成华区人民政府', 'Chenghua District Government', 104.1015, 30.66),
  place('jinniu-district', '金牛区人民政府', 'Jinniu District Government', 104.052, 30.6905),
  place('hightech-zone', '成都高新区管委会', 'Chengdu Hi-tech Zone Administration', 104.065, 30.589),
  place(
    'century-city',
    '世纪城国际会议中心',
    'Century City International Convention Centre',
    104.0745,
    30.556,
  ),
  place('sichuan-university', '四川大学望江校区', 'Sichuan University, Wangjiang campus', 104.0835, 30.632),
  place('tianfu-airport', '成都天府国际机场', 'Chengdu Tianfu International Airport', 104.441, 30.3195),
  place('dujiangyan', '都江堰市人民政府', 'Dujiangyan City Government', 103.647, 30.988),
  place('longquanyi', '龙泉驿区人民政府', 'Longquanyi District Government', 104.2745, 30.557),
  place('xindu', '新都区人民政府', 'Xindu District Government', 104.159, 30.8235),
];

/** Centre of Chengdu (Tianfu Square), for deciding whether the Chengdu list applies. */
const CHENGDU: LonLat = [104.0657, 30.6574];

// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Local plane around a point: metres east and north, accurate to well under 1 % across a city. */
export class LocalPlane {
  readonly #lon0: number;
  readonly #lat0: number;
  readonly #kx: number;
  readonly #ky: number;

  constructor(origin: LonLat) {
    this.#lon0 = origin[0];
    this.#lat0 = origin[1];
    this.#ky = RAD * EARTH_RADIUS_M;
    this.#kx = this.#ky * Math.cos(origin[1] * RAD);
  }

  /** `[x, y]` metres east and north of the origin. */
  toXY([lon, lat]: LonLat): [number, number] {
    return [(lon - this.#lon0) * this.#kx, (lat - this.#lat0) * this.#ky];
  }

  toLonLat(x: number, y: number): [number, number] {
    return [this.#lon0 + x / this.#kx, this.#lat0 + y / this.#ky];
  }
}

/** Distance between two points, metres (equirectangular; fine within a city region). */
export function distanceM(a: LonLat, b: LonLat): number {
  const [x, y] = new LocalPlane(a).toXY(b);
  return Math.hypot(x, y);
}

/** Initial bearing from `a` to `b`, degrees clockwise from north, in [0, 360). */
export function bearingDeg(a: LonLat, b: LonLat): number {
  const [x, y] = new LocalPlane(a).toXY(b);
  const degrees = Math.atan2(x, y) / RAD;
  return (degrees + 360) % 360;
}

/**
 * The destinations for a site: the Chengdu list when the site is within 80 km of Chengdu,
 * otherwise 16 points 2–15 km around the site and 3 at 40–60 km, drawn from the seed.
 */
export function placesFor(site: LonLat, seed: number): readonly Place[] {
  if (distanceM(site, CHENGDU) <= 80_000) return CHENGDU_PLACES;
  const draw = new Draw(seed ^ 0x51ac3);
  const plane = new LocalPlane(site);
  const around = (i: number, min: number, max: number): Place => {
    const bearing = draw.between(0, 2 * Math.PI);
    const r = draw.between(min, max);
    const [lon, lat] = plane.toLonLat(r * Math.sin(bearing), r * Math.cos(bearing));
    return place(`destination-${i + 1}`, `目的地${i + 1}`, `Destination ${i + 1}`, lon, lat);
  };
  return [
    ...Array.from({ length: 16 }, (_, i) => around(i, 2000, 15_000)),
    ...Array.from({ length: 3 }, (_, i) => around(16 + i, 40_000, 60_000)),
  ];
}
