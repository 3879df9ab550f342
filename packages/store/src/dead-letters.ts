import type { RedisClient } from './redis.js';
import type { DeadLetter, DeadLetterReason, ErrorPayload } from '@celerity/core';
import { guard } from './guard.js';
import type { Keys } from './keys.js';

/** The most of an unparseable message kept in its dead letter: enough to see what it was. */
const DEAD_BODY_BYTES = 64 * 1024;

/**
 * The namespace's dead-letter queue: a Redis stream (why, in docs/guarantees.md). Tasks are appended
 * by the final-status scripts (scripts.ts DEAD_LETTER), in the same step as their status; this adds
 * unparseable messages and serves listing, lookup, deletion and purge.
 */
export function createDeadLetters(client: RedisClient, keys: Keys) {
  const stream = keys.deadLetters;
  return {
    /** Keeps a message that is not a task (unparseable) where an operator can see it. */
    async addMessage(queue: string, body: Buffer, error: ErrorPayload): Promise<string> {
      const kept = body.subarray(0, DEAD_BODY_BYTES).toString('utf8');
      const id = await guard(client.xadd(stream, '*', 'reason', 'malformed', 'queue', queue, 'body', kept, 'error', JSON.stringify(error), 'at', new Date().toISOString()));
      return id!;
    },

    /** Newest first; `cursor` is the last id of the previous page. */
    async list(query: { limit: number; cursor?: string | undefined }): Promise<{ items: DeadLetter[]; next_cursor: string | null; total: number }> {
      const upper = query.cursor ? `(${query.cursor}` : '+';
      const [entries, total] = await Promise.all([guard(client.xrevrange(stream, upper, '-', 'COUNT', query.limit)), guard(client.xlen(stream))]);
      const items = entries.map(([id, fields]) => toDeadLetter(id, fields));
      return { items, next_cursor: items.length === query.limit ? items.at(-1)!.id : null, total };
    },

    async get(id: string): Promise<DeadLetter | undefined> {
      const [entry] = await guard(client.xrange(stream, id, id));
      return entry ? toDeadLetter(entry[0], entry[1]) : undefined;
    },

    /** true when it was there */
    async delete(id: string): Promise<boolean> {
      return (await guard(client.xdel(stream, id))) === 1;
    },

    /** Removes every dead letter; returns how many there were. */
    async purge(): Promise<number> {
      const replies = await guard(client.multi().xlen(stream).del(stream).exec());
      return Number(replies?.[0]?.[1] ?? 0);
    },
  };
}
export type DeadLetters = ReturnType<typeof createDeadLetters>;

/** A dead-letter stream entry (flat field list) as served. */
function toDeadLetter(id: string, flat: string[]): DeadLetter {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
  const str = (name: string): string | null => (f.get(name) ? f.get(name)! : null);
  const num = (name: string): number | null => (f.get(name) ? Number(f.get(name)) : null);
  const json = <T>(name: string): T | null => (f.get(name) ? (JSON.parse(f.get(name)!) as T) : null);
  return {
    id,
    reason: (str('reason') ?? 'failed') as DeadLetterReason,
    dead_lettered_at: str('at') ?? new Date(Number(id.split('-')[0])).toISOString(),
    queue: str('queue') ?? '',
    error: json<ErrorPayload>('error'),
    task_id: str('task_id'),
    task: str('task'),
    priority: num('priority'),
    attempts: num('attempts'),
    trace_id: str('trace_id'),
    input: json('input'),
    max_retries: num('max_retries'),
    time_limit: num('time_limit'),
    soft_time_limit: num('soft_time_limit'),
    retry_on_timeout: str('retry_on_timeout') === '1',
    metadata: json('metadata'),
    callback_url: json<{ url: string }>('callback')?.url ?? null,
    body: str('body'),
  };
}
