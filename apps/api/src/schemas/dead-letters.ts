import { DEAD_LETTER_REASONS } from '@celerity/core';
import { z } from 'zod';
import { ErrorSchema } from './tasks.js';

/** HTTP wire shapes of the dead-letter queue (snake_case), also the source of the OpenAPI document. */

export const DeadLetterSchema = z
  .object({
    id: z.string().describe('Entry id, time-ordered (`<ms>-<seq>`)'),
    reason: z.enum(DEAD_LETTER_REASONS).describe('failed (after its retries) · timed_out · worker_lost (poison) · malformed (not a task)'),
    dead_lettered_at: z.string(),
    queue: z.string(),
    error: ErrorSchema.nullable(),
    task_id: z.string().nullable().describe('The task that ended here; null for a message that could not be parsed'),
    task: z.string().nullable(),
    priority: z.int().nullable(),
    attempts: z.int().nullable(),
    trace_id: z.string().nullable(),
    input: z.unknown(),
    max_retries: z.int().nullable(),
    time_limit: z.number().nullable(),
    soft_time_limit: z.number().nullable(),
    retry_on_timeout: z.boolean(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    callback_url: z.string().nullable(),
    body: z.string().nullable().describe('The raw message (UTF-8, at most 64 KiB) when it could not be parsed'),
  })
  .meta({ id: 'DeadLetter' });

export const DeadLetterListSchema = z
  .object({
    items: z.array(DeadLetterSchema),
    next_cursor: z.string().nullable(),
    total: z.int().describe('Dead letters in this namespace'),
  })
  .meta({ id: 'DeadLetterList' });

export const DeadLetterIdParams = z.object({ id: z.string().max(64).describe('Dead-letter id (`<ms>-<seq>`)') });

export const ListDeadLettersQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(64).optional().describe('next_cursor from the previous page'),
  })
  .strict();

export const PurgeResultSchema = z.object({ purged: z.int() }).meta({ id: 'PurgeResult' });
