import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, InvalidTaskError, TaskAlreadyFinishedError, TooManyRequestsError } from '@celerity/core';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** AppError code → HTTP status. The only place that maps errors to HTTP. */
const STATUS_BY_CODE: Record<string, number> = {
  MALFORMED_REQUEST: 400,
  MALFORMED_TASK_ID: 400,
  MALFORMED_DEAD_LETTER_ID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  TASK_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  SCHEDULE_CONFLICT: 409,
  DEAD_LETTER_NOT_FOUND: 404,
  DEAD_LETTER_NOT_RETRYABLE: 409,
  CALLBACK_NOT_RETRYABLE: 409,
  TASK_ALREADY_FINISHED: 409,
  IDEMPOTENCY_CONFLICT: 409,
  BROKER_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  DNS_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  TOO_MANY_STREAMS: 429,
  TOO_MANY_SUBSCRIPTIONS: 429,
};
const RETRY_AFTER_SECONDS = 5;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  trace_id?: string;
  errors?: { field: string; message: string }[];
  task_status?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(status: number, code: string, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: `https://celerity.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`, title: TITLES[status] ?? 'Error', status, detail, code, ...extra };
}

/** Seconds to wait before trying again, for a 429 or 503 (Retry-After). */
export function retryAfterSeconds(err: unknown, status: number): number | undefined {
  if (err instanceof TooManyRequestsError) return err.retryAfterSeconds;
  return status === 503 || status === 429 ? RETRY_AFTER_SECONDS : undefined;
}

export function sendProblem(reply: FastifyReply, body: Problem, retryAfter = retryAfterSeconds(undefined, body.status)): FastifyReply {
  if (retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
  return reply.code(body.status).type('application/problem+json').send(body);
}

/**
 * A problem's `instance`: the request's path without its query, which may carry a credential
 * (`?access_token=`) or anything else a problem body should not echo.
 */
export function problemInstance(request: FastifyRequest): string {
  return request.url.split('?', 1)[0] ?? '/';
}

/** Turns anything thrown by a route into problem+json: 4xx say what is wrong, 5xx say nothing internal. */
export function toProblem(err: unknown, request: FastifyRequest): Problem {
  const context = { instance: problemInstance(request), trace_id: String(request.id) };
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = err.validation.map((issue) => ({
      field: [err.validationContext, ...issue.instancePath.split('/').filter(Boolean)].join('.') || String(err.validationContext),
      message: issue.message ?? 'invalid',
    }));
    return problem(400, 'VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { ...context, errors });
  }
  if (err instanceof InvalidTaskError) {
    return problem(422, err.code, err.message, { ...context, ...(err.field ? { errors: [{ field: err.field, message: err.message }] } : {}) });
  }
  if (err instanceof TaskAlreadyFinishedError) return problem(409, err.code, err.message, { ...context, task_status: err.status });
  if (err instanceof AppError) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    return problem(status, err.code, status >= 500 && status !== 503 ? 'internal error' : err.message, context);
  }
  const fastifyErr = (typeof err === 'object' && err !== null ? err : {}) as Partial<FastifyError>;
  if (fastifyErr.statusCode && fastifyErr.statusCode >= 400 && fastifyErr.statusCode < 500) {
    if (fastifyErr.statusCode === 415) {
      const sent = request.headers['content-type'];
      return problem(415, 'UNSUPPORTED_MEDIA_TYPE', `${sent ? `Content-Type "${sent}" is not supported` : 'no Content-Type'}: send a JSON body with Content-Type: application/json`, context);
    }
    const code = fastifyErr.statusCode === 413 ? 'BODY_TOO_LARGE' : 'BAD_REQUEST';
    return problem(fastifyErr.statusCode, code, fastifyErr.message ?? 'bad request', context);
  }
  return problem(500, 'INTERNAL', 'internal error', context);
}
