import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { publishTask } from '@celerity/broker';
import { newTaskId, newTraceId, WORKER_FAILURE } from '@celerity/core';
import { startPrivateRedis, waitFor } from '@celerity/testkit';
import { startWorkerHarness, type WorkerHarness } from '../harness.js';

/**
 * A Redis that answers errors (BUSY: a script that runs on and on) while deliveries arrive. The
 * worker's handler throws on each; the delivery must come back after a growing backoff, not at
 * broker speed, its failures counted; the task must run once Redis answers again, or, after
 * WORKER_HANDLER_FAILURE_LIMIT failures, be parked in RabbitMQ and then fail into the dead letters
 * once Redis answers. On a Redis of the test's own.
 */
describe('worker, with a Redis that answers BUSY', () => {
  let h: WorkerHarness | undefined;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>> | undefined;
  afterEach(async () => {
    await h?.close();
    await redis?.stop();
    h = undefined;
    redis = undefined;
  });

  it('requeues a delivery after a backoff while Redis answers BUSY, and runs the task once it answers again', { timeout: 30_000 }, async () => {
    redis = await startPrivateRedis();
    h = await startWorkerHarness({ REDIS_URL: redis.url });
    await h.startWorker(); // its first connection needs an answering Redis
    // the record now; its message once Redis is busy
    const task = { id: newTaskId(), task: 'demo.echo', queue: 'default', priority: 5, trace_id: newTraceId() };
    const [record] = await h.store.createRecords([
      { ...task, input: { n: 1 }, max_retries: 0, time_limit: null, soft_time_limit: null, retry_on_timeout: false, metadata: null, callback_url: null, eta: null },
    ]);

    const admin = new Redis(redis.url);
    const blocker = new Redis(redis.url);
    try {
      await admin.config('SET', 'busy-reply-threshold', '10'); // others get BUSY 10 ms into a script
      const busy = blocker.eval('while true do end', 0).catch((err: Error) => err); // until SCRIPT KILL
      await waitFor(() => admin.get('x').then(() => undefined, (err: Error) => (/^BUSY/.test(err.message) ? true : undefined)), { what: 'Redis answering BUSY' });

      await publishTask(h.broker, task);
      const threw = () => h!.logLines.filter((l) => String(l.msg).startsWith('delivery handler') && l.task_id === record!.id);
      await new Promise((r) => setTimeout(r, 3_000));
      // at broker speed this is thousands; with the backoff (ceilings 0.2, 0.4, 0.8, 1.6 s) a handful
      expect(threw().length).toBeGreaterThanOrEqual(2);
      expect(threw().length).toBeLessThanOrEqual(12);
      expect(threw().map((l) => l.failures)).toEqual(threw().map((_, i) => i + 1)); // counted

      await admin.script('KILL');
      expect(String(await busy)).toMatch(/killed/i);
      const done = await h.waitForStatus(record!.id, ['succeeded'], 20_000);
      expect(done.attempts).toBe(1);
    } finally {
      admin.disconnect();
      blocker.disconnect();
    }
  });

  it('parks the delivery after WORKER_HANDLER_FAILURE_LIMIT failures (not before), keeps it while Redis fails, then fails and dead-letters its task once Redis answers', { timeout: 40_000 }, async () => {
    redis = await startPrivateRedis();
    h = await startWorkerHarness({ REDIS_URL: redis.url, WORKER_HANDLER_FAILURE_LIMIT: '3' });
    await h.startWorker();
    const task = { id: newTaskId(), task: 'demo.echo', queue: 'default', priority: 5, trace_id: newTraceId() };
    const [record] = await h.store.createRecords([
      { ...task, input: { n: 7 }, max_retries: 0, time_limit: null, soft_time_limit: null, retry_on_timeout: false, metadata: null, callback_url: null, eta: null },
    ]);

    const admin = new Redis(redis.url);
    const blocker = new Redis(redis.url);
    try {
      await admin.config('SET', 'busy-reply-threshold', '10');
      const busy = blocker.eval('while true do end', 0).catch((err: Error) => err);
      await waitFor(() => admin.get('x').then(() => undefined, (err: Error) => (/^BUSY/.test(err.message) ? true : undefined)), { what: 'Redis answering BUSY' });

      await publishTask(h.broker, task);
      const ofTask = () => h!.logLines.filter((l) => l.task_id === record!.id);
      const parked = () => ofTask().find((l) => String(l.msg).includes('message parked'));
      await waitFor(() => parked(), { timeoutMs: 15_000, what: 'the message parked' });
      const threw = ofTask().filter((l) => String(l.msg).startsWith('delivery handler threw'));
      expect(threw.map((l) => l.failures)).toEqual([1, 2]); // put back twice, counted
      expect(parked()).toMatchObject({ failures: 3, limit: 3, level: 50, queue: 'default' }); // parked on the third, logged at error
      expect(await h.broker.parkedCount()).toBe(1);
      expect(await h.broker.queueDepth('default')).toBe(0);

      // while Redis still answers BUSY the worker leaves it parked (it drains every 5 s)
      await new Promise((r) => setTimeout(r, 6_000));
      expect(await h.broker.parkedCount()).toBe(1);
      expect(ofTask().filter((l) => String(l.msg).startsWith('delivery handler'))).toHaveLength(3); // two put back, one parked: not tried again meanwhile

      await admin.script('KILL');
      expect(String(await busy)).toMatch(/killed/i);
      const failed = await h.waitForStatus(record!.id, ['failed'], 20_000);
      expect(failed.error).toMatchObject({ type: WORKER_FAILURE.HANDLER_FAILURE_LIMIT, retryable: false });
      expect(failed.error!.message).toMatch(/3 time\(s\) in a row.*BUSY/);
      expect(failed.attempts).toBe(0); // it never ran
      const dead = (await h.store.deadLetters.list({ limit: 10 })).items.filter((d) => d.task_id === record!.id);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ reason: 'failed', task: 'demo.echo', queue: 'default', input: { n: 7 } }); // what POST /dead-letters/:id/retry re-submits
      expect(await h.broker.parkedCount()).toBe(0);
      expect(ofTask().some((l) => String(l.msg).startsWith('parked task failed and dead-lettered') && l.level === 50)).toBe(true);
    } finally {
      admin.disconnect();
      blocker.disconnect();
    }
  });
});
