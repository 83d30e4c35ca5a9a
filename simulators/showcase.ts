/**
 * The showcase: faults planted the moment a live run starts, so that someone trying the platform
 * sees alerts at once instead of waiting for the weekly fault schedule (`faults.ts`).
 *
 * An episode is keyed by its instant `at` (the live run's simulated start) and drawn from the
 * seed and `at` alone, so the same seed and start give the same episode. It plants three faults,
 * each already under way when the run starts:
 *
 * | fault | device | from | until |
 * |---|---|---|---|
 * | `water-leak` | a water meter (drawn), 0.30–0.50 m³/h constant flow | 22:00 local the evening before the last night whose first 2 hours (00:00–02:00) are over at `at`, so that a night-flow check at the start already sees a night of leak (`core/alerts/evaluate.ts`, water-leak) | 30 h after the whole hour before the hour of `at`, so it also holds the coming night |
 * | `hvac-empty-room` | a meeting room (drawn) whose sensor reports `hvac` and `occupancy` | 30 min before `at` | 2 h after `at`; the room's meetings in that window are cancelled: nobody comes, the fan coil runs (`fan`, or `heat`/`cool` as the plant does) |
 * | `out-of-area-trip` | a car (drawn) | it leaves the compound so that it crosses out of the `service-area` geofence 2 min before `at` | its trip to the destination outside the area farthest from the compound and back: for the demo, Dujiangyan, about 55 km away: a trip of about 6.5 h, outside the area for 4.5–5.5 h |
 *
 * Devices already carrying a planted fault of the weekly schedule near the episode (a meter
 * silenced or reset, a room with a fault, a car with a faulty trip that day or the days around)
 * are not drawn, nor those of an earlier episode still under way; a part without a device left
 * (no water meter, no meeting room with a sensor reporting `hvac` and `occupancy`, no
 * `service-area` geofence or no destination outside it) is not planted. Devices with a plain demo
 * `secret` are preferred, since only those can be run live.
 *
 * A leak and a trip move a register and an odometer on for good, so a simulation keeps every
 * earlier episode it was given: a restarted platform passes the episodes of its earlier runs
 * (kept in its data folder) with the new one, and what it already stored stays what the new run
 * simulates. {@link nextShowcase} decides whether a start adds an episode.
 */

/** The leak's end is reckoned from the whole hour this many hours before the hour of `at`. */
export const SHOWCASE_LEAK_LEAD_HOURS = 1;
/** …and lies this long after it, ms: 30 h, so the coming night lies inside it. */
export const SHOWCASE_LEAK_MS = 30 * 3_600_000;
/** The leak began before the last night with this much of it over at `at`, ms (from local midnight). */
export const SHOWCASE_LEAK_NIGHT_OVER_MS = 2 * 3_600_000;
/** …this long before that night's midnight, ms: at 22:00 the evening before. */
export const SHOWCASE_LEAK_EVENING_MS = 2 * 3_600_000;
/** Leak flow, m³/h: drawn in this range. */
export const SHOWCASE_LEAK_FLOW: readonly [number, number] = [0.3, 0.5];
/** The empty room's HVAC runs from this long before `at`, ms. */
export const SHOWCASE_ROOM_LEAD_MS = 30 * 60_000;
/** … until this long after `at`, ms. */
export const SHOWCASE_ROOM_MS = 2 * 3_600_000;
/** The car crosses out of the service area this long before `at`, ms. */
export const SHOWCASE_CAR_MARGIN_MS = 2 * 60_000;
/** A start adds no episode while the latest one began less than this ago, ms (its room and car are still at it). */
export const SHOWCASE_REPEAT_MS = 2 * 3_600_000;

/**
 * The episodes a run should simulate: the earlier ones, kept because they are history, and one
 * more at `now` when `plant` is on and the latest episode is not still under way (began less
 * than {@link SHOWCASE_REPEAT_MS} before `now`). Sorted, without duplicates.
 */
export function nextShowcase(previous: readonly number[], now: number, plant: boolean): number[] {
  const episodes = [...new Set(previous)].filter(Number.isFinite).sort((a, b) => a - b);
  if (!plant) return episodes;
  const latest = episodes.filter((at) => at <= now).at(-1);
  if (latest !== undefined && now - latest < SHOWCASE_REPEAT_MS) return episodes;
  return [...episodes, now].sort((a, b) => a - b);
}
