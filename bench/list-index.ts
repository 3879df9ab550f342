/**
 * Listing that scales (issue 14): a filtered page of finished tasks out of N (default 1 000 000)
 * finished-task entries, pages of pending and scheduled tasks out of --waiting (default 100 000)
 * each beside them, and the Redis memory the lists add per task.
 *
 *   npx tsx bench/list-index.ts [--n 1000000] [--waiting 100000] [--runs 30] [--real 20000]
 *
 * 1. `--real` tasks go the real way (createRecords, start, finish: the scripts write the counters,
 *    the running and finished lists): memory of the lists and counters per task, measured with
 *    MEMORY USAGE, apart from the records themselves.
 * 2. N entries are written straight into the finished lists (the layout finish.lua writes: 4
 *    statuses × 2 queues × 5 task names, finish times over a day), with records only for the entries
 *    the measured pages read: N full records would take gigabytes of the shared Redis, and a page's
 *    cost depends on the size of the lists it walks and the records it reads, not on the others.
 *    Then store.list() is timed for first pages, a page deep in the lists and time ranges.
 * 3. In the same namespace, --waiting ids in the pending lists (the layout createRecords writes: 2
 *    queues × 5 task names) and --waiting in the scheduled set (due over the next day), records
 *    again only for what the pages read; pending and scheduled pages timed, and MEMORY USAGE of the
 *    pending lists per entry.
 * Everything is written under its own namespace and deleted at the end.
 */
import { parseArgs } from 'node:util';
import { createLogger, encodeResult, newTaskId, type NewTask } from '@celerity/core';
import { createKeys, createRedis, createTaskStore, finishedMember, namespaceKeyPattern, type RedisClient } from '@celerity/store';
import { summarize, round } from './util.js';

const { values } = parseArgs({ options: { n: { type: 'string' }, waiting: { type: 'string' }, runs: { type: 'string' }, real: { type: 'string' } } });
const N = Number(values.n ?? 1_000_000);
const WAITING = Number(values.waiting ?? 100_000);
const RUNS = Number(values.runs ?? 30);
const REAL = Number(values.real ?? 20_000);
const DEADLINE = Date.now() + 300_000;

const STATUSES = ['succeeded', 'failed', 'timed_out', 'cancelled'] as const;
const QUEUES = ['default', 'high_priority'] as const;
const TASKS = ['bench.t0', 'bench.t1', 'bench.t2', 'bench.t3', 'bench.t4'] as const;
const PAGE = 100;

function checkTime(what: string) {
  if (Date.now() > DEADLINE) throw new Error(`over the 300 s budget at: ${what}`);
}

async function memoryOf(redis: RedisClient, keys: string[]): Promise<number> {
  let bytes = 0;
  for (const key of keys) bytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  return bytes;
}

