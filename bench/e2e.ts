/**
 * (2) End-to-end throughput: N demo.noop tasks through the API (batch endpoint, or single POSTs),
 * run by the workers; first submit → last finished_at among the records.
 */
import type { Redis } from 'ioredis';
import type { OwnCommands } from './counters.js';
import { runAutocannon } from './ingest.js';
import { checkTime, createHttpClient, pause, taskInput } from './util.js';

export interface E2EContext {
  apiUrl: string;
  /** the bench's own Redis connection; every command it sends in a window is added to `own` */
  redis: Redis;
  own: OwnCommands;
  taskKey: (id: string) => string;
  /** messages ready in the queue the tasks go to (asked of RabbitMQ, not Redis) */
  queueDepth: () => Promise<number>;
}

export interface E2EOptions {
  mode: 'batch' | 'single';
  n: number;
  payloadBytes: number;
  batchSize: number;
  batchParallel: number;
  singleInFlight: number;
  signal: AbortSignal;
}

export interface E2EResult {
  mode: 'batch' | 'single';
  n: number;
  accepted: number;
  refused: number;
  refusals: string[];
  /** first submit → last 202 */
  submitSeconds: number;
  /** first submit → max(finished_at) */
  seconds: number;
  perSecond: number;
  statuses: Record<string, number>;
}

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'expired']);

export async function runE2E(ctx: E2EContext, options: E2EOptions): Promise<E2EResult> {
  const startedAt = Date.now();
  const submitted = options.mode === 'batch' ? await submitBatches(ctx.apiUrl, options) : await submitSingles(ctx.apiUrl, options);
  const submitSeconds = (Date.now() - startedAt) / 1000;
  const done = await waitForRecords(ctx, submitted.ids, options.signal, `e2e ${options.mode}`);
  const seconds = (done.lastFinishedMs - startedAt) / 1000;
  return {
    mode: options.mode,
    n: options.n,
    accepted: submitted.ids.length,
    refused: submitted.refused,
    refusals: submitted.refusals,
    submitSeconds,
    seconds,
    perSecond: (done.statuses.succeeded ?? 0) / seconds,
    statuses: done.statuses,
  };
}

interface Submitted {
  ids: string[];
  refused: number;
  /** a few distinct refusal messages, for the report */
  refusals: string[];
}

async function submitBatches(apiUrl: string, options: E2EOptions): Promise<Submitted> {
  const client = createHttpClient(apiUrl, options.batchParallel);
  const task = { task: 'demo.noop', ...taskInput(options.payloadBytes) };
  const batches = Math.ceil(options.n / options.batchSize);
  const result: Submitted = { ids: [], refused: 0, refusals: [] };
  let next = 0;
  const sender = async (): Promise<void> => {
    while (next < batches) {
      checkTime(options.signal, `e2e batch: submitting (${result.ids.length} accepted)`);
      const index = next++;
      const size = Math.min(options.batchSize, options.n - index * options.batchSize);
      const response = await client.request<{ tasks?: { id: string }[]; detail?: string }>('POST', '/tasks/batch', { tasks: new Array(size).fill(task) });
      if (response.status === 202 && response.body.tasks) for (const t of response.body.tasks) result.ids.push(t.id);
      else {
        result.refused += size;
        noteRefusal(result, `${response.status} ${response.body.detail ?? ''}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.batchParallel }, sender));
  } finally {
    client.close();
  }
  return result;
}

async function submitSingles(apiUrl: string, options: E2EOptions): Promise<Submitted> {
  const result: Submitted = { ids: [], refused: 0, refusals: [] };
  const outcome = await runAutocannon(
    {
      url: `${apiUrl}/tasks`,
      connections: Math.min(options.singleInFlight, options.n),
      amount: options.n,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/tasks',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ task: 'demo.noop', ...taskInput(options.payloadBytes) }),
          onResponse: (status, body) => {
            if (status === 202) result.ids.push((JSON.parse(body) as { id: string }).id);
            else {
              result.refused += 1;
              noteRefusal(result, `${status} ${body.slice(0, 200)}`);
            }
          },
        },
      ],
    },
    options.signal,
  );
  const lost = options.n - result.ids.length - result.refused;
  if (outcome.errors > 0 || lost > 0) noteRefusal(result, `${outcome.errors} connection errors, ${outcome.timeouts} timeouts`);
  result.refused += Math.max(0, lost);
  checkTime(options.signal, `e2e single: submitting (${result.ids.length} accepted)`);
  return result;
}

function noteRefusal(result: Submitted, message: string): void {
  if (result.refusals.length < 5 && !result.refusals.includes(message)) result.refusals.push(message);
}

/**
 * Waits until every record is final. Cheap first: the broker queue must be empty (RabbitMQ is
 * asked, Redis is not); then one pipelined HMGET sweep over the records not yet seen final,
 * repeated for the few still running. Returns the latest finished_at and the status counts.
 */
export async function waitForRecords(ctx: E2EContext, ids: readonly string[], signal: AbortSignal, what: string) {
  while ((await ctx.queueDepth()) > 0) await pause(100, signal, `${what}: queue not empty`);
  let remaining = [...ids];
  let lastFinishedMs = 0;
  const statuses: Record<string, number> = {};
  while (remaining.length > 0) {
    const pending: string[] = [];
    for (let from = 0; from < remaining.length; from += 1000) {
      const chunk = remaining.slice(from, from + 1000);
      const pipeline = ctx.redis.pipeline();
      for (const id of chunk) pipeline.hmget(ctx.taskKey(id), 'status', 'finished_at');
      ctx.own.hmget = (ctx.own.hmget ?? 0) + chunk.length;
      const rows = (await pipeline.exec()) ?? [];
      for (const [i, id] of chunk.entries()) {
        const [status, finishedAt] = (rows[i]?.[1] ?? []) as (string | null)[];
        if (status && FINAL.has(status)) {
          statuses[status] = (statuses[status] ?? 0) + 1;
          lastFinishedMs = Math.max(lastFinishedMs, Date.parse(finishedAt ?? ''));
        } else pending.push(id);
      }
    }
    remaining = pending;
    if (remaining.length > 0) await pause(20, signal, `${what}: ${remaining.length} of ${ids.length} records not final`);
  }
  return { lastFinishedMs, statuses };
}
