import { afterEach, describe, expect, it } from 'vitest';
import { startWorkerHarness, type WorkerHarness } from '../harness.js';

const JOBS_ROOT = new URL('../fixtures/jobs', import.meta.url).pathname;

let h: WorkerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('worker, when a job ends its own execution thread', () => {
  it('fails the tasks that were on it retryably (it cannot tell which one did it), starts a new thread and goes on', async () => {
    h = await startWorkerHarness({ JOBS_ROOT, WORKER_THREADS: '1', TASK_RETRY_DELAY: '0.1', TASK_RETRY_DELAY_MAX: '0.2' });
    await h.startWorker({ concurrency: 2 }); // both tasks on the one thread
    const neighbour = await h.submit({ task: 'crash.nap', input: { ms: 1_000 }, max_retries: 1 });
    await h.waitForStatus(neighbour.id, ['running']);
    const crasher = await h.submit({ task: 'crash.exitThread', max_retries: 0 });

    expect((await h.waitForStatus(crasher.id, ['failed'])).error).toMatchObject({ type: 'EXECUTION_THREAD_CRASHED' });
    expect(await h.waitForStatus(neighbour.id, ['succeeded'], 10_000)).toMatchObject({ attempts: 2, result: { slept_ms: 1_000 } });
    const after = await h.submit({ task: 'crash.nap', input: { ms: 1 } });
    expect(await h.waitForStatus(after.id, ['succeeded'])).toMatchObject({ attempts: 1 });
  });
});
