import { z } from 'zod';
import { DeadLetterNotFoundError, DeadLetterNotRetryableError, MalformedDeadLetterIdError, type DeadLetter } from '@celerity/core';
import type { SubmitRequest } from '@celerity/producer';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { boundedPage } from '../bounded-page.js';
import type { ApiDeps } from '../deps.js';
import { internalIdempotencyKey } from '../idempotency-keys.js';
import { DeadLetterIdParams, DeadLetterListSchema, DeadLetterSchema, ListDeadLettersQuery, PurgeResultSchema } from '../schemas/dead-letters.js';
import { problems, TaskRecordSchema } from '../schemas/tasks.js';

// XADD ids: milliseconds (never 0) and a sequence, each within what a stream id can hold
const DEAD_LETTER_ID = /^[1-9]\d{0,18}-\d{1,19}$/;

function assertDeadLetterId(id: string): void {
  if (!DEAD_LETTER_ID.test(id)) throw new MalformedDeadLetterIdError(`"${id}" is not a dead-letter id (expected <ms>-<seq>)`);
}

/** The original submission, as it was accepted, so the re-submission goes through every check again. */
function resubmission(dead: DeadLetter): SubmitRequest {
  if (!dead.task) throw new DeadLetterNotRetryableError('this message could not be parsed as a task, so there is nothing to re-submit; delete it instead');
  return {
    task: dead.task,
    input: dead.input,
    queue: dead.queue,
    ...(dead.priority !== null ? { priority: dead.priority } : {}),
    ...(dead.max_retries !== null ? { max_retries: dead.max_retries } : {}),
    ...(dead.time_limit !== null ? { time_limit: dead.time_limit } : {}),
    ...(dead.soft_time_limit !== null ? { soft_time_limit: dead.soft_time_limit } : {}),
    ...(dead.retry_on_timeout ? { retry_on_timeout: true } : {}),
    ...(dead.metadata !== null ? { metadata: dead.metadata } : {}),
    ...(dead.callback_url !== null ? { callback_url: dead.callback_url } : {}),
  };
}

export function deadLetterRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/dead-letters',
      {
        schema: {
          tags: ['dead letters'],
          summary: 'List dead letters, newest first',
          description:
            'Tasks that ended failed (after their retries), timed_out or worker_lost (poison), and messages that could not be parsed. Kept until re-submitted or deleted. A page ends early (with its next_cursor) rather than pass LIST_MAX_BYTES.',
          querystring: ListDeadLettersQuery,
          response: { 200: DeadLetterListSchema, ...problems(400, 401, 503) },
        },
      },
      async (request) => {
        if (request.query.cursor) assertDeadLetterId(request.query.cursor);
        const { items, next_cursor, total } = await deps.store.deadLetters.list(request.query);
        // dead letters carry their task's input: a page ends before LIST_MAX_BYTES, as GET /tasks?view=full does
        return { ...boundedPage(items, next_cursor, deps.config.LIST_MAX_BYTES), total };
      },
    );

    app.get(
      '/dead-letters/:id',
      {
        schema: { tags: ['dead letters'], summary: 'Get one dead letter', params: DeadLetterIdParams, response: { 200: DeadLetterSchema, ...problems(400, 401, 404, 503) } },
      },
      async (request) => {
        assertDeadLetterId(request.params.id);
        const dead = await deps.store.deadLetters.get(request.params.id);
        if (!dead) throw new DeadLetterNotFoundError(`no dead letter ${request.params.id}`);
        return dead;
      },
    );

    app.post(
      '/dead-letters/:id/retry',
      {
        schema: {
          tags: ['dead letters'],
          summary: 'Re-submit a dead letter as a new task',
          description:
            'Submits the original task again (same task, input, queue, priority, limits, metadata) as a new task with a new id, then removes the dead letter. Concurrent retries of one dead letter submit it once.',
          params: DeadLetterIdParams,
          response: { 202: TaskRecordSchema, ...problems(400, 401, 404, 409, 422, 503) },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        assertDeadLetterId(id);
        const dead = await deps.store.deadLetters.get(id);
        if (!dead) throw new DeadLetterNotFoundError(`no dead letter ${id} (already re-submitted or deleted?)`);
        // the dead-letter id as idempotency key: a double click re-submits once
        const { record } = await deps.producer.submit(resubmission(dead), String(request.id), internalIdempotencyKey(`dead-letter:${id}`));
        await deps.store.deadLetters.delete(id);
        request.log.info({ dead_letter_id: id, task_id: record.id, previous_task_id: dead.task_id, previous_trace_id: dead.trace_id }, 'dead letter re-submitted');
        return reply.code(202).header('location', `/tasks/${record.id}`).send(record);
      },
    );

    app.delete(
      '/dead-letters/:id',
      {
        schema: { tags: ['dead letters'], summary: 'Delete one dead letter', params: DeadLetterIdParams, response: { 204: z.null().describe('Deleted'), ...problems(400, 401, 404, 503) } },
      },
      async (request, reply) => {
        assertDeadLetterId(request.params.id);
        if (!(await deps.store.deadLetters.delete(request.params.id))) throw new DeadLetterNotFoundError(`no dead letter ${request.params.id}`);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/dead-letters',
      {
        schema: { tags: ['dead letters'], summary: 'Purge every dead letter of this namespace', response: { 200: PurgeResultSchema, ...problems(401, 403, 503) } },
        config: { access: 'admin' },
      },
      async (request) => {
        const purged = await deps.store.deadLetters.purge();
        request.log.warn({ purged }, 'dead letters purged');
        return { purged };
      },
    );
  };
}
