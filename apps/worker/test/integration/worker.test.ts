import { loadConfig, newTraceId } from '@celerity/core';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@celerity/testkit';
import { startWorkerHarness, type WorkerHarness } from '../harness.js';

let h: WorkerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('worker (real RabbitMQ and Redis, jobs in threads)', () => {
  it('runs a task: running with worker and attempts, then succeeded with the decoded result; logs carry task_id and trace_id', async () => {
    h = await startWorkerHarness();
    const worker = await h.startWorker({ concurrency: 1 });
    const submitted = await h.submit({ task: 'demo.echo', input: { hello: 'world', n: [1, 2] } });
    const done = await h.waitForStatus(submitted.id, ['succeeded']);
    expect(done).toMatchObject({ result: { hello: 'world', n: [1, 2] }, attempts: 1, worker: worker.name, error: null });
    expect(Date.parse(done.started_at!)).toBeGreaterThanOrEqual(Date.parse(done.created_at));
    expect(Date.parse(done.finished_at!)).toBeGreaterThanOrEqual(Date.parse(done.started_at!));
    expect(await h.broker.queueDepth('default')).toBe(0);

    const taskLines = h.logLines.filter((l) => l.task_id === submitted.id);
    expect(taskLines.map((l) => l.msg)).toEqual(expect.arrayContaining(['task started', 'task succeeded']));
    for (const line of taskLines) expect(line.trace_id).toBe(submitted.trace_id);
  });

  it('does not run a task whose expires passed while it waited in the queue: it ends expired; one within its time runs', async () => {
    h = await startWorkerHarness();
    const stale = await h.submit({ task: 'demo.echo', input: 'too late', expires: 0.3 });
    const fresh = await h.submit({ task: 'demo.echo', input: 'in time', expires: 60 });
    await new Promise((resolve) => setTimeout(resolve, 500)); // no worker yet: the first one's time runs out in the queue
    await h.startWorker({ concurrency: 1 });
    expect(await h.waitForStatus(fresh.id, ['succeeded'])).toMatchObject({ result: 'in time' });
    const expired = await h.waitForStatus(stale.id, ['expired']);
    expect(expired).toMatchObject({ attempts: 0, result: null, started_at: null, expires: stale.expires });
    expect(h.logLines.filter((l) => l.task_id === stale.id).map((l) => l.msg)).toContain('task expired before it started; not run');
    expect(await h.broker.queueDepth('default')).toBe(0); // acked, not left behind
  });

  it('records a failure with its type, message and the stack where the job threw (capped, JOBS_ROOT paths relative), and logs it', async () => {
    h = await startWorkerHarness();
    await h.startWorker({ concurrency: 1 });
    const plain = await h.submit({ task: 'demo.fail', input: { message: 'disk full' }, max_retries: 0 });
    const final = await h.submit({ task: 'demo.fail', input: { message: 'bad report', retryable: false } });
    const plainRecord = await h.waitForStatus(plain.id, ['failed']);
    expect(plainRecord.error).toEqual({ type: 'Error', message: 'disk full', retryable: true, stack: expect.stringMatching(/^Error: disk full\n\s+at .*fail.* \(demo\.js:\d+:\d+\)/) });
    const finalRecord = await h.waitForStatus(final.id, ['failed']);
    expect(finalRecord.error).toMatchObject({ type: 'JOB_NON_RETRYABLE', message: 'bad report', retryable: false, stack: expect.stringContaining('(demo.js:') });
    expect(JSON.stringify(finalRecord)).not.toContain(h.config.jobsRoot);
    expect(finalRecord.error!.stack!.split('\n').length).toBeLessThanOrEqual(22);
    const logged = h.logLines.find((l) => l.task_id === final.id && l.msg === 'task did not succeed');
    expect(logged?.error).toMatchObject({ type: 'JOB_NON_RETRYABLE', stack: finalRecord.error!.stack });
  });

  it('dead-letters a task that fails after its retries or times out, with a snapshot to re-submit it; never one that succeeds or is cancelled', async () => {
    h = await startWorkerHarness({ TASK_RETRY_DELAY: '0.1', TASK_RETRY_DELAY_MAX: '0.2' });
    await h.startWorker({ concurrency: 1 });
    const exhausted = await h.submit({ task: 'demo.fail', input: { message: 'still broken' }, max_retries: 1, metadata: { team: 'billing' } });
    const timedOut = await h.submit({ task: 'demo.busyLoop', input: { ms: 60_000 }, time_limit: 0.3 });
    const fine = await h.submit({ task: 'demo.echo', input: 'ok' });
    await h.waitForStatus(exhausted.id, ['failed']);
    await h.waitForStatus(timedOut.id, ['timed_out']);
    await h.waitForStatus(fine.id, ['succeeded']);

    const { items, total } = await h.store.deadLetters.list({ limit: 10 });
    expect(total).toBe(2);
    const byTask = new Map(items.map((d) => [d.task_id, d]));
    expect(byTask.get(exhausted.id)).toMatchObject({
      reason: 'failed',
      task: 'demo.fail',
      queue: 'default',
      attempts: 2,
      input: { message: 'still broken' },
      max_retries: 1,
      metadata: { team: 'billing' },
      error: { type: 'Error', message: 'still broken' },
      trace_id: exhausted.trace_id,
      body: null,
    });
    expect(byTask.get(timedOut.id)).toMatchObject({ reason: 'timed_out', time_limit: 0.3, error: { type: 'TIME_LIMIT_EXCEEDED' } });
    expect(items[0]!.id > items[1]!.id).toBe(true); // newest first
  });

  it('dead-letters a message that is not a task, keeping its body, and goes on with the next one', async () => {
    h = await startWorkerHarness();
    await h.startWorker({ concurrency: 1 });
    await h.broker.publish('default', Buffer.from('{"not":"a task"'), { priority: 5, messageId: 'garbage' });
    const next = await h.submit({ task: 'demo.echo', input: 'after' });
    await h.waitForStatus(next.id, ['succeeded']);
    const dead = await waitForDeadLetters(h, 1);
    expect(dead[0]).toMatchObject({ reason: 'malformed', queue: 'default', body: '{"not":"a task"', task_id: null, error: { type: 'MALFORMED_MESSAGE' } });
    expect(await h.broker.queueDepth('default')).toBe(0);
  });

  it('stores progress reported by the job', async () => {
    h = await startWorkerHarness();
    await h.startWorker({ concurrency: 1 });
    const t = await h.submit({ task: 'demo.countdown', input: { steps: 3, step_ms: 30 } });
    const done = await h.waitForStatus(t.id, ['succeeded']);
    expect(done.progress).toEqual({ percent: 100, message: 'step 3 of 3', data: { step: 3 } });
    expect(done.result).toEqual({ steps: 3 });
  });

  it('coalesces a flood of progress reports: 200k calls become a handful of Redis writes and events, and the last value lands', async () => {
    h = await startWorkerHarness();
    const t = await h.submit({ task: 'demo.progressFlood', input: { times: 100_000 } });
    const unwatch = await h.store.events.watch(t.id, () => undefined); // followed: its changes are kept as events
    await h.startWorker({ concurrency: 1 });
    const done = await h.waitForStatus(t.id, ['succeeded']);
    await unwatch();
    expect(done.result).toEqual({ calls: 200_000 });
    expect(done.progress).toEqual({ percent: 100, message: 'again 100000', data: null });
    const events = await h.store.events.read(t.id, '0');
    const progressEvents = events.filter((e) => e.event.type === 'progress');
    expect(progressEvents.length).toBeGreaterThanOrEqual(2);
    expect(progressEvents.length).toBeLessThanOrEqual(10);
    expect(progressEvents.at(-1)!.event).toMatchObject({ percent: 100, message: 'again 100000' });
    expect(events.map((e) => (e.event.type === 'status' ? e.event.status : 'progress')).filter((x) => x !== 'progress')).toEqual(['running', 'succeeded']);
  });

  it('starts a priority-9 task before earlier priority-1 tasks waiting in the same queue (prefetch 1)', async () => {
    h = await startWorkerHarness();
    const low = [];
    for (let i = 0; i < 3; i += 1) low.push(await h.submit({ task: 'demo.noop', priority: 1 }));
    const high = await h.submit({ task: 'demo.noop', priority: 9 });
    await h.startWorker({ concurrency: 1 });
    const records = await Promise.all([high, ...low].map((t) => h!.waitForStatus(t.id, ['succeeded'])));
    const startOrder = [...records].sort((a, b) => a.started_at!.localeCompare(b.started_at!)).map((r) => r.id);
    expect(startOrder[0]).toBe(high.id);
    expect(startOrder.slice(1)).toEqual(low.map((t) => t.id));
  });

  // The inversion window: priority-1 tasks that start after a priority-9 task was submitted but before
  // it starts. RabbitMQ hands it over as soon as a prefetch slot frees; the run slots then take it
  // before every prefetched priority-1 delivery, so only the tasks already running, and those that
  // start while its message is on its way, go first.
  const defaults = loadConfig({});
  const productWindow = { WORKER_CONCURRENCY: String(defaults.WORKER_CONCURRENCY), WORKER_PREFETCH: String(defaults.WORKER_PREFETCH) };
  it.each([
    ['the default in-flight window', productWindow],
    ['a prefetch window ten times the concurrency', { ...productWindow, WORKER_PREFETCH: '10' }],
  ])('keeps priority meaningful with %s: a priority-9 task behind 5 000 priority-1 tasks starts before at least 4 900 of them', async (_name, env) => {
    h = await startWorkerHarness(env);
    const low: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      // 20–200 ms each, as real tasks differ: tasks of one length that start together also finish
      // together, and a priority-9 message that arrives just after such a wave waits for the next
      const batch = await h.producer.submitBatch(
        Array.from({ length: 500 }, (_, j) => ({ task: 'demo.sleep', input: { ms: 20 + ((i * 500 + j) * 37) % 181 }, priority: 1 })),
        newTraceId(),
      );
      low.push(...batch.map((r) => r.id));
    }
    const startedAt = async () => {
      const pipeline = h!.redis.pipeline();
      for (const id of low) pipeline.hget(h!.keys.task(id), 'started_at');
      return ((await pipeline.exec()) ?? []).map(([, value]) => value as string | null);
    };
    await h.startWorker(); // WORKER_CONCURRENCY running, WORKER_PREFETCH × that in flight
    // steady state: the first windows have run, the prefetch buffer is full of priority-1 deliveries
    await waitFor(async () => ((await startedAt()).filter(Boolean).length >= 500 ? true : undefined), { what: '500 tasks to start', timeoutMs: 20_000, intervalMs: 100 });
    const submittedAt = new Date().toISOString();
    const high = await h.submit({ task: 'demo.noop', priority: 9 });
    const done = await h.waitForStatus(high.id, ['succeeded'], 30_000);

    const startedLow = await startedAt();
    const inversion = startedLow.filter((at) => at !== null && at >= submittedAt && at < done.started_at!).length;
    expect(inversion).toBeLessThanOrEqual(100);
  }, 60_000);

  it('never runs a task cancelled while pending', async () => {
    h = await startWorkerHarness();
    const cancelled = await h.submit({ task: 'demo.echo', input: 1 });
    expect(await h.store.cancel(cancelled.id, false)).toMatchObject({ kind: 'cancelled', previousStatus: 'pending' });
    const later = await h.submit({ task: 'demo.echo', input: 2 });
    await h.startWorker({ concurrency: 1 });
    await h.waitForStatus(later.id, ['succeeded']);
    expect(await h.store.get(cancelled.id)).toMatchObject({ status: 'cancelled', attempts: 0, started_at: null, result: null });
    expect(await h.broker.queueDepth('default')).toBe(0);
  });

  it("aborts a running task's signal on cancel; the task ends cancelled and the slot runs the next task", async () => {
    h = await startWorkerHarness();
    await h.startWorker({ concurrency: 1 });
    const sleeper = await h.submit({ task: 'demo.sleep', input: { ms: 30_000 } });
    await h.waitForStatus(sleeper.id, ['running']);
    expect(await h.store.cancel(sleeper.id, false)).toMatchObject({ kind: 'cancelled', previousStatus: 'running' });
    const next = await h.submit({ task: 'demo.echo', input: 'next' });
    expect((await h.waitForStatus(next.id, ['succeeded'], 5_000)).result).toBe('next');
    expect(await h.store.get(sleeper.id)).toMatchObject({ status: 'cancelled', result: null });
    expect(h.logLines.some((l) => l.task_id === sleeper.id && l.msg === 'outcome discarded: task already finished')).toBe(true);
  });

  it('kills a busy loop that ignores its signal when cancelled with terminate, and goes on with the next task', async () => {
    h = await startWorkerHarness();
    await h.startWorker({ concurrency: 1 });
    const spinner = await h.submit({ task: 'demo.busyLoop', input: { ms: 60_000 } });
    await h.waitForStatus(spinner.id, ['running']);
    await h.store.cancel(spinner.id, true);
    const next = await h.submit({ task: 'demo.echo', input: 'after' });
    expect((await h.waitForStatus(next.id, ['succeeded'], 5_000)).result).toBe('after');
    expect((await h.store.get(spinner.id))!.status).toBe('cancelled');
  });

  it('ends a task timed_out at its soft limit (signal aborted) and at its hard limit (thread killed)', async () => {
    h = await startWorkerHarness();
    await h.startWorker({ concurrency: 1 });
    const soft = await h.submit({ task: 'demo.sleep', input: { ms: 30_000 }, soft_time_limit: 0.2, time_limit: 5 });
    const hard = await h.submit({ task: 'demo.busyLoop', input: { ms: 60_000 }, time_limit: 0.5 });
    const next = await h.submit({ task: 'demo.echo', input: 'alive' });
    expect((await h.waitForStatus(soft.id, ['timed_out'])).error).toMatchObject({ type: 'SOFT_TIME_LIMIT_EXCEEDED' });
    expect((await h.waitForStatus(hard.id, ['timed_out'])).error).toMatchObject({ type: 'TIME_LIMIT_EXCEEDED' });
    expect((await h.waitForStatus(next.id, ['succeeded'])).result).toBe('alive');
  });

  it('a hard kill hands the thread\'s other tasks back without counting an attempt', async () => {
    h = await startWorkerHarness({ WORKER_THREADS: '1' });
    await h.startWorker({ concurrency: 3 }); // three tasks interleave on one execution thread
    const neighbours = [await h.submit({ task: 'demo.sleep', input: { ms: 800 } }), await h.submit({ task: 'demo.sleep', input: { ms: 800 } })];
    for (const t of neighbours) await h.waitForStatus(t.id, ['running']);
    const spinner = await h.submit({ task: 'demo.busyLoop', input: { ms: 60_000 }, time_limit: 0.3 });
    expect((await h.waitForStatus(spinner.id, ['timed_out'])).error).toMatchObject({ type: 'TIME_LIMIT_EXCEEDED' });
    for (const t of neighbours) {
      expect(await h.waitForStatus(t.id, ['succeeded'])).toMatchObject({ attempts: 1, error: null });
      expect(h.logLines.some((l) => l.task_id === t.id && l.msg === 'task interrupted; requeued to run elsewhere')).toBe(true);
    }
  });

  it('retries a timed-out run only when the task asked for it (retry_on_timeout)', async () => {
    h = await startWorkerHarness({ TASK_RETRY_DELAY: '0.1', TASK_RETRY_DELAY_MAX: '0.2' });
    await h.startWorker({ concurrency: 2 });
    const asked = await h.submit({ task: 'demo.sleep', input: { ms: 30_000 }, soft_time_limit: 0.2, time_limit: 5, max_retries: 1, retry_on_timeout: true });
    const plain = await h.submit({ task: 'demo.sleep', input: { ms: 30_000 }, soft_time_limit: 0.2, time_limit: 5, max_retries: 1 });
    expect(asked.retry_on_timeout).toBe(true);
    expect(await h.waitForStatus(asked.id, ['timed_out'])).toMatchObject({ attempts: 2, error: { type: 'SOFT_TIME_LIMIT_EXCEEDED' } });
    expect(await h.waitForStatus(plain.id, ['timed_out'])).toMatchObject({ attempts: 1, retry_on_timeout: false });
  });

  it('retries a failing task with backoff, scheduled in between, until max_retries; a non-retryable error fails at once', async () => {
    h = await startWorkerHarness({ TASK_RETRY_DELAY: '0.3', TASK_RETRY_DELAY_MAX: '0.6' });
    await h.startWorker({ concurrency: 1 });
    const flaky = await h.submit({ task: 'demo.fail', input: { message: 'try again' }, max_retries: 2 });
    const final = await h.submit({ task: 'demo.fail', input: { message: 'no point', retryable: false }, max_retries: 2 });

    const waiting = await h.waitForStatus(flaky.id, ['scheduled']);
    expect(waiting).toMatchObject({ attempts: 1, error: { message: 'try again' } });
    const retryAt = Date.parse(waiting.eta!);
    expect(retryAt - Date.parse(waiting.started_at!)).toBeGreaterThanOrEqual(300);

    const failed = await h.waitForStatus(flaky.id, ['failed']);
    expect(failed.attempts).toBe(3);
    expect(Date.parse(failed.started_at!)).toBeGreaterThanOrEqual(retryAt); // a retry never runs before its delay
    expect(await h.store.get(final.id)).toMatchObject({ status: 'failed', attempts: 1, error: { type: 'JOB_NON_RETRYABLE' } });
    expect(h.logLines.filter((l) => l.task_id === flaky.id && l.msg === 'task failed; retry scheduled')).toHaveLength(2);
  });

  it('retries after the delay a job asked for (RetryLaterError), not the backoff, and only while attempts remain', async () => {
    h = await startWorkerHarness({ TASK_RETRY_DELAY: '60', TASK_RETRY_DELAY_MAX: '600' }); // the backoff would wait a minute
    await h.startWorker({ concurrency: 1 });
    const later = await h.submit({ task: 'demo.fail', input: { message: 'rate limited', retry_after_ms: 400 }, max_retries: 1 });
    const waiting = await h.waitForStatus(later.id, ['scheduled']);
    expect(waiting.error).toMatchObject({ type: 'JOB_RETRY_LATER', retryable: true, retry_delay_ms: 400 });
    const delay = Date.parse(waiting.eta!) - Date.parse(waiting.started_at!);
    expect(delay).toBeGreaterThanOrEqual(400);
    expect(delay).toBeLessThan(2_000);
    const failed = await h.waitForStatus(later.id, ['failed'], 5_000);
    expect(failed).toMatchObject({ attempts: 2, error: { type: 'JOB_RETRY_LATER' } });
  });

  it('holds a countdown task as scheduled, out of the queue, and starts it within about a second of its eta', async () => {
    h = await startWorkerHarness();
    await h.startWorker({ concurrency: 1 });
    const later = await h.submit({ task: 'demo.echo', input: 'later', countdown: 1 });
    expect(later.status).toBe('scheduled');
    const eta = Date.parse(later.eta!);
    expect(eta - Date.parse(later.created_at)).toBeGreaterThanOrEqual(990);
    expect(await h.broker.queueDepth('default')).toBe(0);
    const past = await h.submit({ task: 'demo.echo', input: 'now', eta: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe('pending');

    const done = await h.waitForStatus(later.id, ['succeeded'], 5_000);
    const started = Date.parse(done.started_at!);
    expect(started).toBeGreaterThanOrEqual(eta);
    expect(started - eta).toBeLessThan(1_500);
    expect(await h.store.get(past.id)).toMatchObject({ status: 'succeeded', result: 'now' });
  });

  it('runs a scheduled task that fell due while no worker was running, and never one cancelled while scheduled', async () => {
    h = await startWorkerHarness();
    const due = await h.submit({ task: 'demo.echo', input: 'due', countdown: 0.2 });
    const cancelled = await h.submit({ task: 'demo.echo', input: 'cancelled', countdown: 0.2 });
    expect(await h.store.cancel(cancelled.id, false)).toMatchObject({ kind: 'cancelled', previousStatus: 'scheduled' });
    await new Promise((r) => setTimeout(r, 400));
    await h.startWorker({ concurrency: 1 });
    expect((await h.waitForStatus(due.id, ['succeeded'])).result).toBe('due');
    expect(await h.store.get(cancelled.id)).toMatchObject({ status: 'cancelled', attempts: 0 });
    await expect.poll(() => h!.store.scheduled.claimDue(10, 1_000).then((r) => r.tasks.length)).toBe(0);
  });

  it('on shutdown lets a short task finish, and hands back one that outlives the grace period (attempt not counted) so another worker runs it', async () => {
    // a grace well above the short task's length, so a loaded machine still finishes it in time
    h = await startWorkerHarness({ WORKER_SHUTDOWN_GRACE: '2' });
    const first = await h.startWorker({ concurrency: 2 });
    const short = await h.submit({ task: 'demo.sleep', input: { ms: 200 } });
    const long = await h.submit({ task: 'demo.sleep', input: { ms: 6_000 } });
    await h.waitForStatus(short.id, ['running']);
    await h.waitForStatus(long.id, ['running']);
    await first.close();
    expect(await h.store.get(short.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await h.store.get(long.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await h.broker.queueDepth('default')).toBe(1); // back in the queue, not lost

    const second = await h.startWorker({ concurrency: 1 });
    const done = await h.waitForStatus(long.id, ['succeeded'], 20_000);
    expect(done).toMatchObject({ attempts: 1, worker: second.name });
  });

  it('replaces its execution threads after WORKER_MAX_TASKS_PER_CHILD tasks, transparently', async () => {
    h = await startWorkerHarness({ WORKER_MAX_TASKS_PER_CHILD: '2' });
    await h.startWorker({ concurrency: 1 });
    const threads: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const t = await h.submit({ task: 'demo.whereAmI' });
      threads.push(((await h.waitForStatus(t.id, ['succeeded'])).result as { thread_id: number }).thread_id);
    }
    expect(threads[0]).toBe(threads[1]);
    expect(threads[2]).not.toBe(threads[1]);
    expect(threads[2]).toBe(threads[3]);
    expect(threads[4]).not.toBe(threads[3]);
    expect(h.logLines.filter((l) => l.msg === 'execution threads replaced' && l.reason === 'tasks')).toHaveLength(2);
  });

  it('replaces a thread whose heap passes WORKER_MAX_MEMORY_PER_CHILD after a task (a leaking job)', async () => {
    h = await startWorkerHarness({ WORKER_MAX_MEMORY_PER_CHILD: '40' });
    await h.startWorker({ concurrency: 1 });
    const retained: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const t = await h.submit({ task: 'demo.leak', input: { mb: 10 } });
      retained.push(((await h.waitForStatus(t.id, ['succeeded'])).result as { retained_chunks: number }).retained_chunks);
    }
    // the leak grows while one thread runs the tasks, and starts over in the fresh thread
    expect(retained[0]).toBe(1);
    expect(Math.max(...retained)).toBeLessThan(6);
    expect(retained.slice(1).some((n, i) => n < retained[i]!)).toBe(true);
    expect(h.logLines.some((l) => l.msg === 'execution threads replaced' && l.reason === 'memory')).toBe(true);
  });

  it('shares a queue between several workers; each task runs once', async () => {
    h = await startWorkerHarness();
    const a = await h.startWorker({ concurrency: 1 });
    const b = await h.startWorker({ concurrency: 1 });
    const tasks = [];
    for (let i = 0; i < 8; i += 1) tasks.push(await h.submit({ task: 'demo.sleep', input: { ms: 50 } }));
    const done = await Promise.all(tasks.map((t) => h!.waitForStatus(t.id, ['succeeded'])));
    expect(a.name).not.toBe(b.name);
    expect(new Set(done.map((r) => r.worker))).toEqual(new Set([a.name, b.name]));
    expect(done.every((r) => r.attempts === 1)).toBe(true);
  });

  it('consumes only the queues it is given', async () => {
    h = await startWorkerHarness();
    await h.startWorker({ concurrency: 1, queues: ['high_priority'] });
    const low = await h.submit({ task: 'demo.noop', queue: 'low_priority' });
    const high = await h.submit({ task: 'demo.noop', queue: 'high_priority' });
    await h.waitForStatus(high.id, ['succeeded']);
    expect((await h.store.get(low.id))!.status).toBe('pending');
    expect(await h.broker.queueDepth('low_priority')).toBe(1);
  });

  it('refuses unknown queues at start-up', async () => {
    h = await startWorkerHarness();
    await expect(h.startWorker({ queues: ['nope'] })).rejects.toMatchObject({ code: 'UNKNOWN_QUEUE' });
  });
});

function waitForDeadLetters(harness: WorkerHarness, count: number) {
  return waitFor(
    async () => {
      const { items } = await harness.store.deadLetters.list({ limit: 100 });
      return items.length >= count ? items : undefined;
    },
    { what: `${count} dead letter(s)` },
  );
}
