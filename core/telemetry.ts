/**
 * The telemetry contract (docs/architecture.md, "Telemetry contract (v1)"), shared by the broker,
 * ingest, simulators and tests. Pure: no I/O.
 *
 * - `telemetry/topic.ts`: topics `fac/{site}/{kind}/{id}/{channel}`; parse, build, ACL prefix.
 * - `telemetry/payload.ts`: the TypeBox schema and type of each topic's payload.
 * - `telemetry/decode.ts`: topic + bytes → store points, a device status, or a reason.
 * - `telemetry/time.ts`: `ts` (RFC 3339 with offset, or epoch ms) → epoch ms.
 */
export * from './telemetry/decode.ts';
export * from './telemetry/payload.ts';
export { parseTimestamp, type TimeProblem } from './telemetry/time.ts';
export * from './telemetry/topic.ts';
