import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, InvalidTaskError, TaskAlreadyFinishedError, TooManyRequestsError } from '@celerity/core';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** AppError code → HTTP status. The only place that maps errors to HTTP. */
const STATUS_BY_CODE: Record<string, number> = {
  MALFORMED_REQUEST: 400,
  BODY_TOO_DEEP: 400,
  BATCH_TOO_LARGE: 400,
  MALFORMED_TASK_ID: 400,
  MALFORMED_DEAD_LETTER_ID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  TASK_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  WORKER_NOT_FOUND: 404,
  WORKER_LOST: 409,
  QUEUE_NOT_FOUND: 404,
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

/** At most this many entries in a problem's `errors` (and its detail): a 60 000-task batch must not answer with megabytes. */
export const MAX_LISTED_ERRORS = 10;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
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
 * (`?access_token=`) or anything else a problem body should not echo; a very long path is cut.
 */
export function problemInstance(request: FastifyRequest): string {
  const path = request.url.split('?', 1)[0] ?? '/';
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/** Turns anything thrown by a route into problem+json: 4xx say what is wrong, 5xx say nothing internal. */
export function toProblem(err: unknown, request: FastifyRequest): Problem {
  const context = { instance: problemInstance(request), trace_id: String(request.id) };
  if (hasZodFastifySchemaValidationErrors(err)) {
    const all = err.validation.map((issue) => ({
      field: [err.validationContext, ...issue.instancePath.split('/').filter(Boolean)].join('.') || String(err.validationContext),
      message: issue.message ?? 'invalid',
    }));
    const errors = all.slice(0, MAX_LISTED_ERRORS);
    const more = all.length - errors.length;
    const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ') + (more > 0 ? `; and ${more} more` : '');
    return problem(400, 'VALIDATION_FAILED', detail, { ...context, errors });
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
    return problem(fastifyErr.statusCode, CODE_BY_STATUS[fastifyErr.statusCode] ?? 'BAD_REQUEST', fastifyErr.message ?? 'bad request', context);
  }
  return problem(500, 'INTERNAL', 'internal error', context);
}

const CODE_BY_STATUS: Record<number, string> = {
  408: 'REQUEST_TIMEOUT',
  413: 'BODY_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

/**
 * What the HTTP parser refuses before a request exists (a malformed request line or header, headers
 * over the size limit, a request that took longer than HTTP_REQUEST_TIMEOUT): answered on the raw
 * socket, as problem+json like every other error, then the connection is closed.
 */
export function clientErrorResponse(err: NodeJS.ErrnoException & { rawPacket?: unknown }): string {
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const detail =
    status === 408 ? 'the request was not received in time (HTTP_REQUEST_TIMEOUT)' : status === 431 ? 'the request line and headers are too large' : 'malformed HTTP request';
  const body = JSON.stringify(problem(status, CODE_BY_STATUS[status] ?? 'MALFORMED_REQUEST', detail));
  return (
    `HTTP/1.1 ${status} ${TITLES[status]}\r\nContent-Type: application/problem+json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
