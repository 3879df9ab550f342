import { MAX_TASK_NAME_LENGTH, SubmitTaskRequest, TASK_STATUSES } from '@celerity/core';
import { z } from 'zod';

/** HTTP wire shapes (snake_case). They validate requests and are the source of the OpenAPI document. */

export const TaskStatusSchema = z.enum(TASK_STATUSES).describe('pending · scheduled · running · succeeded · failed · timed_out · cancelled · expired');

/** The submission body: its one schema lives in @celerity/core (the producer takes its type). */
export const SubmitTaskBody = SubmitTaskRequest;

export const SubmitHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, '1 to 200 printable ASCII characters')
    .optional()
    .describe('Same key + same body within 24 h returns the original task; same key + another body is a 409'),
  'x-trace-id': z.string().max(128).optional().describe('Kept on the record and in every log line about the task'),
});

export const SubmitBatchBody = z
  .object({ tasks: z.array(SubmitTaskBody).min(1) })
  .strict()
  .meta({ id: 'SubmitBatch' });

export const ErrorSchema = z.object({
  type: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  retry_delay_ms: z.number().int().nonnegative().optional().describe('the delay the job asked for before its next attempt (it threw RetryLaterError)'),
  stack: z
    .string()
    .optional()
    .describe('where the job threw: its stack trace, at most 20 frames and 4 000 characters, with paths under JOBS_ROOT relative'),
});

export const TaskRecordSchema = z
  .object({
    id: z.string(),
    task: z.string(),
    status: TaskStatusSchema,
    queue: z.string(),
    priority: z.int(),
    input: z.unknown(),
    result: z.unknown().describe('The job return value (decoded from gzip); null until succeeded'),
    error: ErrorSchema.nullable(),
    progress: z.object({ percent: z.number(), message: z.string().nullable(), data: z.unknown() }).nullable(),
    attempts: z.int(),
    max_retries: z.int(),
    time_limit: z.number().nullable(),
    soft_time_limit: z.number().nullable(),
    retry_on_timeout: z.boolean(),
    trace_id: z.string(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    callback: z
      .object({
        url: z.string(),
        state: z.enum(['pending', 'delivered', 'failed']).describe('pending until the task is finished and the receiver answered 2xx; failed after WEBHOOK_MAX_ATTEMPTS'),
        attempts: z.int(),
        last_status: z.int().nullable().describe("The receiver's HTTP status on the last attempt"),
        last_error: z.string().nullable(),
      })
      .nullable(),
    worker: z.string().nullable(),
    stopping: z.boolean().describe('Cancelled while running, and its execution has not stopped yet: DELETE with ?terminate=true kills it'),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    eta: z.string().nullable(),
    expires: z.string().nullable().describe('Not started by this time, the task is not run and ends `expired`; null: never'),
    schedule: z
      .object({ name: z.string(), fire_at: z.string().describe('The fire time this task stands for (for a manual trigger, the time of the trigger)') })
      .nullable()
      .describe('The schedule that fired this task (beat); null for a task submitted otherwise'),
  })
  .meta({ id: 'TaskRecord' });

export const WaitQuery = z
  .object({
    wait: z.coerce
      .number()
      .min(0)
      .max(3_600)
      .optional()
      .describe('Long poll: answer as soon as the task is finished, or with the record as it is after this many seconds (at most TASK_WAIT_MAX, default 60)'),
  })
  .strict();

export const TaskIdParams = z.object({ id: z.string().max(100).describe('Task id (UUIDv7)') });

export const ListTasksQuery = z
  .object({
    status: TaskStatusSchema.optional(),
    queue: z.string().max(63).optional(),
    task: z.string().max(MAX_TASK_NAME_LENGTH).optional(),
    schedule: z.string().max(100).optional().describe('Tasks fired by this schedule'),
    trace_id: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/)
      .optional()
      .describe('Tasks submitted with this trace id (X-Trace-Id, or the one the API made up for the request: a single task, or a batch)'),
    finished_after: z.iso.datetime({ offset: true }).optional().describe('Finished at or after this time (finished tasks only; from their indexes)'),
    finished_before: z.iso.datetime({ offset: true }).optional().describe('Finished before this time (finished tasks only; from their indexes)'),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(100).optional().describe('next_cursor from the previous page'),
    view: z
      .enum(['summary', 'full'])
      .default('summary')
      .describe('summary (default): each task without input, result, metadata and progress data; full: whole records (GET /tasks/{id} has the same)'),
  })
  .strict();

/** A task in a list: the record without what can be large (input, result, metadata, progress data). */
export const TaskSummarySchema = TaskRecordSchema.omit({ input: true, result: true, metadata: true, progress: true })
  .extend({ progress: z.object({ percent: z.number(), message: z.string().nullable() }).nullable() })
  .strict()
  .meta({ id: 'TaskSummary' });
export type TaskSummary = z.output<typeof TaskSummarySchema>;

export const TaskListSchema = z
  .object({
    items: z.array(z.union([TaskSummarySchema, TaskRecordSchema])).describe('Summaries, or whole records with view=full'),
    next_cursor: z.string().nullable().describe('null on the last page; a page may hold fewer than `limit` items when whole records would pass LIST_MAX_BYTES'),
  })
  .meta({ id: 'TaskList' });

export const BatchResultSchema = z.object({ tasks: z.array(TaskRecordSchema) }).meta({ id: 'BatchResult' });

export const CancelQuery = z
  .object({ terminate: z.stringbool().default(false).describe('Kill an execution that ignores its abort signal') })
  .strict();

export const CancelResultSchema = z
  .object({
    id: z.string(),
    status: z.literal('cancelled'),
    previous_status: TaskStatusSchema,
    cancelled_at: z.string(),
    message: z.string(),
  })
  .meta({ id: 'CancelResult' });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.string(),
    instance: z.string().optional(),
    trace_id: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    task_status: TaskStatusSchema.optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

/** The problem+json responses of a route, for its schema: `response: { 200: X, ...problems(400, 404) }`. */
export const problems = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ProblemSchema]));
