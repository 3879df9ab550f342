import { afterEach, describe, expect, it } from 'vitest';
import { startWorkerHarness, type WorkerHarness } from '../harness.js';

const JOBS_ROOT = new URL('../fixtures/jobs', import.meta.url).pathname;

let h: WorkerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("defineJob's options and the job context", () => {
  it('takes queue, priority, max_retries and expires from the job; the request wins; the job sees metadata, queue and priority', async () => {
    h = await startWorkerHarness({ JOBS_ROOT });
    await h.startWorker();
    const byJob = await h.submit({ task: 'options.routed', metadata: { tenant: 'acme' } });
    expect(byJob).toMatchObject({ queue: 'high_priority', priority: 7, max_retries: 0 });
    expect(Date.parse(byJob.expires!) - Date.parse(byJob.created_at)).toBeGreaterThanOrEqual(599_000);
    const done = await h.waitForStatus(byJob.id, ['succeeded']);
    expect(done.result).toEqual({ queue: 'high_priority', priority: 7, metadata: { tenant: 'acme' } });

    const byRequest = await h.submit({ task: 'options.routed', queue: 'default', max_retries: 2, expires: 30 });
    expect(byRequest).toMatchObject({ queue: 'default', priority: 5, max_retries: 2 });
    expect(Date.parse(byRequest.expires!) - Date.parse(byRequest.created_at)).toBeLessThanOrEqual(31_000);
    expect((await h.waitForStatus(byRequest.id, ['succeeded'])).result).toEqual({ queue: 'default', priority: 5, metadata: null });
    expect(await h.submit({ task: 'options.routed', priority: 2 })).toMatchObject({ queue: 'high_priority', priority: 2 });

    expect(await h.producer.describeJob('options.routed')).toMatchObject({ description: 'reports its context', queue: 'high_priority', priority: 7, max_retries: 0, expires: 600 });
  });

  it('retries only what retryOn names (classes or a predicate), with the backoff of the job', async () => {
    h = await startWorkerHarness({ JOBS_ROOT, TASK_RETRY_DELAY: '60' });
    await h.startWorker();
    const flaky = await h.submit({ task: 'options.picky', input: { kind: 'flaky' } });
    const bug = await h.submit({ task: 'options.picky', input: { kind: 'bug' } });
    const transient = await h.submit({ task: 'options.judged', input: { message: 'transient: try later' } });
    const permanent = await h.submit({ task: 'options.judged', input: { message: 'permanent: bad account' } });

    // three attempts within seconds: the job's 50-100 ms backoff, not TASK_RETRY_DELAY's 60 s
    expect(await h.waitForStatus(flaky.id, ['succeeded', 'failed'], 15_000)).toMatchObject({ status: 'succeeded', attempts: 3, result: { attempt: 3 } });
    expect(await h.waitForStatus(bug.id, ['failed'])).toMatchObject({ attempts: 1, error: { type: 'TypeError', retryable: false } });
    expect(await h.waitForStatus(transient.id, ['succeeded', 'failed'], 15_000)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await h.waitForStatus(permanent.id, ['failed'])).toMatchObject({ attempts: 1, error: { message: 'permanent: bad account', retryable: false } });
  });

  it('ctx.retry({ countdown }) runs the task again after the countdown; a result its schema refuses fails at once', async () => {
    h = await startWorkerHarness({ JOBS_ROOT });
    await h.startWorker();
    const later = await h.submit({ task: 'options.later' });
    const lying = await h.submit({ task: 'options.lying' });
    const done = await h.waitForStatus(later.id, ['succeeded', 'failed'], 15_000);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, result: { attempt: 2 } });
    const retryLine = h.logLines.find((l) => l.task_id === later.id && l.msg === 'task failed; retry scheduled');
    expect(retryLine).toMatchObject({ retry_in_ms: 300, error: { type: 'JOB_RETRY_LATER', message: 'the upstream is busy' } });
    expect(await h.waitForStatus(lying.id, ['failed'])).toMatchObject({ attempts: 1, error: { type: 'INVALID_JOB_RESULT', retryable: false } });
  });
});
