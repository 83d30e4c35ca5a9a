/**
 * The API's one error shape, `{ error: { code, message, parameter?, problems? } }`, and the handler that maps
 * every thrown error to it: coded API errors and `KpiError`s keep their status, schema validation
 * failures become a 400 naming the parameter, store outages a 503, and anything else a 500 whose
 * message says nothing of the cause (it is logged, never sent: no stack trace leaves the process).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { KpiError } from '../core/kpi/types.ts';
import { StoreError } from '../core/store.ts';

/** An error the API answers with as it is: an HTTP status, a code, and the parameter at fault. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly parameter: string | undefined;
  /** Every problem of an input that has many parts (the rows of a CSV file), each with its line. */
  problems: readonly ErrorProblem[] | undefined;
  constructor(statusCode: number, code: string, message: string, parameter?: string) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
    this.parameter = parameter;
    this.problems = undefined;
  }
}

/** One problem of an input with many parts: where (line, column) and what. */
export interface ErrorProblem {
  readonly line: number;
  readonly column?: string;
  readonly message: string;
}

/** A 400 naming the query, path or body parameter at fault. */
export function badParameter(parameter: string, message: string): ApiError {
  return new ApiError(400, 'INVALID_PARAMETER', `${parameter}: ${message}`, parameter);
}

/** A 404 for an id the facility does not know. */
export function notFound(parameter: string, message: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', message, parameter);
}

/** A 403: the caller's role or department does not reach this. */
export function forbidden(message: string, parameter?: string): ApiError {
  return new ApiError(403, 'FORBIDDEN', message, parameter);
}

/** The body of every error answer. */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly parameter?: string;
    readonly retriable?: boolean;
    readonly problems?: readonly ErrorProblem[];
  };
}

interface ValidationIssue {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}

/** Where fastify's validation found the fault, as a parameter name and a sentence for a person. */
export function describeValidation(
  issues: readonly ValidationIssue[],
  context: string | undefined,
  input: unknown,
): { parameter: string | undefined; message: string } {
  const issue = issues[0];
  if (!issue) return { parameter: undefined, message: `invalid ${context ?? 'request'}` };
  const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing = typeof issue.params.missingProperty === 'string' ? issue.params.missingProperty : undefined;
  // A fault of the whole body (not an object, say) is the body's.
  // An element of a list is blamed on the list (`categories`); the message says which element.
  const field = path
    .split('.')
    .filter((segment) => !/^\d+$/.test(segment))
    .join('.');
  const parameter = missing ?? (field !== '' ? field : context === 'body' ? 'body' : undefined);
  const got =
    parameter !== undefined && missing === undefined ? valueAt(input, issue.instancePath) : undefined;
  const gotText = got === undefined ? '' : ` (got ${JSON.stringify(got)})`;
  let text: string;
  if (missing !== undefined) text = 'is required';
  else if (issue.keyword === 'enum' && Array.isArray(issue.params.allowedValues)) {
    text = `must be one of ${issue.params.allowedValues.join(', ')}`;
  } else if (issue.keyword === 'additionalProperties') {
    text = `unknown property "${String(issue.params.additionalProperty)}"`;
  } else text = issue.message ?? 'is not valid';
  const where =
    (missing === undefined && path !== '' ? path : parameter) ??
    (context === 'body' ? 'body' : (context ?? 'request'));
  return { parameter, message: `${where}: ${text}${gotText}` };
}

function valueAt(input: unknown, pointer: string): unknown {
  let value = input;
  for (const key of pointer.split('/').slice(1)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** fastify's error handler for the whole app. */
export function errorHandler(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const body = errorBody(error, request);
  if (body.status >= 500) request.log.error({ err: error }, 'request failed');
  // RFC 6750 §3: a 401 names the scheme the client should use.
  if (body.status === 401) void reply.header('www-authenticate', 'Bearer realm="facility"');
  void reply.status(body.status).type('application/json; charset=utf-8').send({ error: body.error });
}

function errorBody(
  error: FastifyError | Error,
  request: FastifyRequest,
): { status: number; error: ErrorBody['error'] } {
  if (error instanceof ApiError) {
    const coded = withParameter({ code: error.code, message: error.message }, error.parameter);
    return {
      status: error.statusCode,
      error: error.problems === undefined ? coded : { ...coded, problems: error.problems },
    };
  }
  if (error instanceof KpiError) {
    return {
      status: error.status,
      error: withParameter(
        { code: error.status === 404 ? 'NOT_FOUND' : 'INVALID_PARAMETER', message: error.message },
        error.parameter,
      ),
    };
  }
  const fastifyError = error as FastifyError & { validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    const context = fastifyError.validationContext;
    const input =
      context === 'querystring'
        ? request.query
        : context === 'params'
          ? request.params
          : context === 'headers'
            ? request.headers
            : request.body;
    const { parameter, message } = describeValidation(
      fastifyError.validation as unknown as ValidationIssue[],
      context,
      input,
    );
    return { status: 400, error: withParameter({ code: 'INVALID_PARAMETER', message }, parameter) };
  }
  if (error instanceof StoreError) {
    return error.retriable
      ? {
          status: 503,
          error: {
            code: 'STORE_UNAVAILABLE',
            message: 'the store is unavailable; try again',
            retriable: true,
          },
        }
      : { status: 500, error: { code: 'INTERNAL', message: 'internal error' } };
  }
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 500 || status < 400)
    return { status: 500, error: { code: 'INTERNAL', message: 'internal error' } };
  // fastify's own 4xx (bad JSON body, unsupported media type, body too large…): their messages
  // describe the request, not the server.
  const code =
    typeof fastifyError.code === 'string' ? fastifyError.code.replace(/^FST_ERR_/, '') : 'BAD_REQUEST';
  // The content-type parser's errors (not JSON, empty, too large, unsupported type) are the body's.
  if (typeof fastifyError.code === 'string' && fastifyError.code.startsWith('FST_ERR_CTP_')) {
    return { status, error: { code, message: `body: ${error.message}`, parameter: 'body' } };
  }
  return { status, error: { code, message: error.message } };
}

function withParameter(
  error: { code: string; message: string },
  parameter: string | undefined,
): ErrorBody['error'] {
  return parameter === undefined ? error : { ...error, parameter };
}
