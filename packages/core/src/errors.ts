import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Every error Celerity throws on purpose. `code` is part of the API contract (it appears in
 * problem+json bodies and in task records); the HTTP mapping lives only in apps/api.
 * Branch on `code`, never on `message`.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
  /** true when trying the same thing again later may succeed */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request that is well-formed JSON but breaks a rule of the contract (HTTP 422). */
export class InvalidTaskError extends AppError {
  readonly code: string = 'INVALID_TASK';
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
export class UnknownJobError extends InvalidTaskError {
  override readonly code = 'UNKNOWN_JOB';
}
export class InvalidTaskNameError extends InvalidTaskError {
  override readonly code = 'INVALID_TASK_NAME';
}
export class UnknownQueueError extends InvalidTaskError {
  override readonly code = 'UNKNOWN_QUEUE';
}
export class PriorityOutOfRangeError extends InvalidTaskError {
  override readonly code = 'PRIORITY_OUT_OF_RANGE';
}
export class InvalidJobInputError extends InvalidTaskError {
  override readonly code = 'INVALID_JOB_INPUT';
}

/** A schedule that breaks a rule once a PATCH is applied (HTTP 422). */
export class InvalidScheduleError extends InvalidTaskError {
  override readonly code = 'INVALID_SCHEDULE';
}
export class ScheduleNotFoundError extends AppError {
  readonly code = 'SCHEDULE_NOT_FOUND';
}
/** POST /schedules with a name in use, or a PATCH that lost to concurrent changes. */
export class ScheduleConflictError extends AppError {
  readonly code = 'SCHEDULE_CONFLICT';
}

export class WorkerNotFoundError extends AppError {
  readonly code = 'WORKER_NOT_FOUND';
}
/** A control request for a worker that has stopped sending heartbeats: nobody would act on it. */
export class WorkerLostError extends AppError {
  readonly code = 'WORKER_LOST';
}
export class QueueNotFoundError extends AppError {
  readonly code = 'QUEUE_NOT_FOUND';
}

export class MalformedTaskIdError extends AppError {
  readonly code = 'MALFORMED_TASK_ID';
}
export class TaskNotFoundError extends AppError {
  readonly code = 'TASK_NOT_FOUND';
}
export class JobNotFoundError extends AppError {
  readonly code = 'JOB_NOT_FOUND';
}
export class TaskAlreadyFinishedError extends AppError {
  readonly code = 'TASK_ALREADY_FINISHED';
  constructor(readonly status: string, hint?: string) {
    super(`task already finished with status ${status}${hint ? `; ${hint}` : ''}`);
  }
}
/** The Idempotency-Key was used before with a different request, or that request is still being accepted. */
export class IdempotencyConflictError extends AppError {
  readonly code = 'IDEMPOTENCY_CONFLICT';
}
export class MalformedDeadLetterIdError extends AppError {
  readonly code = 'MALFORMED_DEAD_LETTER_ID';
}
export class DeadLetterNotFoundError extends AppError {
  readonly code = 'DEAD_LETTER_NOT_FOUND';
}
/** A dead letter that holds no task (its message could not be parsed) cannot be re-submitted. */
export class DeadLetterNotRetryableError extends AppError {
  readonly code = 'DEAD_LETTER_NOT_RETRYABLE';
}

/** Only a callback that failed (all its attempts used) is sent again on request. */
export class CallbackNotRetryableError extends AppError {
  readonly code = 'CALLBACK_NOT_RETRYABLE';
}

/** A request the API will not read at all: its target or encoding is ambiguous (HTTP 400). */
export class MalformedRequestError extends AppError {
  readonly code = 'MALFORMED_REQUEST';
}

/** More tasks in one batch than BATCH_MAX_SIZE (HTTP 400). */
export class BatchTooLargeError extends AppError {
  readonly code = 'BATCH_TOO_LARGE';
}

/** A JSON body nested deeper than BODY_MAX_DEPTH (HTTP 400): refused before it is parsed. */
export class BodyTooDeepError extends AppError {
  readonly code = 'BODY_TOO_DEEP';
}

export class UnauthorizedError extends AppError {
  readonly code = 'UNAUTHORIZED';
}
/** Authenticated, but not for this: a watch token used for a task it does not cover. */
export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
}

