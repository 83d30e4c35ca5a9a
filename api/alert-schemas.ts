/**
 * TypeBox schemas of the sign-in, users and alerts routes (the rest are in schemas.ts). The
 * response schemas are the contract the live page is built against (api/README.md).
 */
import { type Static, Type } from '@sinclair/typebox';
import { ALERT_STATES, SUBJECT_KINDS } from '../core/alerts/alert.ts';
import { ALERT_EVENTS, RULE_TYPE_NAMES, SEVERITIES } from '../core/alerts/rules.ts';
import { ROLE_VALUES, StringEnum } from './schemas.ts';
import { MAX_PASSWORD_CHARS, USERNAME_PATTERN } from './users.ts';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Number>>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const Bilingual = Type.Object({ zh: Type.String(), en: Type.String() });

// ------------------------------------------------------------------ session and users

export const SessionBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64, description: 'User name.' }),
    password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_CHARS, description: 'Password.' }),
  },
  { additionalProperties: false },
);
export type SessionBody = Static<typeof SessionBody>;

export const SessionUserSchema = Type.Object({
  username: Type.String(),
  role: StringEnum(ROLE_VALUES),
  department: Type.Union([Type.String(), Type.Null()]),
});

export const SessionSchema = Type.Object({
  user: SessionUserSchema,
  csrfToken: Type.Optional(
    Type.String({
      description:
        'Send it as x-csrf-token with every POST, PUT, PATCH and DELETE. Absent for a bearer token.',
    }),
  ),
  expiresAt: Type.Optional(
    Type.String({
      description: 'ISO-8601: when the session ends; sign in again after. Absent for a bearer token.',
    }),
  ),
});

export const UserSchema = Type.Object({
  username: Type.String(),
  role: StringEnum(ROLE_VALUES),
  department: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  createdBy: Type.String(),
});
export const UserListSchema = Type.Object({ users: Type.Array(UserSchema) });

export const NewUserBody = Type.Object(
  {
    username: Type.String({
      pattern: USERNAME_PATTERN,
      description:
        'Lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64.',
    }),
    password: Type.String({
      minLength: 1,
      maxLength: MAX_PASSWORD_CHARS,
      description: 'At least 10 characters.',
    }),
    role: StringEnum(ROLE_VALUES),
    department: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], {
        description: 'Limit the user to one department (operator or viewer only).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type NewUserBody = Static<typeof NewUserBody>;

export const UsernameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });

// ------------------------------------------------------------------ alerts

export const AlertSchema = Type.Object({
  id: Type.String(),
  rule: Type.String({ description: 'Id of the rule that fired it.' }),
  type: StringEnum(RULE_TYPE_NAMES),
  severity: StringEnum(SEVERITIES),
  state: StringEnum(ALERT_STATES),
  subject: Type.Object({
    kind: StringEnum(SUBJECT_KINDS),
    id: Type.String(),
    name: Type.String({ description: 'Its name in Chinese (a car: its plate).' }),
    nameEn: Type.String({ description: 'Its name in English.' }),
    department: Type.Union([Type.String(), Type.Null()], {
      description: 'The department it belongs to; null: site-wide.',
    }),
  }),
  firedAt: Type.String(),
  acknowledgedAt: Nullable(Type.String()),
  acknowledgedBy: Nullable(Type.String()),
  resolvedAt: Nullable(Type.String()),
  value: Nullable(Type.Number({ description: 'The figure that fired it, in `unit`.' })),
  threshold: Nullable(Type.Number({ description: 'What it was judged against, in `unit`.' })),
  unit: Nullable(Type.String()),
  title: Bilingual,
  detail: Bilingual,
  comments: Type.Array(Type.Object({ by: Type.String(), at: Type.String(), text: Type.String() })),
});

export const AlertListSchema = Type.Object({ alerts: Type.Array(AlertSchema) });

export const AlertsQuery = Type.Object({
  state: Type.Optional(
    StringEnum([...ALERT_STATES, 'open'] as const, {
      description: 'firing, acknowledged, resolved, or open (firing and acknowledged).',
    }),
  ),
  severity: Type.Optional(
    StringEnum(SEVERITIES, { description: 'info, warning or critical: only this one.' }),
  ),
  from: Type.Optional(
    Type.String({ description: 'Only alerts open at some time from here on (ISO-8601 or a date).' }),
  ),
  to: Type.Optional(Type.String({ description: 'Only alerts fired before this.' })),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, default: 200, description: 'Most alerts; newest first.' }),
  ),
});

export const AlertIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const AckBody = Type.Union(
  [
    Type.Object(
      {
        comment: Type.Optional(Type.String({ maxLength: 2000, description: 'Why, or what is being done.' })),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ],
  { description: 'Optional; `{}` or no body acknowledges without a comment.' },
);

export const CommentBody = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
);

export const AlertRuleSchema = Type.Object(
  {
    id: Type.String(),
    type: StringEnum(RULE_TYPE_NAMES),
    severity: StringEnum(SEVERITIES),
    enabled: Type.Boolean(),
    forMinutes: Type.Number(),
    clearMinutes: Type.Number(),
  },
  {
    additionalProperties: true,
    description: 'A rule: the fields every rule has, and those of its type (README).',
  },
);

export const AlertRulesSchema = Type.Object({
  rules: Type.Array(AlertRuleSchema),
  source: StringEnum(['file', 'api'] as const, {
    description: 'file: the facility file’s alerts section; api: saved through PUT.',
  }),
  savedAt: Type.Union([Type.String(), Type.Null()]),
  savedBy: Type.Union([Type.String(), Type.Null()]),
  types: Type.Record(Type.String(), Type.String(), { description: 'Each rule type and what it watches.' }),
});

export const PutRulesBody = Type.Object(
  {
    rules: Type.Array(Type.Object({}, { additionalProperties: true }), {
      maxItems: 500,
      description: 'The new rules, whole: each `{ id, type, … }`; fields left out take the type’s defaults.',
    }),
  },
  { additionalProperties: false },
);

export const DeliverySchema = Type.Object({
  id: Type.Number(),
  alert: Type.String(),
  webhook: Type.String(),
  event: StringEnum(ALERT_EVENTS),
  at: Type.String(),
  attempts: Type.Integer(),
  ok: Type.Boolean(),
  status: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});
export const DeliveryListSchema = Type.Object({ deliveries: Type.Array(DeliverySchema) });