async function deleteNamespace(redis: RedisClient, ns: string) {
  let cursor = '0';
  do {
    const [next, keys] = (await redis.scan(cursor, 'MATCH', namespaceKeyPattern(ns), 'COUNT', 1000)) as [string, string[]];
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

async function realTasks(redis: RedisClient) {
  const ns = `bench-list-real-${Date.now()}`;
  const store = createTaskStore(redis, { namespace: ns, resultTtlSeconds: 3600 });
  const keys = createKeys(ns);
  try {
    for (let done = 0; done < REAL; done += 500) {
      checkTime('real tasks');
      const tasks: NewTask[] = Array.from({ length: Math.min(500, REAL - done) }, (_, i) => ({
        id: newTaskId(),
        task: TASKS[(done + i) % TASKS.length]!,
        queue: QUEUES[(done + i) % QUEUES.length]!,
        priority: 5,
        input: null,
        max_retries: 0,
        time_limit: null,
        soft_time_limit: null,
        retry_on_timeout: false,
        trace_id: 't',
        metadata: null,
        callback_url: null,
        eta: null,
      }));
      await store.createRecords(tasks);
      await Promise.all(tasks.map((t) => store.start(t.id, 'bench', false)));
      await Promise.all(tasks.map((t, i) => store.finish(t.id, i % 5 === 0 ? { status: 'failed', error: { type: 'E', message: 'x', retryable: false } } : { status: 'succeeded', resultGzip: encodeResult(null) })));
    }
    const raw = await store.stats.raw();
    const lists = store.stats.finishedLists(raw).map((l) => l.key);
    const running = QUEUES.map((q) => keys.running(q));
    const [listBytes, statsBytes, recordBytes] = [await memoryOf(redis, [...lists, ...running]), await memoryOf(redis, [keys.stats]), await memoryOf(redis, [keys.task((await store.list({ status: 'succeeded', limit: 1 })).items[0]!.id)])];
    return { listBytesPerTask: listBytes / REAL, statsBytes, recordBytes, lists: lists.length };
  } finally {
    await deleteNamespace(redis, ns);
  }
}

async function largeLists(redis: RedisClient) {
  const ns = `bench-list-${Date.now()}`;
  const store = createTaskStore(redis, { namespace: ns, resultTtlSeconds: 86_400 });
  const keys = createKeys(ns);
  const now = Date.now();
  try {
    const lists = STATUSES.flatMap((status) => QUEUES.flatMap((queue) => TASKS.map((task) => ({ status, queue, task, key: keys.done(status, queue, task) }))));
    const perList = Math.ceil(N / lists.length);
    // the counters name the lists (store.stats.finishedLists reads them)
    await redis.hset(keys.stats, Object.fromEntries(lists.map((l) => [`n|${l.queue}|${l.task}|${l.status}`, perList])));
    const spanMs = 86_000_000;
    const members = new Map<string, string[]>(); // per list, oldest first
    for (const list of lists) {
      checkTime('filling the lists');
      const all: string[] = [];
      for (let i = 0; i < perList; i++) all.push(finishedMember(now - spanMs + Math.floor((i * spanMs) / perList), newTaskId()));
      members.set(list.key, all);
      const pipeline = redis.pipeline();
      for (let i = 0; i < all.length; i += 1000) pipeline.zadd(list.key, ...all.slice(i, i + 1000).flatMap((m) => [0, m]));
      await pipeline.exec();
    }
    const indexBytes = await memoryOf(redis, lists.map((l) => l.key));

    // records for what the pages read: the newest entries and those below the middle of each list
    const middleMs = now - spanMs / 2;
    const pipeline = redis.pipeline();
    for (const list of lists) {
      const all = members.get(list.key)!;
      const mid = all.findIndex((m) => m > finishedMember(middleMs, ''));
      for (const m of [...all.slice(-2 * PAGE), ...all.slice(Math.max(0, mid - 2 * PAGE), mid)]) {
        const [ms, id] = [Number(m.slice(0, 13)), m.slice(14)];
        pipeline.hset(keys.task(id), {
          id,
          task: list.task,
          queue: list.queue,
          status: list.status,
          priority: 5,
          attempts: 1,
          max_retries: 0,
          trace_id: 't',
          input: 'null',
          created_at: new Date(ms - 1000).toISOString(),
          started_at: new Date(ms - 500).toISOString(),
          finished_at: new Date(ms).toISOString(),
        });
      }
    }
    await pipeline.exec();

    const time = async (query: Parameters<typeof store.list>[0]) => {
      const ms: number[] = [];
      let items = 0;
      for (let i = 0; i < RUNS; i++) {
        checkTime('timing pages');
        const t = performance.now();
        const page = await store.list(query);
        ms.push(performance.now() - t);
        items = page.items.length;
      }
      return { ...summarize(ms), items };
    };
    // waiting tasks beside the finished ones: pending lists (ids, creation order) and the scheduled set (by due time)
    const pendingLists = QUEUES.flatMap((queue) => TASKS.map((task) => ({ queue, task, key: keys.pending(queue, task) })));
    const pendingIds = new Map<string, string[]>(); // per list, oldest first
    for (const list of pendingLists) {
      checkTime('filling the pending lists');
      const ids = Array.from({ length: Math.ceil(WAITING / pendingLists.length) }, () => newTaskId());
      pendingIds.set(list.key, ids);
      const fill = redis.pipeline();
      for (let i = 0; i < ids.length; i += 1000) fill.zadd(list.key, ...ids.slice(i, i + 1000).flatMap((id) => [0, id]));
      await fill.exec();
    }
    const pendingBytes = await memoryOf(redis, pendingLists.map((l) => l.key));
    const due: { id: string; ms: number; queue: string; task: string }[] = Array.from({ length: WAITING }, (_, i) => ({
      id: newTaskId(),
      ms: now + 3_600_000 + Math.floor((i * 86_400_000) / WAITING),
      queue: QUEUES[i % QUEUES.length]!,
      task: TASKS[i % TASKS.length]!,
    }));
    const fillDue = redis.pipeline();
    for (let i = 0; i < due.length; i += 1000) fillDue.zadd(keys.scheduled, ...due.slice(i, i + 1000).flatMap((d) => [d.ms, d.id]));
    await fillDue.exec();
    const waitingRecords = redis.pipeline();
    const waitingRecord = (id: string, queue: string, task: string, status: string, eta?: number) =>
      waitingRecords.hset(keys.task(id), { id, task, queue, status, priority: 5, attempts: 0, max_retries: 0, trace_id: 't', input: 'null', created_at: new Date(now).toISOString(), ...(eta ? { eta: new Date(eta).toISOString() } : {}) });
    for (const list of pendingLists) {
      const ids = pendingIds.get(list.key)!;
      const mid = Math.floor(ids.length / 2);
      for (const id of [...ids.slice(-2 * PAGE), ...ids.slice(mid - 2 * PAGE, mid)]) waitingRecord(id, list.queue, list.task, 'pending');
    }
    const midDue = Math.floor(due.length / 2);
    for (const d of [...due.slice(0, 2 * PAGE), ...due.slice(midDue, midDue + 2 * PAGE)]) waitingRecord(d.id, d.queue, d.task, 'scheduled', d.ms);
    await waitingRecords.exec();
    const middlePending = [...pendingIds.values()].map((ids) => ids[Math.floor(ids.length / 2)]!).sort().at(-1)!;
    const middleDue = finishedMember(due[midDue - 1]!.ms, due[midDue - 1]!.id);

    const results = {
      'status=failed (10 lists merged)': await time({ status: 'failed', limit: PAGE }),
      'status=failed&queue=default&task=bench.t0 (1 list)': await time({ status: 'failed', queue: 'default', task: 'bench.t0', limit: PAGE }),
      'status=failed&queue=default (5 lists)': await time({ status: 'failed', queue: 'default', limit: PAGE }),
      'task=bench.t0&finished_before=middle (8 lists, half a day deep)': await time({ task: 'bench.t0', finishedBeforeMs: middleMs, limit: PAGE }),
      'status=succeeded&finished_after..before (1 list, 12 h range)': await time({ status: 'succeeded', queue: 'high_priority', task: 'bench.t3', finishedAfterMs: middleMs - 43_200_000, finishedBeforeMs: middleMs, limit: PAGE }),
      'every finished task, newest first (40 lists)': await time({ finishedAfterMs: 0, limit: PAGE }),
      [`status=pending (10 lists merged, ${WAITING.toLocaleString('en')} pending)`]: await time({ status: 'pending', limit: PAGE }),
      'status=pending&queue=default&task=bench.t0 (1 list)': await time({ status: 'pending', queue: 'default', task: 'bench.t0', limit: PAGE }),
      'status=pending, from a cursor half-way down': await time({ status: 'pending', cursor: middlePending, limit: PAGE }),
      [`status=scheduled (${WAITING.toLocaleString('en')} in the scheduled set), soonest due first`]: await time({ status: 'scheduled', limit: PAGE }),
      'status=scheduled, from a cursor half-way down': await time({ status: 'scheduled', cursor: middleDue, limit: PAGE }),
      'status=scheduled&queue=default (half the set matches)': await time({ status: 'scheduled', queue: 'default', limit: PAGE }),
    };
    return { indexBytesPerEntry: indexBytes / (perList * lists.length), entries: perList * lists.length, pendingBytesPerEntry: pendingBytes / WAITING, results };
  } finally {
    await deleteNamespace(redis, ns);
  }
}

async function main() {
  const log = createLogger({ service: 'bench-list', level: 'warn' });
  const redis = createRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', log, failFast: false, name: 'bench-list' });
  await redis.connect();
  try {
    const real = await realTasks(redis);
    const large = await largeLists(redis);
    const lines = [
      `| figure | value | notes |`,
      `|---|---|---|`,
      `| Redis memory the lists add per task | ${round(real.listBytesPerTask, 1)} B | ${REAL} tasks through createRecords/start/finish; MEMORY USAGE of the ${real.lists} finished lists and the running lists ÷ tasks; the stats hash is ${real.statsBytes} B in all (not per task); one record of a finished no-op task is ${real.recordBytes} B |`,
      `| Redis memory per entry, ${large.entries.toLocaleString('en')} entries | ${round(large.indexBytesPerEntry, 1)} B | 40 lists (4 statuses × 2 queues × 5 task names) |`,
      `| Redis memory per pending entry, ${WAITING.toLocaleString('en')} entries | ${round(large.pendingBytesPerEntry, 1)} B | 10 pending lists (2 queues × 5 task names); a task leaves its list when it starts |`,
      ...Object.entries(large.results).map(
        ([query, r]) => `| page of ${PAGE}: ${query} | p50 ${round(r.p50, 1)} / p95 ${round(r.p95, 1)} / max ${round(r.max, 1)} ms | ${r.items} items; ${RUNS} runs of store.list() |`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    redis.disconnect();
  }
}

await main();
