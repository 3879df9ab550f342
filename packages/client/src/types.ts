import type { components, paths } from './openapi-types.js';

type Schemas = components['schemas'];

export type TaskStatus = Schemas['TaskRecord']['status'];
export type FinishedStatus = Extract<TaskStatus, 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'expired'>;

/** A task record; `R` is the job's result type when the task name is known (see TaskMap). */
export type TaskRecord<R = unknown> = Omit<Schemas['TaskRecord'], 'result'> & { result: R | null };
export type TaskSummary = Schemas['TaskSummary'];
export type CancelResult = Schemas['CancelResult'];
export type DeadLetter = Schemas['DeadLetter'];
export type Job = Schemas['Job'];
export type Schedule = Schemas['Schedule'];
export type Queue = Schemas['Queue'];
export type QueuePurgeResult = Schemas['QueuePurgeResult'];
export type Worker = Schemas['Worker'];
export type WorkerControlResult = Schemas['WorkerControlResult'];
export type StatsHistory = Schemas['StatsHistory'];
export type ScheduleSpec = Schemas['ScheduleSpec'];
export type SchedulePatch = Schemas['SchedulePatch'];

/** Everything POST /tasks takes besides `task` and `input`. */
export type SubmitOptions = Omit<Schemas['SubmitTask'], 'task' | 'input'> & {
  /** Sent as Idempotency-Key; one is made up when absent, so a retried submit never makes a second task. */
  idempotencyKey?: string;
  /** Sent as X-Trace-Id: the task's trace_id, in every log line about it. */
  traceId?: string;
};

export type ListTasksQuery = Omit<NonNullable<paths['/tasks']['get']['parameters']['query']>, 'cursor'>;
export type ListDeadLettersQuery = Omit<NonNullable<paths['/dead-letters']['get']['parameters']['query']>, 'cursor'>;

/**
 * Task names mapped to their input and result types, as `celerity types` generates them from
 * JOBS_ROOT. Without one, any name and any input are accepted.
 */
export type TaskMap = Record<string, { input: unknown; result: unknown }>;
export type AnyTasks = Record<string, { input: unknown; result: unknown }>;

/** The input argument is optional when the job takes none (or any). */
export type InputArgs<I, O> = undefined extends I ? [input?: I, options?: O] : [input: I, options?: O];

/** The events of GET /tasks/{id}/events. */
export type TaskEvent<R = unknown> =
  /** first on a fresh stream: the record as it is */
  | { event: 'state'; id: string; data: TaskRecord<R> }
  | {
      event: 'status';
      id: string;
      data: {
        task_id: string;
        type: 'status';
        status: TaskStatus;
        at: string;
        attempts: number;
        error?: NonNullable<Schemas['TaskRecord']['error']>;
        eta?: string;
        /** the finished record, on a final status */
        record?: TaskRecord<R> | null;
      };
    }
  | { event: 'progress'; id: string; data: { task_id: string; type: 'progress'; at: string; percent: number; message: string | null; data: unknown } };

export const FINISHED: readonly TaskStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'];
export const isFinished = (status: TaskStatus): status is FinishedStatus => FINISHED.includes(status);
