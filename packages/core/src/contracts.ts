import { z } from 'zod';
import type { ErrorPayload } from './errors.js';
import type { TaskStatus } from './status.js';

/**
 * The AMQP message body. Deliberately small: input and results live in Redis, so a big input
 * never bloats the broker, and the record stays the single source of truth.
 */
export const TaskMessage = z.object({
  id: z.string().min(1),
  task: z.string().min(1),
  trace_id: z.string().min(1),
});
export type TaskMessage = z.output<typeof TaskMessage>;

export interface TaskProgress {
  percent: number;
  message: string | null;
  data: unknown;
}

/** The webhook of a task: delivered once the task is finished, retried with backoff until a 2xx. */
export interface TaskCallback {
  url: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** the receiver's HTTP status on the last attempt (null: none yet, or no answer) */
  last_status: number | null;
  last_error: string | null;
}

/** The schedule a task was fired by (apps/beat), and the fire time it stands for. */
export interface TaskSchedule {
  name: string;
  /** ISO-8601 UTC: the schedule's fire time (for a manual trigger, the time of the trigger) */
  fire_at: string;
}

/** A task record as stored and served (DESIGN.md "Record"); times are ISO-8601 UTC. */
export interface TaskRecord {
  id: string;
  task: string;
  status: TaskStatus;
  queue: string;
  priority: number;
  input: unknown;
  result: unknown;
  error: ErrorPayload | null;
  progress: TaskProgress | null;
  attempts: number;
  max_retries: number;
  time_limit: number | null;
  soft_time_limit: number | null;
  /** a timed-out run is retried like a failed one */
  retry_on_timeout: boolean;
  trace_id: string;
  metadata: Record<string, unknown> | null;
  callback: TaskCallback | null;
  worker: string | null;
  /** cancelled while running, and its execution has not stopped yet (DELETE ?terminate=true kills it) */
  stopping: boolean;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  eta: string | null;
  /** ISO-8601 UTC: a task not started by then is not run and ends `expired` (null: never) */
  expires: string | null;
  /** set when the beat fired it */
  schedule: TaskSchedule | null;
}

/** What the producer needs to create a record: everything decided before publishing. */
export interface NewTask {
  id: string;
  task: string;
  queue: string;
  priority: number;
  input: unknown;
  max_retries: number;
  time_limit: number | null;
  soft_time_limit: number | null;
  retry_on_timeout: boolean;
  trace_id: string;
  metadata: Record<string, unknown> | null;
  callback_url: string | null;
  /** not before this time (countdown/eta): the task waits as `scheduled`, holding no queue slot */
  eta: Date | null;
  /** not started by this time, the task is not run and ends `expired` */
  expires?: Date | null | undefined;
  /** the schedule that fired it, if any */
  schedule?: TaskSchedule | null | undefined;
}

/** Why a message ended in the dead-letter queue. */
export const DEAD_LETTER_REASONS = ['failed', 'timed_out', 'worker_lost', 'malformed'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/**
 * A task that ended without success (after its retries), or a message that could not be parsed.
 * Carries a snapshot of the submission so it can be re-submitted after its record has expired.
 */
export interface DeadLetter {
  /** the entry's id in the dead-letter stream, time-ordered (`<ms>-<seq>`) */
  id: string;
  reason: DeadLetterReason;
  dead_lettered_at: string;
  queue: string;
  error: ErrorPayload | null;
  /** null for a message that could not be parsed */
  task_id: string | null;
  task: string | null;
  priority: number | null;
  attempts: number | null;
  trace_id: string | null;
  input: unknown;
  max_retries: number | null;
  time_limit: number | null;
  soft_time_limit: number | null;
  retry_on_timeout: boolean;
  metadata: Record<string, unknown> | null;
  callback_url: string | null;
  /** the raw message (UTF-8, at most 64 KiB) when it could not be parsed */
  body: string | null;
}

/** A status or progress change of one task, as watchers (SSE, WebSocket) receive it. */
export type TaskEvent =
  | { type: 'status'; status: TaskStatus; at: string; attempts: number; error?: ErrorPayload; eta?: string }
  | { type: 'progress'; at: string; percent: number; message: string | null; data: unknown };

/** A task event with its number (1, 2, 3 … per task): the SSE id. */
export interface TaskEventEntry {
  id: string;
  event: TaskEvent;
}
