import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '@celerity/testkit';
import { startWorkerHarness, type WorkerHarness } from '../harness.js';

let h: WorkerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('worker heartbeats and control through Redis (real RabbitMQ and Redis)', () => {
  it('registers with a heartbeat (id, host, pid, version, queues, concurrency, running, counts, RSS), beats again, and leaves the list when it stops', async () => {
    h = await startWorkerHarness({ WORKER_HEARTBEAT: '0.2' });
    const worker = await h.startWorker({ concurrency: 2, queues: ['default', 'low_priority'] });
    const first = await h.store.workers.get(worker.name);
    expect(first).toMatchObject({
      id: worker.name,
      status: 'alive',
      state: 'running',
      pid: process.pid,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      queues: ['default', 'low_priority'],
      paused_queues: [],
      concurrency: 2,
      running: [],
      processed: 0,
      failed: 0,
      heartbeat_interval: 0.2,
    });
    expect(first!.rss_bytes).toBeGreaterThan(10_000_000);
    const slow = await h.submit({ task: 'demo.sleep', input: { ms: 1_500 } });
    await h.submit({ task: 'demo.fail', input: { message: 'no' }, max_retries: 0 });
    const busy = await waitFor(async () => {
      const w = await h!.store.workers.get(worker.name);
      return w && w.running.includes(slow.id) && w.failed === 1 ? w : undefined;
    }, { what: 'a heartbeat with the running task and the failure' });
    expect(busy).toMatchObject({ processed: 1, unacked: { default: 1, low_priority: 0 } });
    expect(Date.parse(busy.last_seen)).toBeGreaterThan(Date.parse(first!.last_seen));
    expect((await h.store.workers.list()).map((w) => w.id)).toEqual([worker.name]);
    await h.waitForStatus(slow.id, ['succeeded']);
    await worker.close();
    expect(await h.store.workers.get(worker.name)).toBeUndefined();
    expect(await h.store.workers.list()).toEqual([]);
  });

  it('shows a worker lost after three missed heartbeats', async () => {
    h = await startWorkerHarness();
    const now = Date.now();
    await h.store.workers.beat({
      id: 'gone:1:abcd', host: 'gone', pid: 1, version: '0.1.0', queues: ['default'], paused_queues: [], state: 'running', concurrency: 1, running: [],
      unacked: {}, processed: 0, failed: 0, rss_bytes: 1, started_at: new Date(now - 60_000).toISOString(), last_seen: new Date(now - 16_000).toISOString(), heartbeat_interval: 5,
    });
    expect(await h.store.workers.get('gone:1:abcd')).toMatchObject({ status: 'lost' });
    expect(await h.store.workers.get('gone:1:abcd', now - 10_000)).toMatchObject({ status: 'alive' });
    expect(await h.store.workers.list(now + 300_000)).toEqual([]); // listed no longer than 5 minutes after its last heartbeat
  });

  it('pauses one queue (its consumer cancelled, what waited for a slot handed back, the running task finishing), resumes it, then shuts down on request', async () => {
    h = await startWorkerHarness({ WORKER_HEARTBEAT: '0.2' });
    const stops: string[] = [];
    const worker = await h.startWorker({ concurrency: 1, queues: ['default', 'low_priority'], onStopRequested: (reason) => stops.push(reason) });
    const running = await h.submit({ task: 'demo.sleep', input: { ms: 1_000 } });
    const waitingForSlot = await h.submit({ task: 'demo.echo', input: 'waited' });
    await h.waitForStatus(running.id, ['running']);

    await h.store.workers.control({ type: 'pause', worker: worker.name, queues: ['default'] });
    await waitFor(async () => ((await h!.store.workers.get(worker.name))?.paused_queues.includes('default') ? true : undefined), { what: 'paused in the heartbeat' });
    expect(await h.broker.queueStats('default')).toMatchObject({ consumers: 0 });
    expect((await h.broker.queueStats('low_priority')).consumers).toBe(1);
    expect(await h.waitForStatus(running.id, ['succeeded'])).toMatchObject({ worker: worker.name });
    await waitFor(async () => ((await h!.broker.queueStats('default')).ready === 1 ? true : undefined), { what: 'the waiting delivery back in the queue' });
    const later = await h.submit({ task: 'demo.echo', input: 'later' });
    const other = await h.submit({ task: 'demo.echo', input: 'other', queue: 'low_priority' });
    await h.waitForStatus(other.id, ['succeeded']);
    expect((await h.store.get(waitingForSlot.id))!.status).toBe('pending');
    expect((await h.store.get(later.id))!.status).toBe('pending');
    expect(await h.store.workers.get(worker.name)).toMatchObject({ state: 'running', paused_queues: ['default'] });

    await h.store.workers.control({ type: 'pause', worker: 'someone-else', queues: null }); // not for this worker
    await h.store.workers.control({ type: 'resume', worker: worker.name, queues: null });
    await h.waitForStatus(waitingForSlot.id, ['succeeded']);
    await h.waitForStatus(later.id, ['succeeded']);
    expect(await h.store.workers.get(worker.name)).toMatchObject({ state: 'running', paused_queues: [] });

    await h.store.workers.control({ type: 'pause', worker: worker.name, queues: null });
    await waitFor(async () => ((await h!.store.workers.get(worker.name))?.state === 'paused' ? true : undefined), { what: 'every queue paused' });
    await h.store.workers.control({ type: 'shutdown', worker: worker.name });
    await waitFor(() => (stops.length > 0 ? true : undefined), { what: 'the stop request' });
    expect(stops).toEqual(['shutdown requested']);
  });

  it('serves GET /health on WORKER_HEALTH_PORT while it consumes, and nothing else', async () => {
    const port = await freePort();
    h = await startWorkerHarness({ WORKER_HEALTH_PORT: String(port) });
    const worker = await h.startWorker({ concurrency: 1 });
    expect(worker.healthPort).toBe(port);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', broker: 'consuming' });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    await worker.close();
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow(); // closed with the worker
  });

  it('burst: asks to stop once its queues are drained', async () => {
    h = await startWorkerHarness();
    for (let i = 0; i < 5; i++) await h.submit({ task: 'demo.echo', input: i });
    const stops: string[] = [];
    await h.startWorker({ concurrency: 2, burst: true, onStopRequested: (reason) => stops.push(reason) });
    await waitFor(() => (stops.length > 0 ? true : undefined), { what: 'the burst worker to finish' });
    expect(stops).toEqual(['queues drained']);
    const list = await h.store.list({ limit: 10 });
    expect(list.items.map((t) => t.status)).toEqual(Array(5).fill('succeeded'));
  });
});
