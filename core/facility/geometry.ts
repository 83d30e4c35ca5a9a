/**
 * Geofence geometry on WGS-84 `[lon, lat]` points: validity of a polygon, its area, and whether
 * a point lies inside. Geofences are a compound or a city district, small enough that a local
 * equirectangular projection is accurate to well under 1 %.
 */

/** A `[lon, lat]` point in WGS-84 degrees (GeoJSON order). */
export type LonLat = readonly [number, number];

/** Something wrong with a polygon; `point` is the index of the point at fault, if one is. */
export interface PolygonProblem {
  point?: number;
  message: string;
}

// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M = 6_371_008.8;

/** A vertex of the ring, with its index in the original list for messages. */
interface Vertex {
  x: number;
  y: number;
  index: number;
}

/**
 * The polygon's ring: consecutive repeats dropped, and the closing point too when the list ends
 * where it starts (a closed ring as GeoJSON writes it is as valid as an open one).
 */
function ring(points: readonly LonLat[]): Vertex[] {
  const out: Vertex[] = [];
  points.forEach(([x, y], index) => {
    const last = out[out.length - 1];
    if (!last || last.x !== x || last.y !== y) out.push({ x, y, index });
  });
  const first = out[0];
  const last = out[out.length - 1];
  if (out.length > 1 && first && last && first.x === last.x && first.y === last.y) out.pop();
  return out;
}

function cross(o: Vertex, a: Vertex, b: Vertex): number {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

function onSegment(p: Vertex, q: Vertex, r: Vertex): boolean {
  return (
    Math.min(p.x, r.x) <= q.x &&
    q.x <= Math.max(p.x, r.x) &&
    Math.min(p.y, r.y) <= q.y &&
    q.y <= Math.max(p.y, r.y)
  );
}

/** Whether segments p1–p2 and q1–q2 share any point (crossing, touching or overlapping). */
function segmentsIntersect(p1: Vertex, p2: Vertex, q1: Vertex, q2: Vertex): boolean {
  const d1 = Math.sign(cross(q1, q2, p1));
  const d2 = Math.sign(cross(q1, q2, p2));
  const d3 = Math.sign(cross(p1, p2, q1));
  const d4 = Math.sign(cross(p1, p2, q2));
  if (d1 * d2 < 0 && d3 * d4 < 0) return true;
  return (
    (d1 === 0 && onSegment(q1, p1, q2)) ||
    (d2 === 0 && onSegment(q1, p2, q2)) ||
    (d3 === 0 && onSegment(p1, q1, p2)) ||
    (d4 === 0 && onSegment(p1, q2, p2))
  );
}

function signedArea(vertices: readonly Vertex[]): number {
  let twice = 0;
  vertices.forEach((a, i) => {
    const b = vertices[(i + 1) % vertices.length] as Vertex;
    twice += a.x * b.y - b.x * a.y;
  });
  return twice / 2;
}

/**
 * Everything wrong with a polygon, or `[]` for a valid one: coordinates out of range, fewer
 * than 3 distinct points, zero area (all points on one line), an edge that folds back, or edges
 * that cross or touch. A polygon that passes has a non-zero area.
 * Later checks run only when the earlier ones pass (a polygon with a bad point has no shape
 * worth judging).
 */
export function polygonProblems(points: readonly LonLat[]): PolygonProblem[] {
  const problems: PolygonProblem[] = [];
  points.forEach(([lon, lat], point) => {
    if (lon < -180 || lon > 180) {
      problems.push({ point, message: `longitude ${lon} is outside -180..180` });
    }
    if (lat < -90 || lat > 90) {
      const swapped = Math.abs(lat) <= 180 && Math.abs(lon) <= 90;
      problems.push({
        point,
        message: `latitude ${lat} is outside -90..90${swapped ? ' (points are [lon, lat]; is this one [lat, lon]?)' : ''}`,
      });
    }
  });
  if (problems.length > 0) return problems;

  const vertices = ring(points);
  const distinct = new Set(vertices.map((v) => `${v.x},${v.y}`)).size;
  if (distinct < 3) {
    return [{ message: `a polygon needs at least 3 distinct points, this one has ${distinct}` }];
  }

  const xs = vertices.map((v) => v.x);
  const ys = vertices.map((v) => v.y);
  const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const [v0, v1] = vertices as [Vertex, Vertex];
  // Relative tolerance: float noise on collinear points is ~1e-16 of span².
  if (vertices.every((v) => Math.abs(cross(v0, v1, v)) <= span * span * 1e-12)) {
    return [{ message: 'the polygon has zero area (its points lie on one line)' }];
  }

  const n = vertices.length;
  for (let i = 0; i < n; i++) {
    const a = vertices[i] as Vertex;
    const b = vertices[(i + 1) % n] as Vertex;
    const c = vertices[(i + 2) % n] as Vertex;
    // Adjacent edges share b; they are wrong only if the second runs back along the first.
    const dot = (b.x - a.x) * (c.x - b.x) + (b.y - a.y) * (c.y - b.y);
    if (n > 3 && cross(a, b, c) === 0 && dot < 0) {
      return [{ point: b.index, message: `the outline folds back on itself at point ${b.index}` }];
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue; // adjacent through the closing edge
      const a1 = vertices[i] as Vertex;
      const a2 = vertices[(i + 1) % n] as Vertex;
      const b1 = vertices[j] as Vertex;
      const b2 = vertices[(j + 1) % n] as Vertex;
      if (segmentsIntersect(a1, a2, b1, b2)) {
        return [
          {
            message:
              `the outline crosses itself: edge ${a1.index}–${a2.index} meets edge ${b1.index}–${b2.index} ` +
              '(points are joined in list order)',
          },
        ];
      }
    }
  }
  return [];
}

/** Area of a valid polygon in m² (equirectangular projection about its mean latitude). */
export function polygonAreaM2(points: readonly LonLat[]): number {
  const vertices = ring(points);
  if (vertices.length < 3) return 0;
  const lat0 = (vertices.reduce((sum, v) => sum + v.y, 0) / vertices.length) * (Math.PI / 180);
  const k = (Math.PI / 180) * EARTH_RADIUS_M;
  const projected = vertices.map((v) => ({ x: v.x * Math.cos(lat0) * k, y: v.y * k, index: v.index }));
  return Math.abs(signedArea(projected));
}

/** Whether a point lies inside a polygon (even-odd rule; points on the outline may go either way). */
export function pointInPolygon([lon, lat]: LonLat, polygon: readonly LonLat[]): boolean {
  const vertices = ring(polygon);
  let inside = false;
  for (let i = 0, j = vertices.length - 1; i < vertices.length; j = i++) {
    const a = vertices[i] as Vertex;
    const b = vertices[j] as Vertex;
    if (a.y > lat !== b.y > lat && lon < ((b.x - a.x) * (lat - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}
