/**
 * Cross-checks of the management sections of a facility file (issue 13): purchase and asset
 * dates are real dates, a department budgets a year once, feedback services have ids of their own
 * (a service's page `/feedback/{id}` must not be a room's). Same rules as `checks.ts`: they read
 * only values of the expected type and leave the rest to the schema.
 */
import { parseDay } from './dates.ts';
import type { PathProblem, PathSegment } from './problem.ts';
import { DATE_PATTERN } from './schema.ts';

type Rec = Record<string, unknown>;
type Report = (path: PathSegment[], message: string) => void;

const isRec = (value: unknown): value is Rec =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function list(parent: unknown, key: string): Array<{ rec: Rec; index: number }> {
  const value = isRec(parent) ? parent[key] : undefined;
  if (!Array.isArray(value)) return [];
  return value.flatMap((rec, index) => (isRec(rec) ? [{ rec, index }] : []));
}

function checkDate(value: unknown, path: PathSegment[], report: Report): void {
  if (typeof value !== 'string' || !new RegExp(DATE_PATTERN).test(value)) return;
  const parsed = parseDay(value);
  if (!parsed.ok) report(path, parsed.reason);
}

/** Every problem of the management sections; pure. */
export function managementChecks(data: Rec): PathProblem[] {
  const problems: PathProblem[] = [];
  const report: Report = (path, message) => problems.push({ path, message });
  for (const { rec, index } of list(data, 'vehicles')) {
    const purchase = rec.purchase;
    if (isRec(purchase)) checkDate(purchase.date, ['vehicles', index, 'purchase', 'date'], report);
  }
  for (const { rec, index } of list(data, 'buildings')) {
    const asset = rec.asset;
    if (isRec(asset)) checkDate(asset.date, ['buildings', index, 'asset', 'date'], report);
  }
  for (const { rec, index } of list(data, 'departments')) {
    const years = new Map<number, number>();
    for (const { rec: budget, index: b } of list(rec, 'budgets')) {
      const year = budget.year;
      if (typeof year !== 'number') continue;
      const earlier = years.get(year);
      if (earlier === undefined) years.set(year, b);
      else
        report(
          ['departments', index, 'budgets', b, 'year'],
          `year ${year} is already budgeted at budgets[${earlier}]; give one entry per year`,
        );
    }
  }
  const rooms = new Set(
    list(data, 'rooms').flatMap(({ rec }) => (typeof rec.id === 'string' ? [rec.id] : [])),
  );
  const services = new Map<string, number>();
  for (const { rec, index } of list(data.feedback, 'services')) {
    const id = rec.id;
    if (typeof id !== 'string') continue;
    const path = ['feedback', 'services', index, 'id'];
    const earlier = services.get(id);
    if (earlier !== undefined)
      report(path, `duplicate service id "${id}" (first at feedback.services[${earlier}])`);
    else services.set(id, index);
    if (rooms.has(id)) {
      report(path, `"${id}" is a room id; a service needs an id of its own (its page is /feedback/${id})`);
    }
  }
  return problems;
}
