import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newTaskId, newTraceId } from '@celerity/core';
import { verifyWebhook } from '@celerity/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorkerHarness, type WorkerHarness } from '../harness.js';

const SECRET = 'whsec-test';
const FAST_RETRIES = { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_DELAY: '0.2', WEBHOOK_RETRY_DELAY_MAX: '0.4', WEBHOOK_TIMEOUT: '2' };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

/** A real HTTP receiver that checks every signature with the SDK and answers what `answer` says. */
async function startReceiver(answer: (n: number) => number): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = true;
      try {
        verifyWebhook(SECRET, req.headers, body, 60);
      } catch {
        verified = false;
      }
      received.push({ headers: req.headers, body, verified });
      res.writeHead(answer(received.length)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/celerity`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let h: WorkerHarness | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

const callbackOf = async (harness: WorkerHarness, id: string) => (await harness.store.get(id))?.callback;

describe('webhook callbacks (real receiver, RabbitMQ and Redis)', () => {
  it('retries a failing receiver with backoff across a worker restart, then delivers a signed payload; the event id is the same on every attempt', async () => {
    receiver = await startReceiver((n) => (n <= 2 ? 500 : 204));
    h = await startWorkerHarness(FAST_RETRIES);
    const first = await h.startWorker({ concurrency: 1 });
    const task = await h.submit({ task: 'demo.echo', input: { rows: 3 }, callback_url: receiver.url, metadata: { order: 'A-1' } });
    expect(task.callback).toEqual({ url: receiver.url, state: 'pending', attempts: 0, last_status: null, last_error: null });

    await expect.poll(() => receiver!.received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await first.close(); // the pending delivery lives in Redis, not in this worker
    await h.startWorker({ concurrency: 1 });

    await expect.poll(() => callbackOf(h!, task.id), { timeout: 10_000 }).toMatchObject({ state: 'delivered' });
    expect(await callbackOf(h, task.id)).toEqual({ url: receiver.url, state: 'delivered', attempts: 3, last_status: 204, last_error: null });
    expect(receiver.received).toHaveLength(3);
    for (const r of receiver.received) {
      expect(r.verified).toBe(true);
      expect(r.headers['celerity-event-id']).toBe(task.id);
      expect(r.headers['x-trace-id']).toBe(task.trace_id);
      expect(r.headers['content-type']).toBe('application/json');
    }
    const payload = JSON.parse(receiver.received[2]!.body);
    expect(payload).toEqual({
      id: task.id,
      task: 'demo.echo',
      status: 'succeeded',
      result: { rows: 3 },
      error: null,
      attempts: 1,
      finished_at: expect.any(String),
      trace_id: task.trace_id,
      metadata: { order: 'A-1' },
    });
    const logs = h.logLines.filter((l) => l.task_id === task.id && typeof l.msg === 'string' && l.msg.startsWith('callback'));
    expect(logs.map((l) => l.msg)).toEqual(['callback not delivered; will retry', 'callback not delivered; will retry', 'callback delivered']);
  });

  it('calls back for every finished state (failed, cancelled), gives up after WEBHOOK_MAX_ATTEMPTS, and sends a failed callback again on request', async () => {
    let accept = false;
    receiver = await startReceiver(() => (accept ? 200 : 503));
    h = await startWorkerHarness({ ...FAST_RETRIES, WEBHOOK_MAX_ATTEMPTS: '2' });
    await h.startWorker({ concurrency: 1 });
    const failing = await h.submit({ task: 'demo.fail', input: { message: 'nope' }, max_retries: 0, callback_url: receiver.url });
    const cancelled = await h.submit({ task: 'demo.echo', countdown: 60, callback_url: receiver.url });
    await h.store.cancel(cancelled.id, false);

    await expect.poll(() => callbackOf(h!, failing.id), { timeout: 10_000 }).toMatchObject({ state: 'failed' });
    expect(await callbackOf(h, failing.id)).toMatchObject({ attempts: 2, last_status: 503, last_error: 'HTTP 503' });
    await expect.poll(() => callbackOf(h!, cancelled.id), { timeout: 10_000 }).toMatchObject({ state: 'failed' });
    const statuses = receiver.received.map((r) => JSON.parse(r.body) as { id: string; status: string; error: unknown });
    expect(statuses.find((p) => p.id === failing.id)).toMatchObject({ status: 'failed', error: { type: 'Error', message: 'nope' } });
    expect(statuses.find((p) => p.id === cancelled.id)).toMatchObject({ status: 'cancelled' });

    accept = true;
    expect(await h.store.callbacks.retry(failing.id)).toBe('ok');
    expect(await h.store.callbacks.retry(failing.id)).toBe('pending');
    await expect.poll(() => callbackOf(h!, failing.id), { timeout: 10_000 }).toMatchObject({ state: 'delivered', attempts: 1, last_status: 200 });
  });

  it('does not let a receiver that never answers hold up the callbacks of other tasks', async () => {
    const hanging = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    receiver = await startReceiver(() => 204);
    try {
      h = await startWorkerHarness({ ...FAST_RETRIES, WEBHOOK_TIMEOUT: '5' });
      await h.startWorker({ concurrency: 1 });
      const slow = await h.submit({ task: 'demo.echo', callback_url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook` });
      await h.waitForStatus(slow.id, ['succeeded']);
      const fast = await h.submit({ task: 'demo.echo', callback_url: receiver.url });
      await expect.poll(() => callbackOf(h!, fast.id), { timeout: 10_000 }).toMatchObject({ state: 'delivered' });
      expect(await callbackOf(h, slow.id)).toMatchObject({ state: 'pending', attempts: 0 }); // its first attempt is still waiting
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });

  it('checks the address again at delivery: a callback whose host resolves to loopback is refused without a request', async () => {
    receiver = await startReceiver(() => 204);
    // the worker does not allow private addresses; the record is written directly, as if the name had resolved elsewhere at submit
    h = await startWorkerHarness({ ...FAST_RETRIES, WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_MAX_ATTEMPTS: '1' });
    await h.startWorker({ concurrency: 1 });
    const port = new URL(receiver.url).port;
    const [record] = await h.store.createRecords([
      { id: newTaskId(), task: 'demo.echo', queue: 'default', priority: 5, input: 1, max_retries: 0, time_limit: null, soft_time_limit: null, retry_on_timeout: false, trace_id: newTraceId(), metadata: null, callback_url: `http://localhost:${port}/hook`, eta: null },
    ]);
    await h.store.start(record!.id, 'test', false);
    await h.store.finish(record!.id, { status: 'failed', error: { type: 'Error', message: 'x', retryable: false } });

    await expect.poll(() => callbackOf(h!, record!.id), { timeout: 10_000 }).toMatchObject({ state: 'failed' });
    expect((await callbackOf(h, record!.id))!.last_error).toMatch(/loopback/);
    expect(receiver.received).toHaveLength(0);
  });
});
