import {
  canTransition,
  createTickBatcher,
  connectOrExplain,
  type Config,
  type Logger,
  decodeResult,
  isFinished,
  TASK_STATUSES,
  isOwnTraceId,
  taskIdOfTraceId,
  type ErrorPayload,
  type NewTask,
  type TaskCallback,
  type TaskProgress,
  type TaskRecord,
  type TaskStatus,
} from '@celerity/core';
import { createKeys, type Keys } from './keys.js';
import { guard } from './guard.js';
import { createUiSessions } from './ui-sessions.js';
import { connectRedis, createRedis, subscriberOf, type RedisClient } from './redis.js';
import { createCallbacks } from './callbacks.js';
import { createDeadLetters } from './dead-letters.js';
import { createTaskEvents } from './task-events.js';
import { scriptsFor, type TaskKeys } from './scripts.js';
import { createScheduleStore } from './schedules.js';
import { createTaskStats, finishedMember, parseStats } from './stats.js';
import { createWorkerRegistry, type WorkerControl } from './workers.js';
import { createScheduledTasks } from './scheduled.js';
import { createIdempotencyKeys } from './idempotency.js';

export type StartResult =
  | { kind: 'started'; attempt: number; maxRetries: number; input: unknown; timeLimit: number | null; softTimeLimit: number | null; retryOnTimeout: boolean; metadata: Record<string, unknown> | null }
  | { kind: 'skip'; status: TaskStatus }
  | { kind: 'lost'; attempts: number }
  /** not started before its `expires`: it ended `expired` instead */
  | { kind: 'expired' }
  | { kind: 'missing' };

export type CancelResult =
  | { kind: 'cancelled'; previousStatus: TaskStatus; cancelledAt: string }
  /** cancelled before, its execution still running: now told to terminate */
  | { kind: 'terminating'; cancelledAt: string }
  /** `stopping`: cancelled, and its execution has not stopped yet (terminate=true kills it) */
  | { kind: 'finished'; status: TaskStatus; stopping: boolean }
  | { kind: 'missing' };

export interface FinalOutcome {
  status: Extract<TaskStatus, 'succeeded' | 'failed' | 'timed_out'>;
  /** the result already gzip-encoded (encodeResult), for a succeeded task */
  resultGzip?: Uint8Array;
  error?: ErrorPayload;
}

