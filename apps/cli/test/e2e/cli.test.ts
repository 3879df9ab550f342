import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupNamespace, freePort, testAmqpUrl, testNamespace, testRedisUrl, waitFor } from '@celerity/testkit';

const CLI = new URL('../../dist/main.js', import.meta.url).pathname;
const ROOT = new URL('../../../../', import.meta.url).pathname;

interface Spawned {
  child: ChildProcess;
  output: () => string;
}

function celerity(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}

const running: Spawned[] = [];
let ns: string | undefined;
afterEach(async () => {
  for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  if (ns) await cleanupNamespace(ns);
  ns = undefined;
});

describe('celerity CLI (spawned processes)', () => {
  it('`start` serves the API and runs tasks; SIGTERM drains and exits 0', async () => {
    ns = testNamespace();
    const port = await freePort();
    const proc = celerity(['start'], { NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), WORKER_CONCURRENCY: '1' });
    running.push(proc);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/health`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 15_000, what: 'the API to answer' });

    const submitted = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-trace-id': 'cli-e2e-trace' },
      body: JSON.stringify({ task: 'reports.monthly.generate', input: { month: '2026-11' } }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const done = await waitFor(
      async () => {
        const record = (await (await fetch(`${base}/tasks/${id}`)).json()) as { status: string; result: unknown };
        return record.status === 'succeeded' ? record : undefined;
      },
      { what: 'the task to succeed' },
    );
    expect(done.result).toEqual({ month: '2026-11', rows: 42 });
    expect((await fetch(`${base}/docs/`)).status).toBe(200);

    const logLines = proc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const aboutTask = logLines.filter((l) => l.task_id === id);
    expect(aboutTask.length).toBeGreaterThanOrEqual(3);
    for (const line of aboutTask) expect(line.trace_id).toBe('cli-e2e-trace');

    proc.child.kill('SIGTERM');
    const [code] = (await once(proc.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(proc.output()).toContain('shutdown complete');
  });

  it('streams a task run by a worker process from another API replica than the one it was submitted to (Redis pub/sub)', async () => {
    ns = testNamespace();
    const [port1, port2] = [await freePort(), await freePort()];
    const env = { NAMESPACE: ns, RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), WORKER_CONCURRENCY: '1' };
    const api1 = celerity(['api'], { ...env, PORT: String(port1) });
    const api2 = celerity(['api'], { ...env, PORT: String(port2) });
    const worker = celerity(['worker'], env);
    running.push(api1, api2, worker);
    for (const port of [port1, port2]) {
      await waitFor(() => fetch(`http://127.0.0.1:${port}/health`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 15_000, what: `the API on ${port}` });
    }
    await waitFor(() => (worker.output().includes('worker started') ? true : undefined), { what: 'the worker' });

    const submitted = await fetch(`http://127.0.0.1:${port1}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'demo.countdown', input: { steps: 3, step_ms: 300 } }),
    });
    const { id } = (await submitted.json()) as { id: string };
    // the stream ends by itself after the final status, so the whole body can be read
    const text = await (await fetch(`http://127.0.0.1:${port2}/tasks/${id}/events`)).text();
    const events = text
      .split('\n\n')
      .filter((block) => block.includes('data: '))
      .map((block) => ({ event: /^event: (.+)$/m.exec(block)?.[1], data: JSON.parse(/^data: (.+)$/m.exec(block)![1]!) as Record<string, unknown> }));
    expect(events[0]!.event).toBe('state');
    expect(events.filter((e) => e.event === 'progress').map((e) => e.data.percent)).toEqual(expect.arrayContaining([67, 100]));
    expect(events.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded', record: { result: { steps: 3 } } } });
  });

  it('runs a task again on another worker when its worker is killed mid-task; a task that keeps killing workers ends failed and dead-lettered', async () => {
    ns = testNamespace();
    const port = await freePort();
    const env = { NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), WORKER_CONCURRENCY: '1' };
    const api = celerity(['api'], env);
    const first = celerity(['worker'], env);
    running.push(api, first);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/health`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 15_000, what: 'the API' });
    await waitFor(() => (first.output().includes('worker started') ? true : undefined), { what: 'the first worker' });

    const submit = async (body: object) => ((await (await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id: string });
    const record = async (id: string) => (await (await fetch(`${base}/tasks/${id}`)).json()) as { status: string; attempts: number; worker: string; error: { type: string } | null };
    const survivor = await submit({ task: 'demo.sleep', input: { ms: 1_500 }, max_retries: 1 });
    const poison = await submit({ task: 'demo.sleep', input: { ms: 1_500 }, max_retries: 0 });
    const firstRun = await waitFor(async () => ((await record(survivor.id)).status === 'running' ? record(survivor.id) : undefined), { what: 'the task to run' });

    first.child.kill('SIGKILL'); // dies holding the unacked delivery
    await once(first.child, 'exit');
    const second = celerity(['worker'], env);
    running.push(second);
    const done = await waitFor(async () => {
      const r = await record(survivor.id);
      return r.status === 'succeeded' ? r : undefined;
    }, { timeoutMs: 15_000, what: 'the redelivered task to succeed' });
    expect(done.attempts).toBe(2);
    expect(done.worker).not.toBe(firstRun.worker);

    // the poison task: kill the second worker while it runs it; max_retries 0 allows one run only
    await waitFor(async () => ((await record(poison.id)).status === 'running' ? true : undefined), { timeoutMs: 10_000, what: 'the poison task to run' });
    second.child.kill('SIGKILL');
    await once(second.child, 'exit');
    const third = celerity(['worker'], env);
    running.push(third);
    const lost = await waitFor(async () => {
      const r = await record(poison.id);
      return r.status === 'failed' ? r : undefined;
    }, { timeoutMs: 15_000, what: 'the poison task to fail' });
    expect(lost).toMatchObject({ attempts: 1, error: { type: 'WORKER_LOST' } });
    const dead = (await (await fetch(`${base}/dead-letters`)).json()) as { items: { task_id: string; reason: string }[] };
    expect(dead.items).toEqual([expect.objectContaining({ task_id: poison.id, reason: 'worker_lost' })]);
  });

  it('runs a task acked at start (longer than consumer_timeout allows) again when its worker is killed and its lease runs out', async () => {
    ns = testNamespace();
    const port = await freePort();
    // a 2 s consumer timeout makes a 5 s time limit "long": acked at start, guarded by a 3 s lease
    // (renewed every second, so a loaded machine's event-loop lag cannot let it run out while the worker lives)
    const env = { NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), WORKER_CONCURRENCY: '1', BROKER_CONSUMER_TIMEOUT: '2', TASK_LEASE: '3' };
    const api = celerity(['api'], env);
    const first = celerity(['worker'], env);
    running.push(api, first);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/health`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 15_000, what: 'the API' });
    await waitFor(() => (first.output().includes('worker started') ? true : undefined), { what: 'the first worker' });

    const res = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'demo.sleep', input: { ms: 3_000 }, time_limit: 5 }) });
    const { id } = (await res.json()) as { id: string };
    const record = async () => (await (await fetch(`${base}/tasks/${id}`)).json()) as { status: string; attempts: number; worker: string };
    const firstRun = await waitFor(async () => ((await record()).status === 'running' ? record() : undefined), { what: 'the task to run' });
    await waitFor(() => (first.output().includes('"leased":true') ? true : undefined), { what: 'the early ack' });

    first.child.kill('SIGKILL'); // its message is already acked: only the lease can bring the task back
    await once(first.child, 'exit');
    const second = celerity(['worker'], env);
    running.push(second);
    const done = await waitFor(async () => {
      const r = await record();
      return r.status === 'succeeded' ? r : undefined;
    }, { timeoutMs: 15_000, what: 'the leased task to run again and succeed' });
    const story = `first worker:\n${first.output()}\nsecond worker:\n${second.output()}`;
    expect(done.attempts, story).toBe(2);
    expect(done.worker, story).not.toBe(firstRun.worker);
    expect(second.output(), story).toContain('lease ran out (worker gone): tasks rescheduled');
  });

  it('says in one line what to do when RabbitMQ is unreachable, and exits 1', async () => {
    const port = await freePort();
    const closed = await freePort();
    const proc = celerity(['start'], { PORT: String(port), RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${closed}`, REDIS_URL: testRedisUrl(), LOG_LEVEL: 'silent' });
    running.push(proc);
    const [code] = (await once(proc.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^celerity: RabbitMQ is not reachable at amqp:\/\/127\.0\.0\.1:\d+: start it with `rabbitmq-server -detached`/);
  });

  it('refuses bad configuration naming every bad variable, and exits 1', async () => {
    const proc = celerity(['api'], { PORT: 'eighty', RESULT_EXPIRES: '-5' });
    running.push(proc);
    const [code] = (await once(proc.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(proc.output()).toContain('PORT');
    expect(proc.output()).toContain('RESULT_EXPIRES');
    expect(proc.output()).not.toContain('    at ');
  });
});
