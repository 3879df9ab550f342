import type { Logger } from 'pino';
import type { z } from 'zod';

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
}

export type JobFunction<I = unknown, O = unknown> = (input: I, ctx: JobContext) => O | Promise<O>;

export interface JobOptions {
  /** hard time limit in seconds; a request's time_limit wins */
  timeLimit?: number;
  /** soft time limit in seconds; a request's soft_time_limit wins */
  softTimeLimit?: number;
  /** retry a timed-out run like a failed one (up to max_retries); default false, as in Celery; a request's retry_on_timeout wins */
  retryOnTimeout?: boolean;
}

const JOB_BRAND = Symbol.for('celerity.job');

export interface JobDefinition<S extends z.ZodType = z.ZodType, O = unknown> extends JobOptions {
  readonly [JOB_BRAND]: true;
  /** checked at submit (422) and again before the job runs */
  readonly input?: S;
  readonly run: JobFunction<z.output<S>, O>;
}

/** Declares a job with an input schema and options; a plain async function export works too. */
export function defineJob<S extends z.ZodType, O>(definition: JobOptions & { input?: S; run: JobFunction<z.output<S>, O> }): JobDefinition<S, O> {
  if (typeof definition.run !== 'function') throw new TypeError('defineJob: run must be a function');
  return Object.freeze({ ...definition, [JOB_BRAND]: true as const });
}

/** A job export normalised: either form becomes `{ run, input?, timeLimit?, softTimeLimit?, retryOnTimeout? }`. */
export interface LoadedJob extends JobOptions {
  input?: z.ZodType;
  run: JobFunction;
}

/** Accepts a plain function or a defineJob value (matched by a global symbol, so copies of this package agree). */
export function asLoadedJob(exported: unknown): LoadedJob | undefined {
  if (typeof exported === 'function') return { run: exported as JobFunction };
  if (exported !== null && typeof exported === 'object' && (exported as Record<symbol, unknown>)[JOB_BRAND] === true) {
    return exported as LoadedJob;
  }
  return undefined;
}
