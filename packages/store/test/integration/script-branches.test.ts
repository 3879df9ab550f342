import { describe, expect, it, vi } from 'vitest';
import { encodeResult, newTaskId } from '@celerity/core';
import type { Keys, RedisClient, TaskStore } from '../../src/index.js';
import { newTask, redisSetups, storeEach } from './redis-setups.js';

/** Every answer of every Lua script (packages/store/lua), through the store's own functions. */
const SETUPS = redisSetups();

describe.each(SETUPS)('store scripts, branch by branch (%s)', (_name, setup) => {
  let redis: RedisClient;
  let store: TaskStore;
  let keys: Keys;
  storeEach(setup, (connected) => ({ redis, store, keys } = connected));
  const FAILED = { type: 'Error', message: 'boom', retryable: true };


  const deadLettered = async () => (await store.deadLetters.list({ limit: 100 })).items.map((d) => [d.task_id, d.reason]);
  const scheduledScore = async (id: string) => redis.zscore(keys.scheduled, id);

  describe('start.lua', () => {
    it('answers each task of one batch on its own: started, missing, skip (finished, cancelled, duplicate of a running one), lost', async () => {
      const [fresh, done, cancelled, running, poison] = await store.createRecords([newTask(), newTask(), newTask(), newTask(), newTask({ max_retries: 0 })]);
      await store.start(done!.id, 'w0', false);
      await store.finish(done!.id, { status: 'succeeded', resultGzip: encodeResult(1) });
      await store.cancel(cancelled!.id, false);
      await store.start(running!.id, 'w0', false);
      await store.start(poison!.id, 'w0', false);
      const unknown = newTaskId();

      // one event-loop turn: one script call for all six
      const replies = await Promise.all([
        store.start(fresh!.id, 'w1', false),
        store.start(unknown, 'w1', false),
        store.start(done!.id, 'w1', true),
        store.start(cancelled!.id, 'w1', true),
        store.start(running!.id, 'w1', false),
        store.start(poison!.id, 'w1', true),
      ]);
      expect(replies).toEqual([
        { kind: 'started', attempt: 1, maxRetries: 3, input: { a: 1 }, timeLimit: null, softTimeLimit: null, retryOnTimeout: false, metadata: null },
        { kind: 'missing' },
        { kind: 'skip', status: 'succeeded' },
        { kind: 'skip', status: 'cancelled' },
        { kind: 'skip', status: 'running' },
        { kind: 'lost', attempts: 1 },
      ]);
      expect(await store.get(fresh!.id)).toMatchObject({ status: 'running', worker: 'w1', attempts: 1 });
      expect(await store.get(running!.id)).toMatchObject({ status: 'running', worker: 'w0', attempts: 1 }); // the duplicate changed nothing
      expect(await store.get(poison!.id)).toMatchObject({ status: 'failed', error: { type: 'WORKER_LOST' } });
      expect(await deadLettered()).toEqual([[poison!.id, 'worker_lost']]);
      expect(await redis.ttl(keys.task(poison!.id))).toBeGreaterThan(0);
    });

    it('does not start a task past its expires: it ends expired (TTL, event for a watcher, callback queued); one not yet expired, or already running, starts', async () => {
      const past = new Date(Date.now() - 1_000);
      const [expired, later, redelivered, none] = await store.createRecords([
        newTask({ expires: past, callback_url: 'https://example.com/hook' }),
        newTask({ expires: new Date(Date.now() + 60_000) }),
        newTask({ expires: new Date(Date.now() + 500) }),
        newTask(),
      ]);
      expect(await store.get(expired!.id)).toMatchObject({ status: 'pending', expires: past.toISOString() });
      expect(await store.get(none!.id)).toMatchObject({ expires: null });
      const seen: string[] = [];
      const unwatch = await store.events.watch(expired!.id, (e) => seen.push(e.event.type === 'status' ? e.event.status : 'progress'));
      await store.start(redelivered!.id, 'w0', false);
      await new Promise((resolve) => setTimeout(resolve, 600)); // past redelivered's expiry while it runs

      const replies = await Promise.all([
        store.start(expired!.id, 'w1', false),
        store.start(later!.id, 'w1', false),
        store.start(redelivered!.id, 'w1', true),
        store.start(none!.id, 'w1', false),
      ]);
      expect(replies.map((r) => r.kind)).toEqual(['expired', 'started', 'started', 'started']);
      expect(await store.get(expired!.id)).toMatchObject({ status: 'expired', attempts: 0, worker: null, started_at: null });
      expect((await store.get(expired!.id))!.finished_at).not.toBeNull();
      expect(await redis.ttl(keys.task(expired!.id))).toBeGreaterThan(0);
      expect(await redis.zscore(keys.callbacks, expired!.id)).not.toBeNull();
      expect(await deadLettered()).toEqual([]); // expiry is not a failure
      expect(await store.start(expired!.id, 'w1', true)).toEqual({ kind: 'skip', status: 'expired' });
      await vi.waitFor(() => expect(seen).toEqual(['expired']));
      await unwatch();
    });

    it('starts a scheduled task that was delivered (its time limits, retry_on_timeout and metadata read from the record)', async () => {
      const [t] = await store.createRecords([newTask({ eta: new Date(Date.now() + 60_000), time_limit: 30, soft_time_limit: 20, retry_on_timeout: true, metadata: { tenant: 'acme' } })]);
      expect(await store.start(t!.id, 'w1', false)).toMatchObject({ kind: 'started', attempt: 1, timeLimit: 30, softTimeLimit: 20, retryOnTimeout: true, metadata: { tenant: 'acme' } });
    });
  });

  describe('finish.lua', () => {
    it('ok for a running task; missing for an unknown one; the status that won for a finished one', async () => {
      const [t] = await store.createRecords([newTask()]);
      await store.start(t!.id, 'w1', false);
      const [ok, missing] = await Promise.all([
        store.finish(t!.id, { status: 'succeeded', resultGzip: encodeResult('x') }),
        store.finish(newTaskId(), { status: 'succeeded', resultGzip: encodeResult('x') }),
      ]);
      expect([ok, missing]).toEqual(['ok', 'missing']);
      expect(await store.finish(t!.id, { status: 'failed', error: FAILED })).toBe('succeeded');
      expect(await store.get(t!.id)).toMatchObject({ status: 'succeeded', result: 'x', error: null });
      expect(await deadLettered()).toEqual([]);
    });

    it('dead-letters a task that failed or timed out, in the same step, with the reason; queues its callback', async () => {
      const [failed, timedOut] = await store.createRecords([newTask({ callback_url: 'https://example.com/hook' }), newTask()]);
      await store.start(failed!.id, 'w1', false);
      await store.start(timedOut!.id, 'w1', false);
      expect(await store.finish(failed!.id, { status: 'failed', error: FAILED })).toBe('ok');
      expect(await store.finish(timedOut!.id, { status: 'timed_out', error: { type: 'TIME_LIMIT_EXCEEDED', message: 'late', retryable: false } })).toBe('ok');
      expect(await deadLettered()).toEqual([
        [timedOut!.id, 'timed_out'], // newest first
        [failed!.id, 'failed'],
      ]);
      expect(await store.get(failed!.id)).toMatchObject({ status: 'failed', error: FAILED });
      expect(await redis.zscore(keys.callbacks, failed!.id)).not.toBeNull();
      expect(await redis.zscore(keys.callbacks, timedOut!.id)).toBeNull(); // no callback_url
    });

    it('keeps a cancel that came first', async () => {
      const [t] = await store.createRecords([newTask()]);
      await store.start(t!.id, 'w1', false);
      await store.cancel(t!.id, false);
      expect(await store.finish(t!.id, { status: 'failed', error: FAILED })).toBe('cancelled');
      expect(await deadLettered()).toEqual([]);
    });
  });

  describe('fail-parked.lua (the task of a parked delivery)', () => {
    it('fails and dead-letters a pending or running task; leaves a scheduled or finished one alone; missing for an unknown id', async () => {
      const PARKED = { type: 'HANDLER_FAILURE_LIMIT', message: 'not run: its delivery failed 3 time(s) in a row', retryable: false };
      const [pending, running, scheduled, done] = await store.createRecords([
        newTask({ callback_url: 'https://example.com/hook' }),
        newTask(),
        newTask({ eta: new Date(Date.now() + 60_000) }),
        newTask(),
      ]);
      await store.start(running!.id, 'w1', false);
      await store.start(done!.id, 'w1', false);
      await store.finish(done!.id, { status: 'succeeded', resultGzip: encodeResult('x') });

      expect(await store.failParked(pending!.id, PARKED)).toBe('ok');
      expect(await store.failParked(running!.id, PARKED)).toBe('ok');
      expect(await store.failParked(scheduled!.id, PARKED)).toBe('scheduled');
      expect(await store.failParked(done!.id, PARKED)).toBe('succeeded');
      expect(await store.failParked(newTaskId(), PARKED)).toBe('missing');

      expect(await store.get(pending!.id)).toMatchObject({ status: 'failed', error: PARKED, attempts: 0 });
      expect(await store.get(running!.id)).toMatchObject({ status: 'failed', error: PARKED, attempts: 1 });
      expect(await store.get(scheduled!.id)).toMatchObject({ status: 'scheduled', error: null });
      expect(await deadLettered()).toEqual([
        [running!.id, 'failed'],
        [pending!.id, 'failed'],
      ]);
      const [dead] = (await store.deadLetters.list({ limit: 10 })).items.filter((d) => d.task_id === pending!.id);
      expect(dead).toMatchObject({ task: 'demo.echo', queue: 'default', input: { a: 1 }, error: PARKED }); // what a re-submission needs
      expect(await redis.ttl(keys.task(pending!.id))).toBeGreaterThan(0); // finished: expires like any finished record
      expect(await redis.zscore(keys.callbacks, pending!.id)).not.toBeNull();
      expect(await redis.zscore(keys.pending('default', 'demo.echo'), pending!.id)).toBeNull(); // out of its pending list
      expect(await redis.zscore(keys.running('default'), running!.id)).toBeNull(); // out of the running list
      expect((await store.list({ status: 'failed', limit: 10 })).items.map((r) => r.id).sort()).toEqual([pending!.id, running!.id].sort());
      expect(await store.failParked(pending!.id, PARKED)).toBe('failed'); // a second drain of the same message: no second dead letter
      expect(await deadLettered()).toHaveLength(2);
    });
  });

  describe('retry.lua', () => {
    it('schedules a failed attempt for its eta, keeping the error; missing for an unknown id; the status that won otherwise', async () => {
      const [t, cancelled] = await store.createRecords([newTask(), newTask()]);
      await store.start(t!.id, 'w1', false);
      const eta = new Date(Date.now() + 30_000);
      expect(await store.retry(t!.id, eta, FAILED)).toBe('ok');
      expect(await store.get(t!.id)).toMatchObject({ status: 'scheduled', eta: eta.toISOString(), error: FAILED, attempts: 1 });
      expect(await scheduledScore(t!.id)).toBe(String(eta.getTime()));

      expect(await store.retry(newTaskId(), eta, FAILED)).toBe('missing');
      await store.cancel(cancelled!.id, false);
      expect(await store.retry(cancelled!.id, eta, FAILED)).toBe('cancelled');
      expect(await scheduledScore(cancelled!.id)).toBeNull();
    });
  });

  describe('release.lua', () => {
    it('missing for an unknown id; the status for a task that is not running; ok only for the worker running it', async () => {
      const [t] = await store.createRecords([newTask()]);
      expect(await store.release(newTaskId(), 'w1', { leased: false })).toBe('missing');
      expect(await store.release(t!.id, 'w1', { leased: false })).toBe('pending');
      await store.start(t!.id, 'w1', false);
      expect(await store.release(t!.id, 'w2', { leased: true })).toBe('running');
      expect(await scheduledScore(t!.id)).toBeNull();
      expect(await store.release(t!.id, 'w1', { leased: true })).toBe('ok');
      expect(await store.get(t!.id)).toMatchObject({ status: 'scheduled', attempts: 0 });
      expect(Number(await scheduledScore(t!.id))).toBeLessThanOrEqual(Date.now());
    });
  });

  describe('claim-due.lua and release-due.lua', () => {
    it('claims only due tasks, in due order, up to the limit, moving each to pending and its score to the lease end', async () => {
      const now = Date.now();
      const [later, first, second, third] = await store.createRecords([
        newTask({ eta: new Date(now + 60_000) }),
        newTask({ eta: new Date(now - 3_000) }),
        newTask({ eta: new Date(now - 2_000), queue: 'high_priority', priority: 9 }),
        newTask({ eta: new Date(now - 1_000) }),
      ]);
      const { tasks, leaseUntilMs } = await store.scheduled.claimDue(2, 5_000, now);
      expect(tasks).toEqual([
        { id: first!.id, queue: 'default', priority: 5, task: 'demo.echo', trace_id: 'trace-1' },
        { id: second!.id, queue: 'high_priority', priority: 9, task: 'demo.echo', trace_id: 'trace-1' },
      ]);
      expect(leaseUntilMs).toBe(now + 5_000);
      expect(await store.get(first!.id)).toMatchObject({ status: 'pending' });
      expect(await scheduledScore(first!.id)).toBe(String(now + 5_000));
      expect(await store.get(third!.id)).toMatchObject({ status: 'scheduled' });
      expect(await store.get(later!.id)).toMatchObject({ status: 'scheduled' });
    });

    it('claims a claimed task again only after its lease ran out (the dispatcher died before publishing), without another status change', async () => {
      const now = Date.now();
      const [t] = await store.createRecords([newTask({ eta: new Date(now - 1) })]);
      const { leaseUntilMs } = await store.scheduled.claimDue(10, 5_000, now);
      expect((await store.scheduled.claimDue(10, 5_000, now + 1_000)).tasks).toEqual([]);
      const again = await store.scheduled.claimDue(10, 5_000, leaseUntilMs);
      expect(again.tasks.map((d) => d.id)).toEqual([t!.id]);
      expect(await store.get(t!.id)).toMatchObject({ status: 'pending' });
      expect(await store.events.read(t!.id, '0')).toEqual([]); // unwatched: no events kept, nothing emitted twice
    });

    it('drops a task cancelled before its claim from the set, and never hands it out', async () => {
      const now = Date.now();
      const [t] = await store.createRecords([newTask({ eta: new Date(now - 1) })]);
      await store.cancel(t!.id, false);
      expect((await store.scheduled.claimDue(10, 5_000, now)).tasks).toEqual([]);
      expect(await scheduledScore(t!.id)).toBeNull();
    });

    it('race with cancel: a task cancelled between its claim and its publish is published, but its delivery never starts it', async () => {
      const now = Date.now();
      const [t] = await store.createRecords([newTask({ eta: new Date(now - 1) })]);
      const { tasks, leaseUntilMs } = await store.scheduled.claimDue(10, 5_000, now);
      expect(tasks.map((d) => d.id)).toEqual([t!.id]);
      expect(await store.cancel(t!.id, false)).toMatchObject({ kind: 'cancelled', previousStatus: 'pending' });
      await store.scheduled.releaseDue([t!.id], leaseUntilMs); // confirmed
      expect(await scheduledScore(t!.id)).toBeNull();
      expect(await store.start(t!.id, 'w1', false)).toEqual({ kind: 'skip', status: 'cancelled' });
      // and had the dispatcher died instead, the next claim drops it
      const [u] = await store.createRecords([newTask({ eta: new Date(now - 1) })]);
      const second = await store.scheduled.claimDue(10, 5_000, now);
      await store.cancel(u!.id, false);
      expect((await store.scheduled.claimDue(10, 5_000, second.leaseUntilMs)).tasks).toEqual([]);
      expect(await scheduledScore(u!.id)).toBeNull();
    });

    it('release-due forgets published tasks, but not one rescheduled meanwhile (a newer score)', async () => {
      const now = Date.now();
      const [published, retried] = await store.createRecords([newTask({ eta: new Date(now - 2) }), newTask({ eta: new Date(now - 1) })]);
      const { leaseUntilMs } = await store.scheduled.claimDue(10, 5_000, now);
      // the second was published, ran and failed before the dispatcher heard the confirm
      await store.start(retried!.id, 'w1', false);
      const eta = new Date(now + 60_000);
      await store.retry(retried!.id, eta, FAILED);
      await store.scheduled.releaseDue([published!.id, retried!.id], leaseUntilMs);
      expect(await scheduledScore(published!.id)).toBeNull();
      expect(await scheduledScore(retried!.id)).toBe(String(eta.getTime()));
    });
  });

  describe('records written before their publish (createRecords publishByMs, publishedNow)', () => {
    it('wait in the scheduled set as pending until the deadline; claimed then if their publish was never confirmed', async () => {
      const now = Date.now();
      const [orphan, confirmed, withEta] = await store.createRecords([newTask(), newTask(), newTask({ eta: new Date(now + 60_000) })], { publishByMs: now + 2_000 });
      expect(await store.get(orphan!.id)).toMatchObject({ status: 'pending' });
      expect(await scheduledScore(orphan!.id)).toBe(String(now + 2_000));
      expect(await scheduledScore(withEta!.id)).toBe(String(now + 60_000)); // its own eta, not the deadline
      await store.scheduled.publishedNow([confirmed!.id], now + 2_000);
      expect(await scheduledScore(confirmed!.id)).toBeNull();

      expect((await store.scheduled.claimDue(10, 5_000, now + 1_999)).tasks).toEqual([]);
      expect((await store.scheduled.claimDue(10, 5_000, now + 2_000)).tasks.map((d) => d.id)).toEqual([orphan!.id]);
      expect(await store.get(orphan!.id)).toMatchObject({ status: 'pending' });
    });

    it('a confirm that comes after the task was rescheduled (a fast retry) leaves the new entry alone', async () => {
      const now = Date.now();
      const [t] = await store.createRecords([newTask()], { publishByMs: now + 2_000 });
      await store.start(t!.id, 'w1', false);
      const eta = new Date(now + 30_000);
      await store.retry(t!.id, eta, FAILED);
      await store.scheduled.publishedNow([t!.id], now + 2_000);
      expect(await scheduledScore(t!.id)).toBe(String(eta.getTime()));
    });

    it('without publishByMs (records written by other means) no entry is made', async () => {
      const [t] = await store.createRecords([newTask()]);
      expect(await scheduledScore(t!.id)).toBeNull();
    });
  });

  describe('reap-leases.lua', () => {
    it('reschedules a running task whose lease ran out while attempts remain, and fails and dead-letters it when none do', async () => {
      const [orphan, poison] = await store.createRecords([newTask({ max_retries: 1 }), newTask({ max_retries: 1, callback_url: 'https://example.com/hook' })]);
      await store.start(orphan!.id, 'w1', false);
      await store.start(poison!.id, 'w1', false);
      await store.start(poison!.id, 'w2', true); // its second and last attempt
      const past = Date.now() - 1;
      await store.scheduled.holdLease(orphan!.id, past);
      await store.scheduled.holdLease(poison!.id, past);

      expect(await store.scheduled.reapExpiredLeases(10)).toEqual({ rescheduled: [orphan!.id], lost: [poison!.id] });
      expect(await store.get(orphan!.id)).toMatchObject({ status: 'scheduled', attempts: 1 });
      expect(await scheduledScore(orphan!.id)).not.toBeNull();
      expect(await store.get(poison!.id)).toMatchObject({ status: 'failed', attempts: 2, error: { type: 'WORKER_LOST' } });
      expect(await deadLettered()).toEqual([[poison!.id, 'worker_lost']]);
      expect(await redis.zscore(keys.callbacks, poison!.id)).not.toBeNull();
      expect(await redis.zcard(keys.leases)).toBe(0);
    });

    it('drops the expired lease of a task that is no longer running, and reaps at most `limit` leases a call', async () => {
      const [a, b, c] = await store.createRecords([newTask(), newTask(), newTask()]);
      for (const t of [a, b, c]) await store.start(t!.id, 'w1', false);
      await store.cancel(a!.id, false);
      const past = Date.now() - 10;
      await store.scheduled.holdLease(a!.id, past - 2);
      await store.scheduled.holdLease(b!.id, past - 1);
      await store.scheduled.holdLease(c!.id, past);
      expect(await store.scheduled.reapExpiredLeases(2)).toEqual({ rescheduled: [b!.id], lost: [] });
      expect(await store.get(a!.id)).toMatchObject({ status: 'cancelled' });
      expect(await redis.zrange(keys.leases, 0, -1)).toEqual([c!.id]);
      expect(await store.scheduled.reapExpiredLeases(2)).toEqual({ rescheduled: [c!.id], lost: [] });
    });
  });

  describe('cancel.lua, progress.lua, watch.lua', () => {
    it('cancel: missing, finished (with its status), or cancelled from pending, scheduled and running', async () => {
      const [pending, scheduled, running] = await store.createRecords([newTask(), newTask({ eta: new Date(Date.now() + 60_000) }), newTask()]);
      await store.start(running!.id, 'w1', false);
      expect(await store.cancel(newTaskId(), false)).toEqual({ kind: 'missing' });
      expect(await store.cancel(pending!.id, false)).toMatchObject({ kind: 'cancelled', previousStatus: 'pending' });
      expect(await store.cancel(scheduled!.id, false)).toMatchObject({ kind: 'cancelled', previousStatus: 'scheduled' });
      expect(await store.cancel(running!.id, true)).toMatchObject({ kind: 'cancelled', previousStatus: 'running' });
      expect(await store.cancel(pending!.id, false)).toEqual({ kind: 'finished', status: 'cancelled', stopping: false });
      expect(await redis.ttl(keys.task(scheduled!.id))).toBeGreaterThan(0);
    });

    it('cancel of a running task: stopping until finish.lua stores that its execution ended; terminable meanwhile', async () => {
      const [running] = await store.createRecords([newTask()]);
      await store.start(running!.id, 'w1', false);
      const cancelled = await store.cancel(running!.id, false);
      expect(cancelled).toMatchObject({ kind: 'cancelled', previousStatus: 'running' });
      expect(await store.get(running!.id)).toMatchObject({ status: 'cancelled', stopping: true });
      expect(await store.cancel(running!.id, false)).toEqual({ kind: 'finished', status: 'cancelled', stopping: true });
      expect(await store.cancel(running!.id, true)).toEqual({ kind: 'terminating', cancelledAt: (cancelled as { cancelledAt: string }).cancelledAt });
      expect(await store.finish(running!.id, { status: 'succeeded', resultGzip: encodeResult('late') })).toBe('cancelled');
      expect(await store.get(running!.id)).toMatchObject({ status: 'cancelled', stopping: false, result: null });
      expect(await store.cancel(running!.id, true)).toEqual({ kind: 'finished', status: 'cancelled', stopping: false });
    });

    it('progress only on a running task; watch marks only an existing record', async () => {
      const [t] = await store.createRecords([newTask()]);
      expect(await store.setProgress(t!.id, { percent: 10, message: null, data: null })).toBe(false);
      await store.start(t!.id, 'w1', false);
      expect(await store.setProgress(t!.id, { percent: 10, message: null, data: null })).toBe(true);
      expect(await store.setProgress(newTaskId(), { percent: 10, message: null, data: null })).toBe(false);
      expect(await store.get(t!.id)).toMatchObject({ progress: { percent: 10 } });
      const unknown = newTaskId();
      const unwatch = await store.events.watch(unknown, () => undefined);
      await unwatch();
      expect(await redis.exists(keys.task(unknown))).toBe(0);
    });
  });

  describe('callback scripts', () => {
    it('claim-callbacks: due ones only, each leased to one claimer until the lease runs out', async () => {
      const [a, b] = await store.createRecords([newTask({ callback_url: 'https://example.com/a' }), newTask({ callback_url: 'https://example.com/b' })]);
      const now = Date.now();
      await redis.zadd(keys.callbacks, now - 1, a!.id, now + 60_000, b!.id);
      expect(await store.callbacks.claimDue(10, 5_000, now)).toEqual([a!.id]);
      expect(await store.callbacks.claimDue(10, 5_000, now + 1_000)).toEqual([]); // another worker: leased
      expect(await store.callbacks.claimDue(10, 5_000, now + 5_000)).toEqual([a!.id]); // the first one died
      expect(await store.callbacks.claimDue(1, 5_000, now + 70_000)).toHaveLength(1); // the limit
    });

    it('callback-attempt: pending schedules the next attempt, delivered and failed forget it, a gone record drops it', async () => {
      const [t, gone] = await store.createRecords([newTask({ callback_url: 'https://example.com/a' }), newTask({ callback_url: 'https://example.com/b' })]);
      const next = new Date(Date.now() + 30_000);
      await store.callbacks.recordAttempt(t!.id, { state: 'pending', lastStatus: 500, lastError: null, nextAttemptAt: next });
      expect(await redis.zscore(keys.callbacks, t!.id)).toBe(String(next.getTime()));
      expect((await store.get(t!.id))!.callback).toMatchObject({ state: 'pending', attempts: 1, last_status: 500, last_error: null });
      await store.callbacks.recordAttempt(t!.id, { state: 'failed', lastStatus: null, lastError: 'ECONNREFUSED' });
      expect(await redis.zscore(keys.callbacks, t!.id)).toBeNull();
      expect((await store.get(t!.id))!.callback).toMatchObject({ state: 'failed', attempts: 2, last_status: null, last_error: 'ECONNREFUSED' });

      await redis.zadd(keys.callbacks, 0, gone!.id);
      await redis.del(keys.task(gone!.id));
      await store.callbacks.recordAttempt(gone!.id, { state: 'delivered', lastStatus: 200, lastError: null });
      expect(await redis.zscore(keys.callbacks, gone!.id)).toBeNull();
      expect(await redis.exists(keys.task(gone!.id))).toBe(0); // nothing written back
    });

    it('retry-callback: ok for a failed one (fresh count, due now); none, missing, or the state otherwise', async () => {
      const [t, plain] = await store.createRecords([newTask({ callback_url: 'https://example.com/a' }), newTask()]);
      expect(await store.callbacks.retry(t!.id)).toBe('pending');
      await store.callbacks.recordAttempt(t!.id, { state: 'failed', lastStatus: 503, lastError: null });
      expect(await store.callbacks.retry(t!.id)).toBe('ok');
      expect((await store.get(t!.id))!.callback).toMatchObject({ state: 'pending', attempts: 0 });
      expect(Number(await redis.zscore(keys.callbacks, t!.id))).toBeLessThanOrEqual(Date.now());
      await store.callbacks.recordAttempt(t!.id, { state: 'delivered', lastStatus: 200, lastError: null });
      expect(await store.callbacks.retry(t!.id)).toBe('delivered');
      expect(await store.callbacks.retry(plain!.id)).toBe('none');
      expect(await store.callbacks.retry(newTaskId())).toBe('missing');
    });
  });

  describe('lock.lua (the scheduled-task dispatcher lease)', () => {
    it('taken when free, refused to another owner, extended for its owner, free again once it ran out', async () => {
      const lock = keys.schedulerLock;
      expect(await store.scheduled.lockDispatcher('a', 200)).toBe(true);
      expect(await store.scheduled.lockDispatcher('b', 10_000)).toBe(false);
      expect(await redis.get(lock)).toBe('a');
      expect(await store.scheduled.lockDispatcher('a', 10_000)).toBe(true); // extended, not replaced
      expect(await redis.pttl(lock)).toBeGreaterThan(5_000);
      await redis.pexpire(lock, 1);
      await expect.poll(() => redis.exists(lock)).toBe(0);
      expect(await store.scheduled.lockDispatcher('b', 10_000)).toBe(true);
      expect(await redis.get(lock)).toBe('b');
    });

    it('one owner among many asking at once', async () => {
      const lock = keys.schedulerLock;
      const owners = Array.from({ length: 20 }, (_, i) => `w${i}`);
      const won = await Promise.all(owners.map((o) => store.scheduled.lockDispatcher(o, 10_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await redis.get(lock)).toBe(owners[won.indexOf(true)]);
    });
  });
});
