/**
 * An alert and its life cycle: `firing → acknowledged → resolved` (an alert may also resolve
 * straight from firing), one open alert per rule and subject, who acknowledged it and when,
 * comments. Pure: times and ids are given.
 *
 * Times are epoch ms here; the API writes them as ISO-8601 in the site's zone.
 */
import type { Name } from '../facility/schema.ts';
import type { RuleType, Severity } from './rules.ts';

export const ALERT_STATES = ['firing', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export const SUBJECT_KINDS = [
  'site',
  'building',
  'department',
  'meter',
  'vehicle',
  'room',
  'device',
] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/** What an alert is about. */
export interface Subject {
  readonly kind: SubjectKind;
  readonly id: string;
  /** Its name in Chinese (a car's plate, a meter's id when it has no name). */
  readonly name: string;
  /** Its name in English. */
  readonly nameEn: string;
  /** The department it belongs to (department users see its alerts), or null (site-wide only). */
  readonly department: string | null;
}

/** A note on an alert. */
export interface AlertComment {
  /** Who wrote it: a user name or a token's name. */
  readonly by: string;
  readonly at: number;
  readonly text: string;
}

export interface Alert {
  readonly id: string;
  /** Rule id. */
  readonly rule: string;
  readonly type: RuleType;
  readonly severity: Severity;
  readonly state: AlertState;
  readonly subject: Subject;
  readonly firedAt: number;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly resolvedAt: number | null;
  /** The figure that fired it (the latest one seen while open), in `unit`. */
  readonly value: number | null;
  /** The level it was judged against, in `unit`. */
  readonly threshold: number | null;
  readonly unit: string | null;
  readonly title: Name;
  readonly detail: Name;
  readonly comments: readonly AlertComment[];
}

/** What an alert is keyed on while open: one open alert per rule and subject. */
export function openKey(rule: string, subject: Pick<Subject, 'kind' | 'id'>): string {
  return `${rule}\u0000${subject.kind}\u0000${subject.id}`;
}

export class AlertStateError extends Error {
  /** `NOT_OPEN` (already resolved), `ALREADY_ACKNOWLEDGED`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'AlertStateError';
    this.code = code;
  }
}

/** Longest comment, characters. */
export const MAX_COMMENT_CHARS = 2000;
/** Most comments an alert keeps (an alert is not a chat room). */
export const MAX_COMMENTS = 200;

/** The alert acknowledged by `by` at `at`, with the comment if one is given. */
export function acknowledge(alert: Alert, by: string, at: number, comment?: string): Alert {
  if (alert.state === 'resolved') {
    throw new AlertStateError('NOT_OPEN', `alert ${alert.id} is resolved; there is nothing to acknowledge`);
  }
  if (alert.state === 'acknowledged') {
    throw new AlertStateError(
      'ALREADY_ACKNOWLEDGED',
      `alert ${alert.id} was acknowledged by ${alert.acknowledgedBy} already`,
    );
  }
  const acknowledged: Alert = { ...alert, state: 'acknowledged', acknowledgedAt: at, acknowledgedBy: by };
  return comment === undefined || comment.trim() === ''
    ? acknowledged
    : addComment(acknowledged, by, at, comment);
}

/** The alert with a comment added (any state: a resolved alert can still be explained). */
export function addComment(alert: Alert, by: string, at: number, text: string): Alert {
  const trimmed = text.trim();
  if (trimmed === '') throw new AlertStateError('EMPTY_COMMENT', 'text: a comment needs some text');
  if (trimmed.length > MAX_COMMENT_CHARS) {
    throw new AlertStateError('COMMENT_TOO_LONG', `text: at most ${MAX_COMMENT_CHARS} characters`);
  }
  if (alert.comments.length >= MAX_COMMENTS) {
    throw new AlertStateError('TOO_MANY_COMMENTS', `alert ${alert.id} has ${MAX_COMMENTS} comments already`);
  }
  return { ...alert, comments: [...alert.comments, { by, at, text: trimmed }] };
}

/** The alert resolved at `at` (its last value kept). */
export function resolve(alert: Alert, at: number, value: number | null): Alert {
  if (alert.state === 'resolved') return alert;
  return { ...alert, state: 'resolved', resolvedAt: at, value: value ?? alert.value };
}
