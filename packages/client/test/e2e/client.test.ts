import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupNamespace, freePort, tcpProxy, testAmqpUrl, testNamespace, testRedisUrl, waitFor } from '@celerity/testkit';
import { ApiError, createClient, WaitTimeoutError, type TaskEvent } from '../../src/index.js';

const CLI = new URL('../../../../apps/cli/dist/main.js', import.meta.url).pathname;
const ROOT = new URL('../../../../', import.meta.url).pathname;

function celerity(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: 'ignore' });
  children.push(child);
  return child;
}

async function ready(base: string): Promise<void> {
  await waitFor(() => fetch(`${base}/health`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 20_000, what: `the API at ${base}` });
}

/**
 * Once the API has seen its Redis connection close, every request answers 503 at once. A command
 * written to the dying socket just before waits for Redis to come back instead (ioredis resends it
 * after reconnecting), so the test submits only after this.
 */
async function apiSeesRedisGone(apiBase: string): Promise<void> {
  await waitFor(
    () => fetch(`${apiBase}/ready`, { signal: AbortSignal.timeout(1_000) }).then((r) => (r.status === 503 ? true : undefined), () => undefined),
    { what: 'the API to see Redis gone' },
  );
}

/** A fetch that notes each request's method, path, status and headers, then does the real thing. */
function observedFetch() {
  const seen: { method: string; path: string; status: number | 'error'; headers: Record<string, string> }[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const entry = { method: init?.method ?? 'GET', path: url.pathname + url.search, status: 'error' as number | 'error', headers: { ...(init?.headers as Record<string, string>) } };
    seen.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    return response;
  };
  return { seen, fetch: fetcher };
}

const children: ChildProcess[] = [];
const proxies: { close(): void }[] = [];
let ns: string;
let base: string;

beforeAll(async () => {
  ns = testNamespace();
  const port = await freePort();
  celerity(['start'], { NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), WORKER_CONCURRENCY: '2' });
  base = `http://127.0.0.1:${port}`;
  await ready(base);
}, 30_000);

afterAll(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const p of proxies.splice(0)) p.close();
  await cleanupNamespace(ns);
});