export interface ListQuery {
  status?: TaskStatus | undefined;
  queue?: string | undefined;
  task?: string | undefined;
  /** tasks fired by this schedule (walks the schedule's own index) */
  schedule?: string | undefined;
  /** tasks with this trace id (walks the trace's own index, written by createRecords) */
  traceId?: string | undefined;
  /** finished at or after / before (ms): finished tasks only, answered from their lists */
  finishedAfterMs?: number | undefined;
  finishedBeforeMs?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * A list cursor: a task id (lists in creation order) or '<ms>:<id>' (finished lists: finish time;
 * running lists: start time; scheduled tasks: due time).
 */
export const LIST_CURSOR = /^(\d{13}:)?[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type IndexedQuery = Pick<ListQuery, 'status' | 'schedule' | 'traceId' | 'finishedAfterMs' | 'finishedBeforeMs'>;

/** A schedule's or a trace's tasks: walked from their own index, newest created first, whatever the other filters. */
const ownIndex = (query: IndexedQuery) => query.schedule !== undefined || query.traceId !== undefined;

/**
 * The order list() answers a query in, which is the index it reads: newest created first (the
 * creation index, a schedule's index, the pending lists), newest finished first (the finished lists),
 * newest started first (the running lists), or soonest due first (the scheduled set).
 */
export type ListOrder = 'created' | 'finished' | 'started' | 'due';

export function listOrder(query: IndexedQuery): ListOrder {
  if (listsFinished(query)) return 'finished';
  if (listsRunning(query)) return 'started';
  if (!ownIndex(query) && query.status === 'scheduled') return 'due';
  return 'created';
}

/** Whether list() answers this query from the finished lists (ordered by finished time) rather than the creation index. */
export function listsFinished(query: IndexedQuery): boolean {
  if (ownIndex(query)) return false;
  if (query.status !== undefined) return isFinished(query.status);
  return query.finishedAfterMs !== undefined || query.finishedBeforeMs !== undefined;
}

/** Whether list() answers this query from the running lists (ordered by start time). */
export function listsRunning(query: IndexedQuery): boolean {
  return !ownIndex(query) && query.status === 'running';
}

/** The cursor that resumes a list after this record (see list()). */
export function listCursorAfter(record: Pick<TaskRecord, 'id' | 'finished_at' | 'started_at' | 'eta'>, query: IndexedQuery): string {
  const at = { created: null, finished: record.finished_at, started: record.started_at, due: record.eta }[listOrder(query)];
  return at ? finishedMember(Date.parse(at), record.id) : record.id;
}

/** What workers hear on the control channel: a cancel for a running task, or a request for one worker. */
export type ControlMessage = { type: 'cancel'; id: string; terminate: boolean } | WorkerControl;

/** The statuses a task may move to `to` from, per the status machine in @celerity/core. */
function allowedFrom(to: TaskStatus): string {
  return TASK_STATUSES.filter((from) => canTransition(from, to)).join(',');
}
const FROM = {
  running: allowedFrom('running'),
  finished: allowedFrom('succeeded'),
  cancelled: allowedFrom('cancelled'),
  scheduled: allowedFrom('scheduled'),
  /** a parked delivery's task: pending, or running when its handler failed after the claim */
  parked: allowedFrom('failed'),
};

/** How many scheduled tasks GET /queues examines at most to count them per queue. */
export const SCHEDULED_COUNT_LIMIT = 10_000;

/** How many index entries one list request examines at most, so a rare filter cannot scan everything. */
const LIST_SCAN_BUDGET = 2_000;
const LIST_PAGE = 200;

export interface TaskStoreOptions {
  namespace?: string | undefined;
  /** seconds finished records and results are kept */
  resultTtlSeconds: number;
}

export type TaskStore = ReturnType<typeof createTaskStore>;

/** Records, results and status changes in Redis. The only module that knows the record layout. */
export function createTaskStore(client: RedisClient, options: TaskStoreOptions) {
  const keys: Keys = createKeys(options.namespace);
  const ttl = options.resultTtlSeconds;
  const redis = client;
  const scripts = scriptsFor(client);
  const taskKeys = (id: string): TaskKeys => ({ record: keys.task(id), events: keys.events(id) });
  const stats = createTaskStats(client, keys, ttl);

  /**
   * Running tasks newest started first from the running lists of the queues (at most the workers'
   * concurrency in all, so they are read whole and sorted here; tasks that started in one batch share
   * a start time, which rules out a score range as cursor).
   */
  async function listRunning(query: ListQuery): Promise<{ items: TaskRecord[]; next_cursor: string | null }> {
    const queues = query.queue ? [query.queue] : [...new Set([...parseStats(await stats.raw()).counts.values()].map((c) => c.queue))];
    const pipeline = redis.pipeline();
    for (const q of queues) pipeline.zrange(keys.running(q), 0, -1, 'WITHSCORES');
    const replies = queues.length > 0 ? ((await guard(pipeline.exec())) ?? []) : [];
    const members: string[] = [];
    for (const [, flat] of replies) {
      const pairs = (flat ?? []) as string[];
      for (let i = 0; i + 1 < pairs.length; i += 2) members.push(finishedMember(Number(pairs[i + 1]), pairs[i]!));
    }
    const candidates = members.filter((m) => !query.cursor || m < query.cursor).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const items: TaskRecord[] = [];
    let next = 0;
    while (items.length < query.limit && next < candidates.length) {
      const batch = candidates.slice(next, next + query.limit - items.length);
      next += batch.length;
      const reads = redis.pipeline();
      for (const member of batch) reads.hgetallBuffer(keys.task(member.slice(14)));
      const rows = (await guard(reads.exec())) ?? [];
      for (const row of rows) {
        const fields = row[1] as Record<string, Buffer> | undefined;
        if (!fields?.status) continue;
        const record = toRecord(fields);
        if (record.status === 'running' && (!query.task || record.task === query.task)) items.push(record);
      }
    }
    return { items, next_cursor: next < candidates.length ? candidates[next - 1]! : null };
  }

  /**
   * Newest first from sorted sets of equal scores (lexical order): the sets are read from `upper`
   * down, `limit` entries each, merged, and the records read; entries whose records expired or no
   * longer match (`keep`) are skipped and reading goes on, so a page is full unless the sets end.
   */
  async function listMerged(
    sets: readonly string[],
    bounds: { lower: string; upper: string },
    limit: number,
    idOf: (member: string) => string,
    keep: (record: TaskRecord) => boolean,
  ): Promise<{ items: TaskRecord[]; next_cursor: string | null }> {
    const { lower } = bounds;
    let { upper } = bounds;
    const items: TaskRecord[] = [];
    let lastMember: string | undefined;
    let exhausted = false;
    for (let examined = 0; items.length < limit && examined < LIST_SCAN_BUDGET; ) {
      const want = limit - items.length;
      const pipeline = redis.pipeline();
      // one more than needed from each set: whether anything is left after this page
      for (const key of sets) pipeline.zrevrangebylex(key, upper, lower, 'LIMIT', 0, want + 1);
      const replies = sets.length > 0 ? ((await guard(pipeline.exec())) ?? []) : [];
      const newest = replies.flatMap(([, members]) => (members ?? []) as string[]).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
      const merged = newest.slice(0, want);
      exhausted = newest.length <= want;
      if (merged.length === 0) {
        exhausted = true;
        break;
      }
      const reads = redis.pipeline();
      for (const member of merged) reads.hgetallBuffer(keys.task(idOf(member)));
      const rows = (await guard(reads.exec())) ?? [];
      for (const [i, member] of merged.entries()) {
        examined += 1;
        lastMember = member;
        const fields = rows[i]?.[1] as Record<string, Buffer> | undefined;
        if (!fields?.status) continue;
        const record = toRecord(fields);
        if (keep(record)) items.push(record);
      }
      if (exhausted) break;
      upper = `(${lastMember}`;
    }
    return { items, next_cursor: exhausted || !lastMember ? null : lastMember };
  }

  /**
   * Finished tasks newest finished first from their lists (one per final status, queue and task
   * name, written by the final-status scripts), those that match the filters merged.
   */
  async function listFinished(query: ListQuery): Promise<{ items: TaskRecord[]; next_cursor: string | null }> {
    const lists = stats
      .finishedLists(await stats.raw())
      .filter((l) => (!query.status || l.status === query.status) && (!query.queue || l.queue === query.queue) && (!query.task || l.task === query.task));
    const lower = query.finishedAfterMs === undefined ? '-' : `[${finishedMember(query.finishedAfterMs, '')}`;
    const upper = query.cursor ? `(${query.cursor}` : query.finishedBeforeMs === undefined ? '+' : `(${finishedMember(query.finishedBeforeMs, '')}`;
    return listMerged(lists.map((l) => l.key), { lower, upper }, query.limit, (member) => member.slice(14), () => true);
  }

  /**
   * Pending tasks newest created first from the pending lists (one per queue and task name, written
   * with the status: at submission, and by the scripts that make a task pending or take it out).
   */
  async function listPending(query: ListQuery): Promise<{ items: TaskRecord[]; next_cursor: string | null }> {
    const lists = [...parseStats(await stats.raw()).counts.values()]
      .filter((c) => (!query.queue || c.queue === query.queue) && (!query.task || c.task === query.task))
      .map((c) => keys.pending(c.queue, c.task));
    const upper = query.cursor ? `(${query.cursor}` : '+';
    return listMerged(lists, { lower: '-', upper }, query.limit, (member) => member, (r) => r.status === 'pending');
  }

  /**
   * Scheduled tasks soonest due first from the scheduled set (scored by due time). The set also
   * holds tasks whose publish is not confirmed yet (`pending`, for milliseconds) and dispatcher
   * claims; those are skipped, as are tasks of other queues or names when filtered (the walk then
   * stops at LIST_SCAN_BUDGET entries and the cursor resumes it). A cursor '<due ms>:<id>' resumes
   * right after its entry, found by rank while it is still there.
   */
  async function listScheduled(query: ListQuery): Promise<{ items: TaskRecord[]; next_cursor: string | null }> {
    let rank = 0;
    let after: { ms: number; id: string } | undefined;
    if (query.cursor) {
      after = { ms: Number(query.cursor.slice(0, 13)), id: query.cursor.slice(14) };
      const replies = (await guard(redis.pipeline().zscore(keys.scheduled, after.id).zrank(keys.scheduled, after.id).zcount(keys.scheduled, '-inf', `(${after.ms}`).exec())) ?? [];
      const [score, found, earlier] = replies.map(([, v]) => v as string | number | null);
      // still there at that time: right after it; else after everything due earlier (then skipped up to its id)
      rank = score !== null && Number(score) === after.ms && found !== null ? Number(found) + 1 : Number(earlier);
    }
    const matches: string[] = [];
    let last: string | undefined;
    let exhausted = false;
    for (let examined = 0; matches.length < query.limit && examined < LIST_SCAN_BUDGET; ) {
      const flat = await guard(redis.zrange(keys.scheduled, rank, rank + LIST_PAGE - 1, 'WITHSCORES'));
      const entries: { id: string; ms: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ id: flat[i]!, ms: Number(flat[i + 1]) });
      rank += entries.length;
      // entries at the cursor's due time up to its id came before it (the cursor's entry is gone)
      const fresh = after ? entries.filter((e) => e.ms > after!.ms || (e.ms === after!.ms && e.id > after!.id)) : entries;
      const rows = await fieldsOf(fresh.map((e) => e.id), ['status', 'queue', 'task']);
      let read = 0;
      for (const [i, e] of fresh.entries()) {
        examined += 1;
        read += 1;
        last = finishedMember(e.ms, e.id);
        const [status, queue, task] = rows[i] ?? [];
        if (status === 'scheduled' && (!query.queue || queue === query.queue) && (!query.task || task === query.task)) {
          matches.push(e.id);
          if (matches.length === query.limit) break;
        }
      }
      if (entries.length < LIST_PAGE && read === fresh.length) {
        exhausted = true; // a short page read to its end: nothing due later remains
        break;
      }
    }
    const pipeline = redis.pipeline();
    for (const id of matches) pipeline.hgetallBuffer(keys.task(id));
    const rows = matches.length > 0 ? ((await guard(pipeline.exec())) ?? []) : [];
    const items = rows.map((row) => row[1] as Record<string, Buffer>).filter((f) => f?.status).map(toRecord).filter((r) => r.status === 'scheduled');
    return { items, next_cursor: exhausted || !last ? null : last };
  }

  /**
   * Newest created first from a sorted set of ids (the creation index, a schedule's, a trace's), the
   * filters applied while walking it: at most LIST_SCAN_BUDGET entries a request, `next_cursor`
   * resumes after the last id examined; ids whose records expired are dropped from the set.
   */
  async function walkIndex(index: string, query: ListQuery): Promise<{ items: TaskRecord[]; next_cursor: string | null }> {
    const matches: string[] = [];
    const expired: string[] = [];
    let upper = query.cursor ? `(${query.cursor}` : '+';
    let examined = 0;
    let exhausted = false;
    let lastExamined: string | undefined;
    while (matches.length < query.limit && examined < LIST_SCAN_BUDGET) {
      const ids = await guard(redis.zrevrangebylex(index, upper, '-', 'LIMIT', 0, LIST_PAGE));
      if (ids.length === 0) {
        exhausted = true;
        break;
      }
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hmget(keys.task(id), 'status', 'queue', 'task', 'schedule');
      const rows = (await guard(pipeline.exec())) ?? [];
      for (const [i, id] of ids.entries()) {
        examined += 1;
        lastExamined = id;
        const [status, queue, task, schedule] = (rows[i]?.[1] ?? []) as (string | null)[];
        if (!status) expired.push(id);
        else if (
          (!query.status || status === query.status) &&
          (!query.queue || queue === query.queue) &&
          (!query.task || task === query.task) &&
          (query.schedule === undefined || schedule === query.schedule)
        ) {
          matches.push(id);
          if (matches.length === query.limit) break;
        }
      }
      if (ids.length < LIST_PAGE && lastExamined === ids.at(-1)) {
        exhausted = true; // a short page read to its end: nothing older remains
        break;
      }
      upper = `(${lastExamined}`;
    }
    if (expired.length > 0) void redis.zrem(index, ...expired).catch(() => undefined); // lazy clean-up of expired records
    const pipeline = redis.pipeline();
    for (const id of matches) pipeline.hgetallBuffer(keys.task(id));
    const rows = matches.length > 0 ? ((await guard(pipeline.exec())) ?? []) : [];
    const items = rows.map((row) => row[1] as Record<string, Buffer>).filter((f) => f?.status).map(toRecord);
    return { items, next_cursor: exhausted || !lastExamined ? null : lastExamined };
  }

  /**
   * A trace's tasks: its index (written by createRecords), and the task whose id the trace id stands for (a single
   * submission without a caller's trace id; see taskIdOfTraceId), which, created first, comes last.
   */
  async function listTrace(query: ListQuery, traceId: string): Promise<{ items: TaskRecord[]; next_cursor: string | null }> {
    const page = await walkIndex(keys.trace(traceId), query);
    const rootId = taskIdOfTraceId(traceId);
    if (!rootId || page.next_cursor !== null || (query.cursor && rootId >= query.cursor) || page.items.some((r) => r.id === rootId)) return page;
    const root = await guard(redis.hgetallBuffer(keys.task(rootId)));
    if (!root.status) return page;
    const record = toRecord(root);
    const matches = record.trace_id === traceId && (!query.status || record.status === query.status) && (!query.queue || record.queue === query.queue) && (!query.task || record.task === query.task) && (query.schedule === undefined || record.schedule?.name === query.schedule);
    if (!matches) return page;
    // a full page: the root task comes on the next one (its cursor: the last id here, newer than the root)
    if (page.items.length >= query.limit) return { items: page.items, next_cursor: page.items.at(-1)!.id };
    return { items: [...page.items, record], next_cursor: null };
  }

  /** some fields of many records, in one pipeline */
  const fieldsOf = async (ids: readonly string[], fields: readonly string[]): Promise<(string | null)[][]> => {
    if (ids.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hmget(keys.task(id), ...fields);
    return ((await guard(pipeline.exec())) ?? []).map((row) => (row[1] ?? []) as (string | null)[]);
  };

  // Claims and outcomes of the same event-loop turn go to Redis as one script call each.
  // one batcher per worker name (a process may run several workers, each claims in its own name)
  const startBatchers = new Map<string, (item: { id: string; redelivered: boolean }) => Promise<StartResult>>();
  const startBatch = (worker: string) => {
    let batcher = startBatchers.get(worker);
    if (!batcher) {
      batcher = createTickBatcher(async (items: { id: string; redelivered: boolean }[]) => {
        const replies = await scripts.start({
          deadLetters: keys.deadLetters,
          callbacks: keys.callbacks,
          stats: keys.stats,
          prefix: keys.prefix,
          worker,
          startedAt: new Date(),
          from: FROM.running,
          ttl,
          tasks: items.map((i) => ({ keys: taskKeys(i.id), redelivered: i.redelivered })),
        });
        return replies.map(toStartResult);
      });
      startBatchers.set(worker, batcher);
    }
    return batcher;
  };
  const finishBatch = createTickBatcher(async (items: { id: string; outcome: FinalOutcome }[]) =>
    scripts.finish({
      deadLetters: keys.deadLetters,
      callbacks: keys.callbacks,
      stats: keys.stats,
      prefix: keys.prefix,
      finishedAt: new Date(),
      ttl,
      from: FROM.finished,
      tasks: items.map(({ id, outcome }) => ({
        keys: taskKeys(id),
        status: outcome.status,
        result: outcome.resultGzip ? Buffer.from(outcome.resultGzip.buffer, outcome.resultGzip.byteOffset, outcome.resultGzip.byteLength) : '',
        error: outcome.error ? JSON.stringify(outcome.error) : '',
        deadLetterReason: outcome.status === 'succeeded' ? '' : outcome.status,
      })),
    }),
  );

  return {
    /** the prefix of the API's rate-limit counters (@fastify/rate-limit adds the bucket and the caller) */
    rateLimitPrefix: keys.rateLimits,
    /** the schedule (etas, retries, publish deadlines), the dispatcher's claims and lock, and the leases of running tasks */
    scheduled: createScheduledTasks(client, keys, ttl),
    /** Idempotency-Key reservations of submits */
    idempotency: createIdempotencyKeys(client, keys),
    /** status and progress events of tasks, for watchers */
    events: createTaskEvents(client, keys),
    /** tasks that ended without success, and messages that were not tasks */
    deadLetters: createDeadLetters(client, keys),
    /** webhook deliveries of finished tasks */
    callbacks: createCallbacks(client, keys),
    /** the beat's schedules and the claims of their fire times */
    schedules: createScheduleStore(client, keys, ttl),
    /** counters, histograms, running and finished lists (GET /metrics, /stats, /health/tasks) */
    stats,
    /** the dashboard's sign-in sessions */
    uiSessions: createUiSessions(client, keys),
    /** workers' heartbeats, and control requests for them */
    workers: createWorkerRegistry(client, keys),

    /**
     * Writes new records in one transaction (single or batch); the index makes them listable. With
     * `publishByMs`, each task without an eta also waits in the scheduled set until then, as `pending`:
     * should the caller die before its publish is confirmed (publishedNow), the scheduled-task
     * dispatcher publishes it at that time, so no record stays `pending` without a message.
     */
    async createRecords(tasks: readonly NewTask[], options: { createdAt?: Date; publishByMs?: number } = {}): Promise<TaskRecord[]> {
      const at = (options.createdAt ?? new Date()).toISOString();
      const multi = redis.multi();
      for (const t of tasks) {
        multi.hset(keys.task(t.id), recordFields(t, at));
        if (t.schedule) multi.zadd(keys.scheduleTasks(t.schedule.name), 0, t.id);
        if (t.eta) multi.zadd(keys.scheduled, t.eta.getTime(), t.id);
      }
      // one ZADD each for the whole batch: the index, and the publish deadlines of the tasks due now
      multi.zadd(keys.index, ...tasks.flatMap((t) => [0, t.id]));
      const dueNow = tasks.filter((t) => !t.eta);
      if (options.publishByMs !== undefined && dueNow.length > 0) multi.zadd(keys.scheduled, ...dueNow.flatMap((t) => [options.publishByMs!, t.id]));
      // the pending lists GET /tasks?status=pending reads: one ZADD per queue and task name (a batch has one, mostly)
      for (const [key, ids] of groupBy(dueNow, (t) => keys.pending(t.queue, t.task))) multi.zadd(key, ...ids.flatMap((id) => [0, id]));
      // a trace id that is not the task's own id (a caller's X-Trace-Id, a batch's, a beat's) is indexed
      // for GET /tasks?trace_id= in the same transaction, as long as its tasks' records may live
      for (const [traceId, ids] of groupBy(tasks.filter((t) => !isOwnTraceId(t.id, t.trace_id)), (t) => t.trace_id)) {
        const key = keys.trace(traceId);
        const keepSeconds = traceKeepSeconds(tasks, ttl);
        multi.zadd(key, ...ids.flatMap((id) => [0, id])).expire(key, keepSeconds, 'NX').expire(key, keepSeconds, 'GT');
      }
      for (const [field, n] of countBy(tasks, 'submitted')) multi.hincrby(keys.stats, field, n);
      await guard(multi.exec());
      return tasks.map((t) => ({
        id: t.id,
        task: t.task,
        status: t.eta ? ('scheduled' as const) : ('pending' as const),
        queue: t.queue,
        priority: t.priority,
        input: t.input ?? null,
        result: null,
        error: null,
        progress: null,
        attempts: 0,
        max_retries: t.max_retries,
        time_limit: t.time_limit,
        soft_time_limit: t.soft_time_limit,
        retry_on_timeout: t.retry_on_timeout,
        trace_id: t.trace_id,
        metadata: t.metadata,
        callback: t.callback_url ? newCallback(t.callback_url) : null,
        worker: null,
        stopping: false,
        created_at: at,
        started_at: null,
        finished_at: null,
        eta: t.eta ? t.eta.toISOString() : null,
        expires: t.expires ? t.expires.toISOString() : null,
        schedule: t.schedule ?? null,
      }));
    },

    /** Removes records whose publish failed: the caller got a 503, so the task was never accepted (nor counted). */
    async deleteRecords(tasks: readonly Pick<NewTask, 'id' | 'queue' | 'task'>[]): Promise<void> {
      if (tasks.length === 0) return;
      const ids = tasks.map((t) => t.id);
      const multi = redis.multi().del(...ids.map(keys.task)).zrem(keys.index, ...ids).zrem(keys.scheduled, ...ids);
      for (const [key, pendingIds] of groupBy(tasks, (t) => keys.pending(t.queue, t.task))) multi.zrem(key, ...pendingIds);
      for (const [field, n] of countBy(tasks, 'submitted')) multi.hincrby(keys.stats, field, -n);
      await guard(multi.exec());
    },

    /** Claims a delivered task (running), unless it may not start; claims of one turn share a script call. */
    async start(id: string, worker: string, redelivered: boolean): Promise<StartResult> {
      return guard(startBatch(worker)({ id, redelivered }));
    },

    /**
     * Stores a terminal outcome unless the task was cancelled meanwhile; returns 'ok' or the status
     * that won. A task that did not succeed is dead-lettered in the same step. Outcomes of one turn
     * share a script call.
     */
    async finish(id: string, outcome: FinalOutcome): Promise<'ok' | string> {
      return guard(finishBatch({ id, outcome }));
    },

    /**
     * Hands a running task back (worker shutdown), the interrupted attempt not counted: `pending` when
     * its message goes back to the queue, or rescheduled for now when it was acked at start (leased).
     */
    async release(id: string, worker: string, options: { leased: boolean }): Promise<'ok' | string> {
      const now = new Date();
      return guard(
        scripts.release({ keys: taskKeys(id), scheduled: keys.scheduled, stats: keys.stats, prefix: keys.prefix, worker, reschedule: options.leased, nowMs: now.getTime(), nowIso: now.toISOString(), id }),
      );
    },

    async cancel(id: string, terminate: boolean): Promise<CancelResult> {
      const at = new Date();
      const reply = await guard(
        scripts.cancel({ keys: taskKeys(id), callbacks: keys.callbacks, control: keys.control, stats: keys.stats, prefix: keys.prefix, id, at, ttl, terminate, from: FROM.cancelled }),
      );
      if (reply[0] === 'missing') return { kind: 'missing' };
      if (reply[0] === 'terminating') return { kind: 'terminating', cancelledAt: reply[1]! };
      if (reply[0] === 'finished') return { kind: 'finished', status: reply[1] as TaskStatus, stopping: reply[2] === '1' };
      return { kind: 'cancelled', previousStatus: reply[1] as TaskStatus, cancelledAt: at.toISOString() };
    },

    /**
     * The records of tasks whose messages a queue purge removed: each one not finished ends
     * `cancelled` with error QUEUE_PURGED (a running one is told to stop, as by a cancel), so none
     * stays `pending` without a message. Returns how many were cancelled.
     */
    async cancelPurged(ids: readonly string[], queue: string): Promise<number> {
      const at = new Date();
      const error = JSON.stringify({ type: 'QUEUE_PURGED', message: `removed from queue ${queue} by a purge before it ran`, retryable: false } satisfies ErrorPayload);
      const replies = await guard(
        Promise.all(ids.map((id) => scripts.cancel({ keys: taskKeys(id), callbacks: keys.callbacks, control: keys.control, stats: keys.stats, prefix: keys.prefix, id, at, ttl, terminate: false, from: FROM.cancelled, error }))),
      );
      return replies.filter((r) => r[0] === 'cancelled').length;
    },

    /**
     * The task of a delivery that was parked (its handler failed WORKER_HANDLER_FAILURE_LIMIT times in
     * a row) ends `failed` with `error` and is dead-lettered, in one step, unless it is no longer
     * pending or running (finished, cancelled, or scheduled to run again meanwhile). Returns 'ok',
     * 'missing', or the status that won.
     */
    async failParked(id: string, error: ErrorPayload): Promise<'ok' | 'missing' | TaskStatus> {
      const reply = await guard(
        scripts.failParked({
          keys: taskKeys(id),
          deadLetters: keys.deadLetters,
          callbacks: keys.callbacks,
          stats: keys.stats,
          prefix: keys.prefix,
          id,
          at: new Date(),
          ttl,
          from: FROM.parked,
          error: JSON.stringify(error),
        }),
      );
      return reply as 'ok' | 'missing' | TaskStatus;
    },

    /** A failed attempt that will run again at `eta`: the task is `scheduled` meanwhile. Returns 'ok' or the status that won. */
    async retry(id: string, eta: Date, error: ErrorPayload): Promise<'ok' | string> {
      return guard(scripts.retry({ keys: taskKeys(id), scheduled: keys.scheduled, stats: keys.stats, prefix: keys.prefix, eta, error: JSON.stringify(error), from: FROM.scheduled, id, at: new Date().toISOString() }));
    },

    async setProgress(id: string, progress: TaskProgress): Promise<boolean> {
      return (await guard(scripts.progress({ keys: taskKeys(id), progress: JSON.stringify(progress), at: new Date().toISOString() }))) === 1;
    },

    async get(id: string): Promise<TaskRecord | undefined> {
      const fields = await guard(redis.hgetallBuffer(keys.task(id)));
      return fields.status ? toRecord(fields) : undefined;
    },

    /**
     * Each status from its own index (listOrder): finished tasks (a final status, or a finished-time
     * range) newest finished first, running ones newest started first, pending ones newest created
     * first, scheduled ones soonest due first. A schedule's or a trace's tasks, and lists without a
     * status, walk their index newest created first, filtering as they go (walkIndex).
     */
    async list(query: ListQuery): Promise<{ items: TaskRecord[]; next_cursor: string | null }> {
      const order = listOrder(query);
      if (order === 'finished') return listFinished(query);
      if (order === 'started') return listRunning(query);
      if (order === 'due') return listScheduled(query);
      if (!ownIndex(query) && query.status === 'pending') return listPending(query);
      if (query.traceId !== undefined) return listTrace(query, query.traceId);
      return walkIndex(query.schedule === undefined ? keys.index : keys.scheduleTasks(query.schedule), query);
    },

    /** Tasks waiting for their eta or a retry, counted per queue; the first `limit` of the scheduled set are examined. */
    async scheduledPerQueue(limit = SCHEDULED_COUNT_LIMIT): Promise<Map<string, number>> {
      const ids = await guard(redis.zrange(keys.scheduled, 0, limit - 1));
      const counts = new Map<string, number>();
      for (const [status, queue] of await fieldsOf(ids, ['status', 'queue'])) {
        if (status === 'scheduled' && queue) counts.set(queue, (counts.get(queue) ?? 0) + 1);
      }
      return counts;
    },

    /**
     * Per queue, since when its oldest pending task has waited (its eta, else its creation): the
     * first entry of each pending list (ids are time-ordered), one per queue and task name.
     */
    async oldestPendingPerQueue(): Promise<Map<string, string>> {
      const lists = [...parseStats(await stats.raw()).counts.values()];
      const pipeline = redis.pipeline();
      for (const l of lists) pipeline.zrangebylex(keys.pending(l.queue, l.task), '-', '+', 'LIMIT', 0, 1);
      const replies = lists.length > 0 ? ((await guard(pipeline.exec())) ?? []) : [];
      const ids = replies.flatMap(([, members]) => (members ?? []) as string[]);
      const since = new Map<string, string>();
      for (const [status, queue, createdAt, eta] of await fieldsOf(ids, ['status', 'queue', 'created_at', 'eta'])) {
        const at = eta || createdAt;
        if (status === 'pending' && queue && at && (!since.has(queue) || at < since.get(queue)!)) since.set(queue, at);
      }
      return since;
    },

    /** Workers listen here for cancels of running tasks and for control requests. Uses its own connection (pub/sub mode). */
    async subscribeControl(onMessage: (message: ControlMessage) => void): Promise<{ close(): Promise<void> }> {
      const subscriber = subscriberOf(client);
      subscriber.on('error', () => undefined); // reconnects by itself; the main client logs the outage
      subscriber.on('message', (_channel: string, text: string) => {
        try {
          onMessage(JSON.parse(text) as ControlMessage);
        } catch {
          // not ours; ignore
        }
      });
      await subscriber.subscribe(keys.control);
      return {
        async close() {
          subscriber.disconnect();
        },
      };
    },

    async ping(): Promise<void> {
      await guard(redis.ping());
    },
  };
}

/** Task ids grouped by a key of each task, in order. */
function groupBy<T extends { id: string }>(tasks: readonly T[], keyOf: (t: T) => string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const t of tasks) {
    const key = keyOf(t);
    const ids = groups.get(key);
    if (ids) ids.push(t.id);
    else groups.set(key, [t.id]);
  }
  return groups;
}

/** How long a trace's index is kept: as long as its tasks' records may live (the last eta, a day to run, RESULT_EXPIRES). */
function traceKeepSeconds(tasks: readonly NewTask[], resultTtlSeconds: number): number {
  const lastEtaMs = Math.max(0, ...tasks.map((t) => (t.eta ? t.eta.getTime() - Date.now() : 0)));
  return resultTtlSeconds + 86_400 + Math.ceil(lastEtaMs / 1000);
}

/** `stats` counter fields (lua/stats.lua) of an event for these tasks, with how many each. */
function countBy(tasks: readonly Pick<NewTask, 'queue' | 'task'>[], event: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tasks) {
    const field = `n|${t.queue}|${t.task}|${event}`;
    counts.set(field, (counts.get(field) ?? 0) + 1);
  }
  return counts;
}

