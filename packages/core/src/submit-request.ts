import { z } from 'zod';
import type { TaskSchedule } from './contracts.js';
import { MAX_TASK_NAME_LENGTH } from './task-name.js';

/**
 * The one schema of a task submission (wire names, snake_case): POST /tasks and /tasks/batch
 * validate with it (it is also their OpenAPI schema), the producer takes its type, and a schedule
 * reuses its task fields. Rules that need the service (task name resolution, queues, time-limit caps,
 * callback address checks) are the producer's, at submit.
 */

/** The furthest a task may be put off (countdown, eta): a year. A scheduled record has no TTL until it runs. */
export const MAX_DELAY_SECONDS = 31_536_000;
/** The longest callback_url accepted. */
export const MAX_CALLBACK_URL_LENGTH = 2048;

/** What a task is and how it runs: every field of a submission but its timing (countdown, eta). */
export const TaskFields = {
  task: z.string().min(1).max(MAX_TASK_NAME_LENGTH).describe('Dotted job path under JOBS_ROOT: module path, then export name, e.g. "demo.echo"'),
  input: z.unknown().optional().describe('Any JSON; passed to the job as its first argument'),
  queue: z.string().min(1).max(63).optional().describe('Explicit queue; wins over routing rules'),
  priority: z.int().min(0).max(10).optional().describe("Higher runs first within a queue; at most the queue's x-max-priority"),
  max_retries: z.int().min(0).max(100).optional().describe('Retries after a retryable failure (exponential backoff with jitter); defaults to TASK_MAX_RETRIES'),
  time_limit: z.number().positive().optional().describe('Hard time limit in seconds; the execution is killed after it'),
  soft_time_limit: z.number().positive().optional().describe("Soft time limit in seconds; aborts the job's signal"),
  retry_on_timeout: z.boolean().optional().describe("Retry a timed-out run like a failed one (default: the job's retryOnTimeout option, else false)"),
  metadata: z.record(z.string(), z.unknown()).optional().describe('Free-form, returned with the record'),
  callback_url: z
    .string()
    .max(MAX_CALLBACK_URL_LENGTH)
    .optional()
    .describe('http(s) URL called with a signed POST once the task is finished; loopback, private and metadata addresses, and ports other than WEBHOOK_ALLOWED_PORTS (80, 443), are refused (422) unless WEBHOOK_ALLOW_PRIVATE'),
};

export const SubmitTaskRequest = z
  .object({
    ...TaskFields,
    countdown: z.number().min(0).max(MAX_DELAY_SECONDS).optional().describe('Seconds to wait before the task may start; it is `scheduled` meanwhile'),
    eta: z.iso
      .datetime({ offset: true })
      .refine((eta) => !(Date.parse(eta) > Date.now() + MAX_DELAY_SECONDS * 1000), 'at most a year from now, like countdown')
      .optional()
      .describe('ISO-8601 time before which the task may not start, at most a year from now (not with countdown)'),
    expires: z
      .union([
        z.number().positive().max(MAX_DELAY_SECONDS),
        z.iso.datetime({ offset: true }).refine((t) => !(Date.parse(t) > Date.now() + 2 * MAX_DELAY_SECONDS * 1000), 'at most two years from now'),
      ])
      .optional()
      .describe('Seconds from now, or an ISO-8601 time: a task that has not started by then is not run and ends `expired` (also a retry that is due after it)'),
  })
  .strict()
  .meta({ id: 'SubmitTask' });

/**
 * A submission as the producer takes it: the HTTP body's shape, plus `schedule`, which only the beat
 * sets (an HTTP body cannot carry it): the schedule and fire time the task stands for.
 */
export type SubmitRequest = z.output<typeof SubmitTaskRequest> & { schedule?: TaskSchedule | undefined };