/** A caller over one of its limits (requests per window, open event streams): try again later (HTTP 429). */
export class TooManyRequestsError extends AppError {
  override readonly retryable = true;
  constructor(
    readonly code: 'RATE_LIMITED' | 'TOO_MANY_STREAMS' | 'TOO_MANY_SUBSCRIPTIONS',
    message: string,
    /** seconds after which trying again makes sense (Retry-After) */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export class BrokerUnavailableError extends AppError {
  readonly code = 'BROKER_UNAVAILABLE';
  override readonly retryable = true;
}
export class StoreUnavailableError extends AppError {
  readonly code = 'STORE_UNAVAILABLE';
  override readonly retryable = true;
}

export class ConfigError extends AppError {
  readonly code = 'CONFIG_INVALID';
}

/**
 * How a task's attempt can fail, as the `type` of the error on its record (part of the contract).
 * A job steers its retries by what it throws: NonRetryableError (fail now), RetryLaterError (retry
 * after the delay it gives, if attempts remain), anything else (retried with backoff until
 * max_retries). The worker's own failures have the codes in WORKER_FAILURE.
 */

/** Thrown by job code: fail the task now, do not retry. */
export class NonRetryableError extends AppError {
  readonly code: string = 'JOB_NON_RETRYABLE';
}

/** A job returned something its `result` schema refuses: retrying the same code would not help. */
export class InvalidJobResultError extends NonRetryableError {
  override readonly code = 'INVALID_JOB_RESULT';
}

/** Thrown by job code: retry after `delayMs` (not the backoff), if the task has attempts left. */
export class RetryLaterError extends AppError {
  readonly code = 'JOB_RETRY_LATER';
  override readonly retryable = true;
  constructor(
    message: string,
    readonly delayMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`RetryLaterError needs a delay in ms >= 0, got ${delayMs}`);
  }
}

/** Failures the worker itself records, by code (the error `type` on the record and its events). */
export const WORKER_FAILURE = {
  /** killed at its hard time limit */
  TIME_LIMIT_EXCEEDED: 'TIME_LIMIT_EXCEEDED',
  /** its signal was aborted at the soft time limit and the job gave up */
  SOFT_TIME_LIMIT_EXCEEDED: 'SOFT_TIME_LIMIT_EXCEEDED',
  /** its worker died (or stopped renewing its lease) on every attempt: a poison task */
  WORKER_LOST: 'WORKER_LOST',
  /** a message that is not a task (dead-lettered, never run) */
  MALFORMED_MESSAGE: 'MALFORMED_MESSAGE',
  /** its execution thread was killed for a neighbour (hard limit, terminate): handed back, not counted */
  EXECUTION_INTERRUPTED: 'EXECUTION_INTERRUPTED',
  /** its execution thread crashed or exited under it */
  EXECUTION_THREAD_CRASHED: 'EXECUTION_THREAD_CRASHED',
  /** its delivery could not be handled WORKER_HANDLER_FAILURE_LIMIT times in a row (Redis answering errors, a bug): parked, then dead-lettered */
  HANDLER_FAILURE_LIMIT: 'HANDLER_FAILURE_LIMIT',
} as const;
export type WorkerFailureCode = (typeof WORKER_FAILURE)[keyof typeof WORKER_FAILURE];

/** The wire shape of an error stored on a task record. */
export interface ErrorPayload {
  type: string;
  message: string;
  retryable: boolean;
  /** set from a RetryLaterError: the delay the job asked for before its next attempt */
  retry_delay_ms?: number;
  /**
   * Where a job threw (as Celery keeps a traceback): the stack, at most STACK_MAX_FRAMES frames and
   * STACK_MAX_CHARS characters, with paths under JOBS_ROOT made relative. Only for errors thrown
   * while a job loads or runs; absent otherwise.
   */
  stack?: string;
}

export const STACK_MAX_FRAMES = 20;
export const STACK_MAX_CHARS = 4_000;

/** Coerces anything thrown (including non-Error values) into an ErrorPayload; `jobsRoot`: keep the job's stack. */
export function toErrorPayload(err: unknown, options: { jobsRoot?: string } = {}): ErrorPayload {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const retryable = (err as { retryable?: unknown }).retryable;
    const stack = options.jobsRoot !== undefined ? jobStack(err, options.jobsRoot) : undefined;
    // by code, not instanceof: a job module may load its own copy of @celerity/core
    const delayMs = (err as { delayMs?: unknown }).delayMs;
    const retryDelayMs = code === 'JOB_RETRY_LATER' && typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0 ? Math.round(delayMs) : undefined;
    return {
      type: typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : err.name || 'Error',
      message: err.message,
      retryable: typeof retryable === 'boolean' ? retryable : true,
      ...(retryDelayMs !== undefined && { retry_delay_ms: retryDelayMs }),
      ...(stack !== undefined && { stack }),
    };
  }
  return { type: 'NonErrorThrown', message: safeString(err), retryable: true };
}

/**
 * An error's stack for a task record: capped in frames and characters, with the JOBS_ROOT prefix
 * (as a path, its real path, or a file: URL, and our `?reload=N` import suffix) removed, so it
 * reads `at run (reports/monthly.ts:12:11)` and says nothing about the host's directories.
 */
export function jobStack(err: Error, jobsRoot: string): string | undefined {
  if (typeof err.stack !== 'string' || err.stack.length === 0) return undefined;
  let text = err.stack;
  const roots = new Set([jobsRoot, safeRealpath(jobsRoot)].map((root) => root.replace(/[\\/]+$/, '') + sep));
  for (const root of roots) text = text.replaceAll(pathToFileURL(root).href, '').replaceAll(root, '');
  text = text.replace(/\?reload=\d+/g, '');
  const lines = text.split('\n');
  const firstFrame = lines.findIndex((line) => /^\s+at /.test(line));
  const head = firstFrame === -1 ? lines : lines.slice(0, firstFrame);
  const frames = firstFrame === -1 ? [] : lines.slice(firstFrame);
  const kept = [...head, ...frames.slice(0, STACK_MAX_FRAMES)];
  if (frames.length > STACK_MAX_FRAMES) kept.push(`    … ${frames.length - STACK_MAX_FRAMES} more frames`);
  let out = kept.join('\n');
  if (out.length > STACK_MAX_CHARS) out = `${out.slice(0, STACK_MAX_CHARS - 14)}\n… (truncated)`;
  return out;
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
