import type { Logger } from 'pino';
import { z } from 'zod';

/** What a job function receives besides its input (DESIGN.md "Task names and job modules"). */
export interface JobContext {
  readonly taskId: string;
  /** 1 on the first run, 2 on the first retry or redelivery, ... */
  readonly attempt: number;
  readonly traceId: string;
  /** Aborted when the task is cancelled or its soft time limit passes; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /** Reports progress; calls in a tight loop are coalesced before they reach Redis. */
  progress(percent: number, message?: string, data?: unknown): void;
  /** pino child logger carrying task_id and trace_id */
  readonly log: Logger;
  /** the submit's `metadata` (null without) */
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /** the queue the task was delivered from (without the namespace) */
  readonly queue: string;
  /** the task's priority within its queue */
  readonly priority: number;
  /**
   * Ends this attempt and runs the task again after `countdown` seconds (Celery's `self.retry`), if
   * attempts remain (max_retries); otherwise it ends failed. Same as throwing RetryLaterError.
   */
  retry(options: { countdown: number; reason?: string }): never;
}

export type JobFunction<I = unknown, O = unknown> = (input: I, ctx: JobContext) => O | Promise<O>;

export interface JobOptions {
  /** what the job does, for GET /jobs and Swagger UI */
  description?: string;
  /** hard time limit in seconds; a request's time_limit wins */
  timeLimit?: number;
  /** soft time limit in seconds; a request's soft_time_limit wins */
  softTimeLimit?: number;
  /** retry a timed-out run like a failed one (up to max_retries); default false, as in Celery; a request's retry_on_timeout wins */
  retryOnTimeout?: boolean;
  /** the queue a submission without `queue` goes to; wins over CELERITY_CONFIG's routing rules */
  queue?: string;
  /** the priority a submission without `priority` gets (within the queue's range) */
  priority?: number;
  /** retries after a retryable failure; a request's max_retries wins; default TASK_MAX_RETRIES */
  maxRetries?: number;
  /** seconds: the first retry's backoff ceiling (doubling after), instead of TASK_RETRY_DELAY */
  retryDelay?: number;
  /** seconds: no backoff is longer, instead of TASK_RETRY_DELAY_MAX */
  retryDelayMax?: number;
  /**
   * Retry only these failures: error classes (matched with instanceof) or a predicate. Anything else
   * fails at once. RetryLaterError and ctx.retry() always retry while attempts remain. Default: every
   * error but NonRetryableError is retried.
   */
  retryOn?: readonly (abstract new (...args: never[]) => Error)[] | ((error: unknown) => boolean);
  /** seconds after submit: not started by then, the task ends `expired`; a request's `expires` wins */
  expires?: number;
}

const JOB_BRAND = Symbol.for('celerity.job');

export interface JobDefinition<S extends z.ZodType = z.ZodType, O = unknown> extends JobOptions {
  readonly [JOB_BRAND]: true;
  /** checked at submit (422) and again before the job runs */
  readonly input?: S;
  /** what the job returns: documents the result (GET /jobs, `celerity types`) */
  readonly result?: z.ZodType<Awaited<O>>;
  readonly run: JobFunction<z.output<S>, O>;
}

/** Declares a job with an input schema and options; a plain async function export works too. */
export function defineJob<S extends z.ZodType, O>(
  definition: JobOptions & { input?: S; result?: z.ZodType<Awaited<O>>; run: JobFunction<z.output<S>, O> },
): JobDefinition<S, O> {
  if (typeof definition.run !== 'function') throw new TypeError('defineJob: run must be a function');
  return Object.freeze({ ...definition, [JOB_BRAND]: true as const });
}

/** A job export normalised: either form becomes `{ run, input?, timeLimit?, softTimeLimit?, retryOnTimeout? }`. */
export interface LoadedJob extends JobOptions {
  input?: z.ZodType;
  result?: z.ZodType;
  run: JobFunction;
}

/** A job as GET /jobs and `celerity types` show it: its schemas as JSON Schema (null: any JSON). */
export interface JobDescription {
  name: string;
  description: string | null;
  input_schema: Record<string, unknown> | null;
  result_schema: Record<string, unknown> | null;
  time_limit: number | null;
  soft_time_limit: number | null;
  retry_on_timeout: boolean | null;
}

/** JSON Schema of what a caller sends (io: input) or gets back (io: output); a part zod cannot express becomes `{}` (any). */
function jsonSchemaOf(schema: z.ZodType | undefined, io: 'input' | 'output'): Record<string, unknown> | null {
  if (!schema) return null;
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** False when the job's retryOn says this error is not worth a retry. */
export function jobRetries(job: LoadedJob, error: unknown): boolean {
  const { retryOn } = job;
  if (retryOn === undefined) return true;
  if (typeof retryOn === 'function') return retryOn(error);
  return retryOn.some((type) => error instanceof type);
}

export function describeJob(name: string, job: LoadedJob): JobDescription {
  return {
    name,
    description: job.description ?? null,
    input_schema: jsonSchemaOf(job.input, 'input'),
    result_schema: jsonSchemaOf(job.result, 'output'),
    time_limit: job.timeLimit ?? null,
    soft_time_limit: job.softTimeLimit ?? null,
    retry_on_timeout: job.retryOnTimeout ?? null,
  };
}

/** Accepts a plain function or a defineJob value (matched by a global symbol, so copies of this package agree). */
export function asLoadedJob(exported: unknown): LoadedJob | undefined {
  if (typeof exported === 'function') return { run: exported as JobFunction };
  if (exported !== null && typeof exported === 'object' && (exported as Record<symbol, unknown>)[JOB_BRAND] === true) {
    return exported as LoadedJob;
  }
  return undefined;
}