function toStartResult(reply: string[]): StartResult {
  if (reply[0] === 'missing') return { kind: 'missing' };
  if (reply[0] === 'lost') return { kind: 'lost', attempts: Number(reply[1]) };
  if (reply[0] === 'expired') return { kind: 'expired' };
  if (reply[0] === 'skip') return { kind: 'skip', status: reply[1] as TaskStatus };
  return {
    kind: 'started',
    attempt: Number(reply[1]),
    input: JSON.parse(reply[2] ?? 'null'),
    timeLimit: reply[3] ? Number(reply[3]) : null,
    softTimeLimit: reply[4] ? Number(reply[4]) : null,
    maxRetries: Number(reply[5] ?? 0),
    retryOnTimeout: reply[6] === '1',
    metadata: reply[7] ? (JSON.parse(reply[7]) as Record<string, unknown>) : null,
  };
}

function toRecord(f: Record<string, Buffer>): TaskRecord {
  const str = (name: string): string | null => (f[name] && f[name].length > 0 ? f[name].toString('utf8') : null);
  const json = <T>(name: string): T | null => {
    const s = str(name);
    return s === null ? null : (JSON.parse(s) as T);
  };
  const num = (name: string): number | null => {
    const s = str(name);
    return s === null ? null : Number(s);
  };
  return {
    id: str('id')!,
    task: str('task')!,
    status: str('status') as TaskStatus,
    queue: str('queue')!,
    priority: num('priority') ?? 0,
    input: json('input'),
    result: f.result && f.result.length > 0 ? decodeResult(f.result) : null,
    error: json<ErrorPayload>('error'),
    progress: json<TaskProgress>('progress'),
    attempts: num('attempts') ?? 0,
    max_retries: num('max_retries') ?? 0,
    time_limit: num('time_limit'),
    soft_time_limit: num('soft_time_limit'),
    retry_on_timeout: str('retry_on_timeout') === '1',
    trace_id: str('trace_id')!,
    metadata: json('metadata'),
    callback: json('callback'),
    worker: str('worker'),
    stopping: str('stopping') === '1',
    created_at: str('created_at')!,
    started_at: str('started_at'),
    finished_at: str('finished_at'),
    eta: str('eta'),
    expires: num('expires') === null ? null : new Date(num('expires')!).toISOString(),
    schedule: f.schedule && f.schedule.length > 0 ? { name: str('schedule')!, fire_at: str('fire_at')! } : null,
  };
}

