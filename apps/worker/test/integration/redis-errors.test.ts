import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { publishTask } from '@celerity/broker';
import { newTaskId, newTraceId } from '@celerity/core';
import { startPrivateRedis, waitFor } from '@celerity/testkit';
import { startWorkerHarness, type WorkerHarness } from '../harness.js';

/**
 * A Redis that answers errors (BUSY: a script that runs on and on) while deliveries arrive. The
 * worker's handler throws on each; the delivery must come back after a growing backoff, not at
 * broker speed, and the task must run once Redis answers again. On a Redis of the test's own.
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
      const threw = () => h!.logLines.filter((l) => String(l.msg).startsWith('delivery handler') && l.message_id === record!.id);
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
});
