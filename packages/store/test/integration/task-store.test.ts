import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeResult, newTaskId, type NewTask } from '@celerity/core';
import type { Keys, RedisClient, TaskStore } from '../../src/index.js';
import { newTask, redisSetups, storeEach } from './redis-setups.js';

const SETUPS = redisSetups();

describe.each(SETUPS)('task store (%s)', (_name, setup) => {
  let redis: RedisClient;
  let store: TaskStore;
  let keys: Keys;
  storeEach(setup, (connected) => ({ redis, store, keys } = connected));


  it('walks pending → running → succeeded, storing the result gzip-compressed with a TTL', async () => {
    const [created] = await store.createRecords([newTask()]);
    const id = created!.id;
    expect(await redis.ttl(keys.task(id))).toBe(-1); // unfinished records do not expire

    const claim = await store.start(id, 'w1', false);
    expect(claim).toMatchObject({ kind: 'started', attempt: 1, input: { a: 1 } });
    expect(await store.finish(id, { status: 'succeeded', resultGzip: encodeResult({ rows: 42 }) })).toBe('ok');

    const raw = await redis.hgetBuffer(keys.task(id), 'result');
    expect(JSON.parse(gunzipSync(raw!).toString())).toEqual({ rows: 42 });
    const ttl = await redis.ttl(keys.task(id));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);

    const record = await store.get(id);
    expect(record).toMatchObject({ status: 'succeeded', result: { rows: 42 }, attempts: 1, worker: 'w1' });
    expect(record!.started_at).not.toBeNull();
    expect(record!.finished_at).not.toBeNull();
  });

  it('never starts a cancelled task and never changes a finished one', async () => {
    const [a, b] = await store.createRecords([newTask(), newTask()]);
    expect(await store.cancel(a!.id, false)).toMatchObject({ kind: 'cancelled', previousStatus: 'pending' });
    expect(await store.start(a!.id, 'w1', false)).toEqual({ kind: 'skip', status: 'cancelled' });
    expect(await store.cancel(a!.id, false)).toEqual({ kind: 'finished', status: 'cancelled', stopping: false });

    await store.start(b!.id, 'w1', false);
    await store.finish(b!.id, { status: 'failed', error: { type: 'Error', message: 'boom', retryable: true } });
    expect(await store.finish(b!.id, { status: 'succeeded', resultGzip: encodeResult(1) })).toBe('failed');
    expect(await store.start(b!.id, 'w2', true)).toEqual({ kind: 'skip', status: 'failed' });
    expect(await store.get(b!.id)).toMatchObject({ status: 'failed', error: { type: 'Error', message: 'boom' }, result: null });
  });

  it('keeps the cancel when a running task finishes afterwards, and tells workers about it', async () => {
    const [t] = await store.createRecords([newTask()]);
    await store.start(t!.id, 'w1', false);
    const heard: unknown[] = [];
    const subscription = await store.subscribeControl((m) => heard.push(m));
    try {
      expect(await store.cancel(t!.id, true)).toMatchObject({ kind: 'cancelled', previousStatus: 'running' });
      expect(await store.finish(t!.id, { status: 'succeeded', resultGzip: encodeResult(1) })).toBe('cancelled');
      await expect.poll(() => heard).toEqual([{ type: 'cancel', id: t!.id, terminate: true }]);
    } finally {
      await subscription.close();
    }
  });

  it('runs a running task again only on a redelivery, counting attempts', async () => {
    const [t] = await store.createRecords([newTask()]);
    await store.start(t!.id, 'w1', false);
    expect(await store.start(t!.id, 'w2', false)).toEqual({ kind: 'skip', status: 'running' });
    expect(await store.start(t!.id, 'w2', true)).toMatchObject({ kind: 'started', attempt: 2 });
  });

  it('hands a running task back at shutdown without counting the attempt: pending, or rescheduled for now when leased', async () => {
    const [queued, leased] = await store.createRecords([newTask(), newTask()]);
    await store.start(queued!.id, 'w1', false);
    await store.start(leased!.id, 'w1', false);
    expect(await store.release(queued!.id, 'w2', { leased: false })).toBe('running'); // not its worker
    expect(await store.release(queued!.id, 'w1', { leased: false })).toBe('ok');
    expect(await store.get(queued!.id)).toMatchObject({ status: 'pending', attempts: 0 });

    expect(await store.release(leased!.id, 'w1', { leased: true })).toBe('ok');
    expect(await store.get(leased!.id)).toMatchObject({ status: 'scheduled', attempts: 0 });
    expect((await store.scheduled.claimDue(10, 1_000)).tasks.map((t) => t.id)).toEqual([leased!.id]);
  });

  it('reschedules a leased task whose lease ran out, or fails and dead-letters it when out of attempts; leaves live leases and finished tasks alone', async () => {
    const [orphan, poison, live, finished] = await store.createRecords([newTask({ max_retries: 1 }), newTask({ max_retries: 0 }), newTask(), newTask()]);
    for (const t of [orphan, poison, live, finished]) await store.start(t!.id, 'w1', false);
    const past = Date.now() - 1;
    await store.scheduled.holdLease(orphan!.id, past);
    await store.scheduled.holdLease(poison!.id, past);
    await store.scheduled.holdLease(live!.id, Date.now() + 60_000);
    await store.scheduled.holdLease(finished!.id, past);
    await store.finish(finished!.id, { status: 'succeeded', resultGzip: encodeResult(1) });

    expect(await store.scheduled.reapExpiredLeases(100)).toEqual({ rescheduled: [orphan!.id], lost: [poison!.id] });
    expect(await store.get(orphan!.id)).toMatchObject({ status: 'scheduled', attempts: 1 });
    expect((await store.scheduled.claimDue(10, 1_000)).tasks.map((t) => t.id)).toEqual([orphan!.id]);
    expect(await store.get(poison!.id)).toMatchObject({ status: 'failed', error: { type: 'WORKER_LOST' } });
    expect((await store.deadLetters.list({ limit: 10 })).items).toEqual([expect.objectContaining({ task_id: poison!.id, reason: 'worker_lost' })]);
    expect(await store.get(live!.id)).toMatchObject({ status: 'running' });
    expect(await redis.zrange(keys.leases, 0, -1)).toEqual([live!.id]);
    expect(await store.scheduled.reapExpiredLeases(100)).toEqual({ rescheduled: [], lost: [] });
  });

  it('records each status and progress change as an event, in order, streamed live to watchers and readable after an id', async () => {
    const [created] = await store.createRecords([newTask({ callback_url: 'https://example.com/hook' })]);
    const id = created!.id;
    const live: string[] = [];
    const unwatch = await store.events.watch(id, (e) => live.push(e.event.type === 'status' ? e.event.status : `progress ${e.event.percent}`));
    expect(await store.events.lastId(id)).toBe('0');

    await store.start(id, 'w1', false);
    await store.setProgress(id, { percent: 40, message: 'half way', data: { rows: 2 } });
    await store.finish(id, { status: 'failed', error: { type: 'Error', message: 'boom', retryable: true } });

    const all = await store.events.read(id, '0');
    expect(all.map((e) => e.event)).toEqual([
      { type: 'status', status: 'running', at: expect.any(String), attempts: 1 },
      { type: 'progress', at: expect.any(String), percent: 40, message: 'half way', data: { rows: 2 } },
      { type: 'status', status: 'failed', at: expect.any(String), attempts: 1, error: { type: 'Error', message: 'boom', retryable: true } },
    ]);
    expect(await store.events.read(id, all[0]!.id)).toEqual(all.slice(1));
    expect(await store.events.lastId(id)).toBe(all[2]!.id);
    await expect.poll(() => live).toEqual(['running', 'progress 40', 'failed']);
    await unwatch();
    expect(store.events.watchedCount()).toBe(0);

    // the final status expires the events with the record, and queues the callback atomically
    expect(await redis.ttl(keys.events(id))).toBeGreaterThan(0);
    expect(await redis.zscore(keys.callbacks, id)).not.toBeNull();
  });

  it('lists newest first with filters and cursor paging, and drops expired ids from the index', async () => {
    const tasks: NewTask[] = [];
    for (let i = 0; i < 5; i += 1) {
      tasks.push(newTask({ task: i % 2 === 0 ? 'demo.echo' : 'demo.sleep', queue: i < 3 ? 'default' : 'high_priority' }));
      await new Promise((r) => setTimeout(r, 2)); // distinct UUIDv7 milliseconds
    }
    await store.createRecords(tasks);
    const ids = tasks.map((t) => t.id);

    const page1 = await store.list({ limit: 2 });
    expect(page1.items.map((r) => r.id)).toEqual([ids[4], ids[3]]);
    const page2 = await store.list({ limit: 2, cursor: page1.next_cursor! });
    expect(page2.items.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const page3 = await store.list({ limit: 2, cursor: page2.next_cursor! });
    expect(page3.items.map((r) => r.id)).toEqual([ids[0]]);
    expect(page3.next_cursor).toBeNull();

    expect((await store.list({ limit: 10, task: 'demo.sleep' })).items.map((r) => r.id)).toEqual([ids[3], ids[1]]);
    expect((await store.list({ limit: 10, queue: 'high_priority' })).items.map((r) => r.id)).toEqual([ids[4], ids[3]]);
    await store.cancel(ids[0]!, false);
    expect((await store.list({ limit: 10, status: 'cancelled' })).items.map((r) => r.id)).toEqual([ids[0]]);

    await redis.del(keys.task(ids[2]!)); // as if its TTL ran out
    expect((await store.list({ limit: 10 })).items).toHaveLength(4);
    await expect.poll(() => redis.zscore(keys.index, ids[2]!)).toBeNull();
  });

  it('lists pending tasks from their own lists in full pages, however many finished tasks came after them', async () => {
    const waiting = [newTask(), newTask({ task: 'demo.sleep' }), newTask({ queue: 'high_priority' })];
    for (const t of waiting) {
      await store.createRecords([t]);
      await new Promise((r) => setTimeout(r, 2)); // distinct UUIDv7 milliseconds
    }
    // more finished tasks than one request walks of the creation index (LIST_SCAN_BUDGET)
    const done = Array.from({ length: 2_100 }, () => newTask());
    await store.createRecords(done);
    await Promise.all(done.map((t) => store.start(t.id, 'w1', false)));
    await Promise.all(done.map((t) => store.finish(t.id, { status: 'succeeded', resultGzip: encodeResult(1) })));
    const ids = (page: { items: { id: string }[] }) => page.items.map((r) => r.id);

    const page1 = await store.list({ status: 'pending', limit: 2 });
    expect(ids(page1)).toEqual([waiting[2]!.id, waiting[1]!.id]);
    const page2 = await store.list({ status: 'pending', limit: 2, cursor: page1.next_cursor! });
    expect(ids(page2)).toEqual([waiting[0]!.id]);
    expect(page2.next_cursor).toBeNull();
    expect(ids(await store.list({ status: 'pending', queue: 'default', task: 'demo.echo', limit: 10 }))).toEqual([waiting[0]!.id]);

    // each way out of `pending` leaves the list, each way back joins it
    const pendingIds = async () => ids(await store.list({ status: 'pending', limit: 10 }));
    await store.start(waiting[0]!.id, 'w1', false);
    await store.cancel(waiting[1]!.id, false);
    expect(await pendingIds()).toEqual([waiting[2]!.id]);
    expect(await store.release(waiting[0]!.id, 'w1', { leased: false })).toBe('ok');
    expect(await pendingIds()).toEqual([waiting[2]!.id, waiting[0]!.id]);
    await store.deleteRecords([waiting[2]!]);
    expect(await redis.zcard(keys.pending('high_priority', 'demo.echo'))).toBe(0);
    const later = newTask({ eta: new Date(Date.now() + 1_000), expires: new Date(Date.now() + 60_000) });
    await store.createRecords([later]);
    expect(await pendingIds()).toEqual([waiting[0]!.id]);
    await store.scheduled.claimDue(10, 5_000, Date.now() + 2_000); // due: the dispatcher makes it pending
    expect(await pendingIds()).toEqual([later.id, waiting[0]!.id]);
    expect(await store.start(later.id, 'w1', false)).toMatchObject({ kind: 'started' });
    expect(await store.retry(waiting[0]!.id, new Date(Date.now() + 60_000), { type: 'E', message: 'x', retryable: true })).toBe('ok');
    expect(await pendingIds()).toEqual([]);
    expect(await redis.zcard(keys.pending('default', 'demo.echo'))).toBe(0);
  });

  it('lists scheduled tasks soonest due first from the scheduled set, resuming after the cursor even when its entry left', async () => {
    const base = Date.now() + 3_600_000;
    const at = (s: number) => new Date(base + s * 1000);
    // two share a due time: their order is their ids'
    const tasks = [newTask({ eta: at(30) }), newTask({ eta: at(10) }), newTask({ eta: at(20) }), newTask({ eta: at(20) }), newTask({ eta: at(40), queue: 'high_priority' })];
    await store.createRecords(tasks, { publishByMs: Date.now() + 10_000 });
    await store.createRecords([newTask()], { publishByMs: Date.now() + 10_000 }); // pending, its publish deadline in the same set
    const tied = [tasks[2]!.id, tasks[3]!.id].sort();
    const ids = (page: { items: { id: string }[] }) => page.items.map((r) => r.id);

    const page1 = await store.list({ status: 'scheduled', limit: 2 });
    expect(ids(page1)).toEqual([tasks[1]!.id, tied[0]]);
    expect(page1.next_cursor).toBe(`${base + 20_000}:${tied[0]}`);
    // the cursor's entry leaves the set (claimed and published): the next page still starts right after it
    await redis.zrem(keys.scheduled, tied[0]!);
    const page2 = await store.list({ status: 'scheduled', limit: 2, cursor: page1.next_cursor! });
    expect(ids(page2)).toEqual([tied[1], tasks[0]!.id]);
    const page3 = await store.list({ status: 'scheduled', limit: 2, cursor: page2.next_cursor! });
    expect(ids(page3)).toEqual([tasks[4]!.id]);
    expect(page3.next_cursor).toBeNull();
    expect(ids(await store.list({ status: 'scheduled', queue: 'high_priority', limit: 10 }))).toEqual([tasks[4]!.id]);
  });

  it('keeps the schedule a task was fired by, and lists one schedule\'s tasks from its own index', async () => {
    const fired = newTask({ schedule: { name: 'nightly', fire_at: '2026-03-01T02:00:00.000Z' } });
    const other = newTask({ schedule: { name: 'hourly', fire_at: '2026-03-01T02:00:00.000Z' } });
    const plain = newTask();
    const [created] = await store.createRecords([fired, other, plain]);
    expect(created!.schedule).toEqual({ name: 'nightly', fire_at: '2026-03-01T02:00:00.000Z' });
    expect((await store.get(fired.id))!.schedule).toEqual({ name: 'nightly', fire_at: '2026-03-01T02:00:00.000Z' });
    expect((await store.get(plain.id))!.schedule).toBeNull();

    expect((await store.list({ limit: 10, schedule: 'nightly' })).items.map((r) => r.id)).toEqual([fired.id]);
    expect((await store.list({ limit: 10, schedule: 'hourly' })).items.map((r) => r.id)).toEqual([other.id]);
    expect((await store.list({ limit: 10, schedule: 'weekly' })).items).toEqual([]);
    expect(await redis.zscore(keys.scheduleTasks('nightly'), fired.id)).toBe('0');
  });

  it('answers STORE_UNAVAILABLE at once while Redis is unreachable (API client)', async () => {
    redis.disconnect();
    await expect(store.get(newTaskId())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