/**
 * A new record's fields as HSET arguments. Optional fields a task does not use are left out rather
 * than written empty: every reader takes an absent field as "none" (toRecord; the scripts test
 * `not f or f == ''`), and a typical task then costs Redis a third fewer fields to store and the API
 * a third fewer arguments to encode.
 */
function recordFields(t: NewTask, createdAt: string): (string | number)[] {
  const fields: (string | number)[] = [
    'id', t.id,
    'task', t.task,
    'status', t.eta ? 'scheduled' : 'pending',
    'queue', t.queue,
    'priority', t.priority,
    'input', JSON.stringify(t.input ?? null),
    'attempts', 0,
    'max_retries', t.max_retries,
    'trace_id', t.trace_id,
    'created_at', createdAt,
  ];
  if (t.time_limit !== null) fields.push('time_limit', t.time_limit);
  if (t.soft_time_limit !== null) fields.push('soft_time_limit', t.soft_time_limit);
  if (t.retry_on_timeout) fields.push('retry_on_timeout', '1');
  if (t.metadata) fields.push('metadata', JSON.stringify(t.metadata));
  if (t.callback_url) fields.push('callback', JSON.stringify(newCallback(t.callback_url)));
  if (t.eta) fields.push('eta', t.eta.toISOString());
  // ms, for start.lua
  if (t.expires) fields.push('expires', t.expires.getTime());
  if (t.schedule) fields.push('schedule', t.schedule.name, 'fire_at', t.schedule.fire_at);
  return fields;
}

function newCallback(url: string): TaskCallback {
  return { url, state: 'pending', attempts: 0, last_status: null, last_error: null };
}

/** Redis and the task store as the configuration describes them; an unreachable Redis at start-up is one clear line. */
export async function connectTaskStore(
  config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'NAMESPACE' | 'RESULT_EXPIRES'>,
  options: { log: Logger; failFast: boolean; name: string },
): Promise<{ redis: RedisClient; store: TaskStore }> {
  const redis = createRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES, ...options });
  const where = config.REDIS_CLUSTER_NODES ? `cluster ${config.REDIS_CLUSTER_NODES.join(',')}` : config.REDIS_URL;
  await connectOrExplain('Redis', where, () => connectRedis(redis));
  return { redis, store: createTaskStore(redis, { namespace: config.NAMESPACE, resultTtlSeconds: config.RESULT_EXPIRES }) };
}
