import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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

interface TaskView {
  id: string;
  status: string;
  attempts: number;
  worker: string;
  result: unknown;
  error: { type: string } | null;
}

/** The HTTP side of one API process, as a client sees it. */
function apiAt(port: number) {
  const base = `http://127.0.0.1:${port}`;
  const record = async (id: string) => (await (await fetch(`${base}/tasks/${id}`)).json()) as TaskView;
  return {
    base,
    ready: () => waitFor(() => fetch(`${base}/health`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 15_000, what: `the API on ${port}` }),
    submit: async (body: object, headers: Record<string, string> = {}) =>
      (await (await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })).json()) as TaskView,
    record,
    /** polls the record until it has `status` */
    reaches: (id: string, status: string, timeoutMs = 15_000) =>
      waitFor(async () => {
        const r = await record(id);
        return r.status === status ? r : undefined;
      }, { timeoutMs, what: `task ${id} to be ${status}` }),
  };
}

/** Deliveries of a queue that the broker still waits to see acked. */
function unacked(queue: string): number {
  const out = execFileSync('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name', 'messages_unacknowledged'], { encoding: 'utf8', timeout: 30_000 });
  const row = out.split('\n').find((line) => line.split('\t')[0] === queue);
  return row ? Number(row.split('\t')[1]) : -1;
}

const logged = (proc: Spawned, text: string) => waitFor(() => (proc.output().includes(text) ? true : undefined), { what: `"${text}" in the output` });

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
    const api = apiAt(port);
    await api.ready();

    const submitted = await fetch(`${api.base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-trace-id': 'cli-e2e-trace' },
      body: JSON.stringify({ task: 'reports.monthly.generate', input: { month: '2026-11' } }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const done = await api.reaches(id, 'succeeded');
    expect(done.result).toEqual({ month: '2026-11', rows: 42 });
    expect((await fetch(`${api.base}/docs/`)).status).toBe(200);

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
    const worker = celerity(['worker'], env);
    running.push(celerity(['api'], { ...env, PORT: String(port1) }), celerity(['api'], { ...env, PORT: String(port2) }), worker);
    const [api1, api2] = [apiAt(port1), apiAt(port2)];
    await api1.ready();
    await api2.ready();
    await logged(worker, 'worker started');

    const { id } = await api1.submit({ task: 'demo.countdown', input: { steps: 3, step_ms: 300 } });
    // the stream ends by itself after the final status, so the whole body can be read
    const text = await (await fetch(`${api2.base}/tasks/${id}/events`)).text();
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
    const first = celerity(['worker'], env);
    running.push(celerity(['api'], env), first);
    const api = apiAt(port);
    await api.ready();
    await logged(first, 'worker started');

    const survivor = await api.submit({ task: 'demo.sleep', input: { ms: 1_500 }, max_retries: 1 });
    const poison = await api.submit({ task: 'demo.sleep', input: { ms: 1_500 }, max_retries: 0 });
    const firstRun = await api.reaches(survivor.id, 'running', 10_000);

    first.child.kill('SIGKILL'); // dies holding the unacked delivery
    await once(first.child, 'exit');
    const second = celerity(['worker'], env);
    running.push(second);
    const done = await api.reaches(survivor.id, 'succeeded');
    expect(done.attempts).toBe(2);
    expect(done.worker).not.toBe(firstRun.worker);

    // the poison task: kill the second worker while it runs it; max_retries 0 allows one run only
    await api.reaches(poison.id, 'running', 10_000);
    second.child.kill('SIGKILL');
    await once(second.child, 'exit');
    const third = celerity(['worker'], env);
    running.push(third);
    const lost = await api.reaches(poison.id, 'failed');
    expect(lost).toMatchObject({ attempts: 1, error: { type: 'WORKER_LOST' } });
    const dead = (await (await fetch(`${api.base}/dead-letters`)).json()) as { items: { task_id: string; reason: string }[] };
    expect(dead.items).toEqual([expect.objectContaining({ task_id: poison.id, reason: 'worker_lost' })]);
  });

  it('runs a task acked at start (longer than consumer_timeout allows) again when its worker is killed and its lease runs out', async () => {
    ns = testNamespace();
    const port = await freePort();
    // a 2 s consumer timeout makes an 8 s time limit "long": acked at start, guarded by a 3 s lease
    // (renewed every second, so a loaded machine's event-loop lag cannot let it run out while the worker lives)
    const env = { NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), WORKER_CONCURRENCY: '1', BROKER_CONSUMER_TIMEOUT: '2', TASK_LEASE: '3' };
    const first = celerity(['worker'], env);
    running.push(celerity(['api'], env), first);
    const api = apiAt(port);
    await api.ready();
    await logged(first, 'worker started');

    const { id } = await api.submit({ task: 'demo.sleep', input: { ms: 4_000 }, time_limit: 8 });
    const firstRun = await api.reaches(id, 'running', 10_000);
    await logged(first, '"leased":true');
    // the early ack is on its way; wait until the broker has it, or the kill could still get the message redelivered
    await waitFor(() => (unacked(`${ns}.default`) === 0 ? true : undefined), { what: 'the broker to have the early ack' });

    first.child.kill('SIGKILL'); // its message is already acked: only the lease can bring the task back
    await once(first.child, 'exit');
    const second = celerity(['worker'], env);
    running.push(second);
    const done = await api.reaches(id, 'succeeded');
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
