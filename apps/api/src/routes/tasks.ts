import { type TaskRecord, assertTaskId, isFinished, taskIdOfTraceId, BatchTooLargeError, MalformedRequestError, CallbackNotRetryableError, TaskAlreadyFinishedError, TaskNotFoundError } from '@celerity/core';
import { LIST_CURSOR, listCursorAfter, listOrder, listsFinished } from '@celerity/store';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { boundedPage } from '../bounded-page.js';
import { clientIdempotencyKey } from '../idempotency-keys.js';
import {
  BatchResultSchema,
  CancelQuery,
  CancelResultSchema,
  ListTasksQuery,
  problems,
  SubmitBatchBody,
  SubmitHeaders,
  SubmitTaskBody,
  TaskIdParams,
  TaskListSchema,
  TaskRecordSchema,
  WaitQuery,
  type TaskSummary,
} from '../schemas/tasks.js';
import { createTaskWaits } from '../task-waits.js';
import { serializeAsBuilt } from '../records-as-built.js';

function toSummary(record: TaskRecord): TaskSummary {
  const { input: _input, result: _result, metadata: _metadata, progress, ...rest } = record;
  return { ...rest, progress: progress ? { percent: progress.percent, message: progress.message } : null };
}

export function taskRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const waits = createTaskWaits(deps.store);
  const waitSeconds = (asked: number | undefined) => Math.min(asked ?? 0, deps.config.TASK_WAIT_MAX);
  return async (app) => {
    // a shutting-down API answers its long polls with the records as they are, rather than cut them
    app.addHook('preClose', async () => waits.releaseAll());

    app.post(
      '/tasks',
      {
        schema: {
          tags: ['tasks'],
          summary: 'Submit a task',
          description:
            'Writes the record, publishes to the queue with publisher confirms, and answers 202 once RabbitMQ has confirmed. With `wait`, it then waits for the task to finish: 200 with the finished record, or 202 with the record as it is when the wait ends first.',
          body: SubmitTaskBody,
          headers: SubmitHeaders,
          querystring: WaitQuery,
          response: { 200: TaskRecordSchema.describe('Finished within the wait'), 202: TaskRecordSchema, ...problems(400, 401, 409, 413, 422, 503) },
        },
        serializerCompiler: serializeAsBuilt,
      },
      async (request, reply) => {
        const key = request.headers['idempotency-key'];
        const traceId = String(request.id);
        // a trace id the API made up is this task's id (found by it without an index); the caller's is indexed with the record
        const callersTrace = request.headers['x-trace-id'] === traceId;
        const taskId = callersTrace ? undefined : (taskIdOfTraceId(traceId) ?? undefined);
        const { record, replayed } = await deps.producer.submit(request.body, traceId, key === undefined ? undefined : clientIdempotencyKey(request.caller, key), taskId);
        if (replayed) reply.header('idempotent-replayed', 'true');
        const seconds = waitSeconds(request.query.wait);
        const latest = seconds > 0 ? await waits.waitFor(record.id, seconds, replayed ? undefined : record) : record;
        return reply.code(isFinished(latest.status) && seconds > 0 ? 200 : 202).header('location', `/tasks/${record.id}`).send(latest);
      },
    );

    app.post(
      '/tasks/batch',
      {
        schema: {
          tags: ['tasks'],
          summary: 'Submit several tasks at once',
          description: `All or nothing: every task is checked before any is accepted. At most BATCH_MAX_SIZE (${deps.config.BATCH_MAX_SIZE}) tasks.`,
          body: SubmitBatchBody.refine((b) => b.tasks.length <= deps.config.BATCH_MAX_SIZE, {
            path: ['tasks'],
            message: `at most ${deps.config.BATCH_MAX_SIZE} tasks per batch`,
          }),
          response: { 202: BatchResultSchema, ...problems(400, 401, 413, 422, 503) },
        },
        serializerCompiler: serializeAsBuilt,
        // the size first: a batch over the limit is refused before its tasks are checked one by one
        preValidation: async (request) => {
          const tasks = (request.body as { tasks?: unknown } | null)?.tasks;
          if (Array.isArray(tasks) && tasks.length > deps.config.BATCH_MAX_SIZE) {
            throw new BatchTooLargeError(`tasks: ${tasks.length} given; at most ${deps.config.BATCH_MAX_SIZE} tasks per batch (BATCH_MAX_SIZE)`);
          }
        },
      },
      async (request, reply) => {
        const tasks = await deps.producer.submitBatch(request.body.tasks, String(request.id));
        return reply.code(202).send({ tasks });
      },
    );

    app.get(
      '/tasks',
      {
        schema: {
          tags: ['tasks'],
          summary: 'List tasks, newest first',
          description:
            'Filters by status, queue, task name, schedule and trace id; page with `cursor` = the previous `next_cursor`. Each status comes from its own index, in full pages: finished tasks (a final status, or a finished_after/finished_before range) newest finished first, running tasks newest started first, pending tasks newest created first, scheduled tasks soonest due first. Without a status (or with a schedule) the tasks are walked newest created first. Finished tasks disappear after RESULT_EXPIRES.',
          querystring: ListTasksQuery,
          response: { 200: TaskListSchema, ...problems(400, 401, 503) },
        },
      },
      async (request) => {
        const { view, finished_after, finished_before, trace_id, ...rest } = request.query;
        const query = { ...rest, traceId: trace_id, finishedAfterMs: finished_after ? Date.parse(finished_after) : undefined, finishedBeforeMs: finished_before ? Date.parse(finished_before) : undefined };
        const finished = listsFinished(query);
        const timed = listOrder(query) !== 'created'; // its cursor is '<ms>:<id>'
        if ((query.schedule !== undefined || trace_id !== undefined) && (finished_after || finished_before)) throw new MalformedRequestError('finished_after and finished_before do not combine with schedule or trace_id');
        if (query.status && !finished && (finished_after || finished_before)) throw new MalformedRequestError(`finished_after and finished_before need a finished status, not ${query.status}`);
        if (query.cursor) {
          if (!LIST_CURSOR.test(query.cursor) || timed !== query.cursor.includes(':')) throw new MalformedRequestError('cursor: pass the next_cursor of the previous page of the same list');
          if (!timed) assertTaskId(query.cursor);
        }
        const page = await deps.store.list(query);
        const items = view === 'full' ? page.items : page.items.map(toSummary);
        return boundedPage<TaskRecord | ReturnType<typeof toSummary>>(items, page.next_cursor, deps.config.LIST_MAX_BYTES, (item) => listCursorAfter(item, query));
      },
    );

    app.get(
      '/tasks/:id',
      {
        schema: {
          tags: ['tasks'],
          summary: 'Get a task record with its decoded result',
          description: `With \`wait\` (seconds, at most TASK_WAIT_MAX = ${deps.config.TASK_WAIT_MAX}): a long poll that answers as soon as the task is finished, or with the record as it is when the wait ends (check \`status\`).`,
          params: TaskIdParams,
          querystring: WaitQuery,
          response: { 200: TaskRecordSchema, ...problems(400, 401, 404, 503) },
        },
        serializerCompiler: serializeAsBuilt,
      },
      async (request) => {
        assertTaskId(request.params.id);
        const seconds = waitSeconds(request.query.wait);
        if (seconds > 0) return waits.waitFor(request.params.id, seconds);
        const record = await deps.store.get(request.params.id);
        if (!record) throw new TaskNotFoundError(`no task ${request.params.id} (unknown, or expired after RESULT_EXPIRES)`);
        return record;
      },
    );

    app.post(
      '/tasks/:id/callback/retry',
      {
        schema: {
          tags: ['tasks'],
          summary: "Send a failed callback again",
          description:
            'For a task whose callback used all WEBHOOK_MAX_ATTEMPTS without a 2xx (`callback.state` = failed): delivery starts again now, with a fresh count of attempts. 409 when the callback is pending or delivered, or the task has none.',
          params: TaskIdParams,
          response: { 202: TaskRecordSchema, ...problems(400, 401, 404, 409, 503) },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        assertTaskId(id);
        const outcome = await deps.store.callbacks.retry(id);
        if (outcome === 'missing') throw new TaskNotFoundError(`no task ${id}`);
        if (outcome === 'none') throw new CallbackNotRetryableError('this task has no callback_url');
        if (outcome !== 'ok') throw new CallbackNotRetryableError(`the callback is ${outcome}; only a failed one is sent again`);
        request.log.info({ task_id: id }, 'callback retry requested');
        const record = await deps.store.get(id);
        if (!record) throw new TaskNotFoundError(`no task ${id}`);
        return reply.code(202).send(record);
      },
    );

    app.delete(
      '/tasks/:id',
      {
        schema: {
          tags: ['tasks'],
          summary: 'Cancel a task',
          description:
            "A pending task never runs. A running task's signal is aborted and the task ends cancelled; with terminate=true an execution that ignores its signal is killed.",
          params: TaskIdParams,
          querystring: CancelQuery,
          response: { 200: CancelResultSchema, ...problems(400, 401, 404, 409, 503) },
        },
      },
      async (request) => {
        const { id } = request.params;
        assertTaskId(id);
        const outcome = await deps.store.cancel(id, request.query.terminate);
        if (outcome.kind === 'missing') throw new TaskNotFoundError(`no task ${id}`);
        if (outcome.kind === 'finished') throw new TaskAlreadyFinishedError(outcome.status, outcome.stopping ? 'its execution is still stopping: DELETE with ?terminate=true kills it' : undefined);
        if (outcome.kind === 'terminating') {
          request.log.info({ task_id: id }, 'still-running cancelled task terminated');
          return { id, status: 'cancelled' as const, previous_status: 'cancelled' as const, cancelled_at: outcome.cancelledAt, message: 'cancelled earlier; its execution was still running and is being killed' };
        }
        request.log.info({ task_id: id, previous_status: outcome.previousStatus }, 'task cancelled');
        return {
          id,
          status: 'cancelled' as const,
          previous_status: outcome.previousStatus,
          cancelled_at: outcome.cancelledAt,
          message:
            outcome.previousStatus === 'running'
              ? request.query.terminate
                ? 'the running execution is being aborted and will be killed if it does not stop'
                : "the running execution's signal is aborted; the record says stopping: true until it has stopped (DELETE with ?terminate=true kills it)"
              : 'the task will not run',
        };
      },
    );
  };
}