describe('@celerity/client against a running service', () => {
  it('submits, waits through the event stream (no polling) and reads the result', async () => {
    const observer = observedFetch();
    const client = createClient({ baseUrl: base, fetch: observer.fetch });
    const submitted = await client.submit('demo.countdown', { steps: 3, step_ms: 100 }, { metadata: { who: 'client test' } });
    expect(submitted.status).toBe('pending');
    const done = await client.wait(submitted, { timeout: 15_000 });
    expect(done).toMatchObject({ id: submitted.id, status: 'succeeded', result: { steps: 3 }, metadata: { who: 'client test' } });
    // one POST, one event stream: no GET /tasks/:id loop
    expect(observer.seen.map((r) => `${r.method} ${r.path.replace(submitted.id, ':id')}`)).toEqual(['POST /tasks', 'GET /tasks/:id/events']);
    expect(observer.seen[0]!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(await client.get(submitted.id)).toMatchObject({ status: 'succeeded', result: { steps: 3 } });
  });

  it('an Idempotency-Key given twice makes one task; submitBatch makes one each', async () => {
    const client = createClient({ baseUrl: base });
    const first = await client.submit('demo.echo', { n: 1 }, { idempotencyKey: `k-${ns}` });
    const again = await client.submit('demo.echo', { n: 1 }, { idempotencyKey: `k-${ns}` });
    expect(again.id).toBe(first.id);
    const batch = await client.submitBatch([{ task: 'demo.echo', input: { n: 2 } }, { task: 'demo.noop' }]);
    expect(batch.map((t) => t.task)).toEqual(['demo.echo', 'demo.noop']);
    expect((await client.wait(batch[0]!, { timeout: 10_000 })).result).toEqual({ n: 2 });
  });

  it('throws ApiError with the problem code; wait gives up with WaitTimeoutError; cancel', async () => {
    const client = createClient({ baseUrl: base });
    await expect(client.get('0190f0f0-0000-7000-8000-000000000000')).rejects.toMatchObject({ name: 'ApiError', status: 404, code: 'TASK_NOT_FOUND' });
    const unknown = await client.submit('nowhere.job', {}).catch((err: unknown) => err);
    expect(unknown).toBeInstanceOf(ApiError);
    expect(unknown).toMatchObject({ status: 422, code: 'UNKNOWN_JOB' });
    const bad = await client.submit('demo.echo', {}, { priority: 99 }).catch((err: unknown) => err);
    expect(bad).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((bad as ApiError).problem.errors?.[0]?.field).toBe('body.priority');

    const slow = await client.submit('demo.sleep', { ms: 10_000 });
    const started = Date.now();
    await expect(client.wait(slow.id, { timeout: 500 })).rejects.toBeInstanceOf(WaitTimeoutError);
    expect(Date.now() - started).toBeLessThan(3_000);
    const cancelled = await client.cancel(slow.id);
    expect(cancelled).toMatchObject({ id: slow.id, status: 'cancelled' });
    expect((await client.wait(slow.id, { timeout: 10_000 })).status).toBe('cancelled');
    await expect(client.cancel(slow.id)).rejects.toMatchObject({ status: 409, code: 'TASK_ALREADY_FINISHED' });
  });

  it('list walks every page; deadLetters, jobs and schedules', async () => {
    const client = createClient({ baseUrl: base });
    const ids = new Set<string>();
    for (let i = 0; i < 5; i += 1) ids.add((await client.submit('demo.noop', undefined, { metadata: { page_test: true } })).id);
    const observer = observedFetch();
    const listing = createClient({ baseUrl: base, fetch: observer.fetch });
    const seen: string[] = [];
    for await (const task of listing.list({ task: 'demo.noop', limit: 2 })) seen.push(task.id);
    expect(seen.filter((id) => ids.has(id))).toHaveLength(5);
    expect(observer.seen.length).toBeGreaterThanOrEqual(3); // pages of 2

    const doomed = await client.submit('demo.fail', { message: 'for the dead letters' }, { max_retries: 0 });
    expect((await client.wait(doomed, { timeout: 10_000 })).status).toBe('failed');
    const letters = [];
    for await (const letter of client.deadLetters.list()) letters.push(letter);
    const letter = letters.find((l) => l.task_id === doomed.id);
    expect(letter).toMatchObject({ reason: 'failed', task: 'demo.fail' });
    const again = await client.deadLetters.retry(letter!.id);
    expect(again).toMatchObject({ task: 'demo.fail', status: 'pending' });
    await expect(client.deadLetters.get(letter!.id)).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });

    expect((await client.jobs.list()).items.map((j) => j.name)).toContain('reports.monthly.generate');
    expect(await client.jobs.get('reports.monthly.generate')).toMatchObject({ time_limit: 120, input_schema: { required: ['month'] } });

    const name = `client-${ns}`;
    const created = await client.schedules.create({ name, task: 'demo.noop', every: 3600 });
    expect(created).toMatchObject({ name, task: 'demo.noop' });
    expect((await client.schedules.list()).map((s) => s.name)).toContain(name);
    expect((await client.schedules.pause(name)).paused).toBe(true);
    const fired = await client.schedules.trigger(name);
    expect(fired.schedule).toMatchObject({ name });
    await client.schedules.delete(name);
    await expect(client.schedules.get(name)).rejects.toMatchObject({ status: 404, code: 'SCHEDULE_NOT_FOUND' });
  });

  it('events() resumes with Last-Event-ID after the stream drops: every event once, in order', async () => {
    const proxy = await tcpProxy(Number(new URL(base).port));
    proxies.push(proxy);
    const observer = observedFetch();
    const client = createClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, fetch: observer.fetch });
    const task = await client.submit('demo.countdown', { steps: 6, step_ms: 250 });
    const events: TaskEvent[] = [];
    let drops = 0;
    for await (const event of client.events(task.id)) {
      events.push(event);
      // twice, right after a progress event: the connection is reset under the reader
      if (event.event === 'progress' && drops < 2) {
        drops += 1;
        proxy.cut(false);
      }
    }
    const streams = observer.seen.filter((r) => r.path.endsWith('/events'));
    expect(streams.length).toBeGreaterThanOrEqual(3);
    expect(streams[0]!.headers['last-event-id']).toBeUndefined();
    expect(streams[1]!.headers['last-event-id']).toMatch(/^\d+$/);
    const ids = events.filter((e) => e.event !== 'state').map((e) => Number(e.id));
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b)); // no repeats, in order
    const percents = events.flatMap((e) => (e.event === 'progress' ? [e.data.percent] : []));
    expect(percents).toEqual([17, 33, 50, 67, 83, 100]);
    expect(events.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded', record: { result: { steps: 6 } } } });
  });

  it('the example app (examples/client-app) submits, follows progress and waits', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/client-app/report.ts', '2026-12'], { cwd: ROOT, env: { ...process.env, CELERITY_URL: base }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, output).toBe(0);
    expect(output).toMatch(/^submitted demo\.countdown as [0-9a-f-]{36} \(queue default\)$/m);
    expect(output).toContain('  25% step 1 of 4\n');
    expect(output).toContain('  100% step 4 of 4\n');
    expect(output).toContain('  succeeded\n');
    expect(output).toContain('report for 2026-12: 42 rows\n');
  });

  it('retries a 503 after its Retry-After, and a retried submit keeps its Idempotency-Key', async () => {
    const redis = new URL(testRedisUrl());
    const proxy = await tcpProxy(Number(redis.port || 6379));
    proxies.push(proxy);
    const port = await freePort();
    const behind = new URL(testRedisUrl());
    behind.host = `127.0.0.1:${proxy.port}`;
    celerity(['api'], { NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: behind.href });
    const apiBase = `http://127.0.0.1:${port}`;
    await ready(apiBase);
    const observer = observedFetch();
    const client = createClient({ baseUrl: apiBase, fetch: observer.fetch });

    proxy.cut(true); // Redis is gone for this API: it answers 503 STORE_UNAVAILABLE with Retry-After
    await apiSeesRedisGone(apiBase);
    const started = Date.now();
    const submitting = client.submit('demo.echo', { during: 'outage' });
    await waitFor(() => (observer.seen.some((r) => r.status === 503) ? true : undefined), { what: 'a 503' });
    proxy.restore();
    const task = await submitting;
    const waitedMs = Date.now() - started;

    const submits = observer.seen.filter((r) => r.method === 'POST');
    expect(submits.map((r) => r.status)).toEqual([...submits.slice(0, -1).map(() => 503), 202]);
    expect(new Set(submits.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(waitedMs).toBeGreaterThanOrEqual(4_500); // Retry-After: 5
    expect((await client.wait(task, { timeout: 10_000 })).result).toEqual({ during: 'outage' });

    // with retries off the 503 reaches the caller, typed
    proxy.cut(true);
    await apiSeesRedisGone(apiBase);
    const impatient = createClient({ baseUrl: apiBase, maxRetries: 0 });
    await expect(impatient.get(task.id)).rejects.toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', retryAfterSeconds: 5 });
    proxy.restore();
  });
});
