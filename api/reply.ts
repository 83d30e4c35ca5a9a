/**
 * What the route groups share: the facility, the services and their context, and how a list is
 * answered as JSON or CSV.
 */
import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Facility } from '../core/facility/schema.ts';
import type { KpiContext } from '../core/kpi/types.ts';
import { CSV_TYPE, columnsOf, pick, toCsv, wantsCsv } from './csv.ts';
import { ApiError } from './errors.ts';
import type { KpiServices } from './kpi-services.ts';
import type { Principal } from './tokens.ts';

/** Options every route group is registered with. */
export interface RouteContext {
  readonly facility: Facility;
  readonly kpi: KpiContext;
  readonly services: KpiServices;
}

/** Who is calling; set by the auth hook on every route that is not open. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal) throw new ApiError(401, 'UNAUTHORIZED', 'a bearer token is needed');
  return principal;
}

/** `T` without `readonly` anywhere: the services answer readonly types, fastify's schemas mutable ones. */
export type Mutable<T> = T extends readonly (infer U)[]
  ? Mutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Mutable<T[K]> }
    : T;

/**
 * Answer a list: as CSV (one row per item) when the caller's `Accept` prefers `text/csv`, else the
 * JSON body. `name` is the download's file name, without extension. With `itemSchema`, a row
 * holds only the item's properties the schema lists, as the JSON answer does.
 */
export function sendList<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  body: T,
  items: readonly unknown[],
  name: string,
  itemSchema?: TSchema,
): Mutable<T> {
  if (!wantsCsv(request.headers.accept)) return body as Mutable<T>;
  void reply
    .type(CSV_TYPE)
    .header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}.csv"`);
  const rows = itemSchema ? items.map((item) => pick(itemSchema, item)) : items;
  const columns = rows.length === 0 && itemSchema ? columnsOf(itemSchema) : undefined;
  return toCsv(rows, columns) as unknown as Mutable<T>;
}

/** The `produces` list and description every list route documents. */
export const LIST_PRODUCES = ['application/json', 'text/csv'];
export const CSV_NOTE =
  '\n\nAnswers `text/csv` (UTF-8 with BOM, header row, one row per item, nested fields as dotted columns) ' +
  'when the `Accept` header asks for it.';
