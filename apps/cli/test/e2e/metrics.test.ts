/**
 * The counters after a known mix of outcomes, retries and a worker killed with SIGKILL mid-task, read
 * from a spawned `celerity api` (GET /metrics, parsed as Prometheus text; GET /stats) and the
 * workers' own metrics port; spawned `celerity worker` processes, real RabbitMQ and Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupNamespace, freePort, testNamespace, waitFor } from '@celerity/testkit';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const ns = testNamespace();
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
  await cleanupNamespace(ns);
});

function celerity(command: 'api' | 'worker', env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['apps/cli/dist/main.js', command], {
    cwd: ROOT,
    env: { ...process.env, NAMESPACE: ns, LOG_LEVEL: 'warn', TASK_RETRY_DELAY: '0.2', TASK_RETRY_DELAY_MAX: '0.4', WORKER_HEARTBEAT: '0.5', ...env },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

interface Family {
  name: string;
  metrics: { labels?: Record<string, string>; value?: string }[];
}
/** Every sample of a Prometheus text, histogram series included (read without the TYPE lines, which make the parser fold a labelled histogram). */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  parsePrometheusTextFormat(text); // the whole text, TYPE lines included, must parse
  return (parsePrometheusTextFormat(text.replace(/^#.*\n/gm, '')) as Family[]).flatMap((f) => f.metrics.map((m) => ({ name: f.name, labels: m.labels ?? {}, value: Number(m.value) })));
}

describe('counters after a known mix of outcomes (spawned api and workers)', () => {
  it('counts successes, failures after retries, a timeout, a cancel and a task whose worker was killed with SIGKILL', async () => {
    const [apiPort, metricsPort] = [await freePort(), await freePort()];
    celerity('api', { PORT: String(apiPort) });
    const first = celerity('worker', { WORKER_CONCURRENCY: '4', WORKER_METRICS_PORT: String(metricsPort) });
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor(() => fetch(`${base}/ready`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 20_000, what: 'the API' });
    await waitFor(() => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 20_000, what: 'the worker' });
    const post = async (body: object) => (await (await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id: string };
    const status = async (id: string) => ((await (await fetch(`${base}/tasks/${id}`)).json()) as { status: string; attempts: number }).status;
    const until = (id: string, wanted: string, timeoutMs = 15_000) => waitFor(async () => ((await status(id)) === wanted ? true : undefined), { timeoutMs, what: `${id} ${wanted}` });

    // first the time-out: its hard kill ends its execution thread, and hands back the attempts of
    // any task that shared the thread (started again, not counted as an attempt): none here
    const timedOut = await post({ task: 'demo.busyLoop', input: { ms: 30_000 }, time_limit: 0.5 });
    await until(timedOut.id, 'timed_out');
    // the slow one: it is running on the first worker when that worker is killed
    const slow = await post({ task: 'demo.sleep', input: { ms: 4_000 } });
    await until(slow.id, 'running');
    const ok = await Promise.all([post({ task: 'demo.echo', input: 1 }), post({ task: 'demo.echo', input: 2 }), post({ task: 'demo.echo', input: 3 })]);
    const retriedTwice = await post({ task: 'demo.fail', input: { message: 'x' }, max_retries: 2 });
    const failedAtOnce = await post({ task: 'demo.fail', input: { message: 'y', retryable: false } });
    const cancelled = await post({ task: 'demo.sleep', input: { ms: 10 }, countdown: 600 });
    expect((await fetch(`${base}/tasks/${cancelled.id}`, { method: 'DELETE' })).status).toBe(200);
    for (const t of ok) await until(t.id, 'succeeded');
    await until(retriedTwice.id, 'failed');
    await until(failedAtOnce.id, 'failed');
    expect(await status(slow.id)).toBe('running'); // the one task running when its worker dies

    // the worker's own metrics: process and slots
    const workerMetrics = samples(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    const workerValue = (name: string) => workerMetrics.find((s) => s.name === name)?.value;
    expect(workerValue('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(workerValue('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(workerValue('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(workerValue('celerity_worker_slots')).toBe(4);
    expect(workerValue('celerity_worker_busy_slots')).toBeGreaterThanOrEqual(1); // the slow one at least
    // the API's view of it: the worker's heartbeat says it holds the slow one's delivery
    await waitFor(
      async () => {
        const api = samples(await (await fetch(`${base}/metrics`)).text());
        const unacked = api.find((x) => x.name === 'celerity_queue_unacked_messages' && x.labels.queue === 'default')?.value ?? 0;
        const running = api.find((x) => x.name === 'celerity_tasks_running' && x.labels.queue === 'default')?.value ?? 0;
        return unacked >= 1 && running === 1 ? true : undefined;
      },
      { timeoutMs: 5_000, what: 'one unacked delivery and one running task on default' },
    );

    first.kill('SIGKILL');
    await once(first, 'exit');
    celerity('worker', { WORKER_CONCURRENCY: '4' }); // the slow task's message comes back to it, redelivered
    await until(slow.id, 'succeeded', 20_000);
    expect(((await (await fetch(`${base}/tasks/${slow.id}`)).json()) as { attempts: number }).attempts).toBe(2);

    const counters = await waitFor(
      async () => {
        const all = samples(await (await fetch(`${base}/metrics`)).text());
        const running = all.filter((s) => s.name === 'celerity_tasks_running').reduce((sum, s) => sum + s.value, 0);
        return running === 0 ? all : undefined;
      },
      { timeoutMs: 5_000, what: 'nothing running' },
    );
    const count = (counter: string, task: string) => counters.find((s) => s.name === `celerity_tasks_${counter}_total` && s.labels.task === task && s.labels.queue === 'default')?.value ?? 0;
    const table = Object.fromEntries(
      ['demo.echo', 'demo.fail', 'demo.busyLoop', 'demo.sleep'].map((task) => [
        task,
        Object.fromEntries(['submitted', 'started', 'succeeded', 'failed', 'timed_out', 'cancelled', 'retried', 'dead_lettered'].map((c) => [c, count(c, task)])),
      ]),
    );
    expect(table).toEqual({
      'demo.echo': { submitted: 3, started: 3, succeeded: 3, failed: 0, timed_out: 0, cancelled: 0, retried: 0, dead_lettered: 0 },
      // 3 attempts of the one with max_retries 2, 1 of the non-retryable one
      'demo.fail': { submitted: 2, started: 4, succeeded: 0, failed: 2, timed_out: 0, cancelled: 0, retried: 2, dead_lettered: 2 },
      'demo.busyLoop': { submitted: 1, started: 1, succeeded: 0, failed: 0, timed_out: 1, cancelled: 0, retried: 0, dead_lettered: 1 },
      // the killed one started twice (on the first worker, then redelivered); the cancelled one never
      'demo.sleep': { submitted: 2, started: 2, succeeded: 1, failed: 0, timed_out: 0, cancelled: 1, retried: 0, dead_lettered: 0 },
    });
    const runCount = counters.filter((s) => s.name === 'celerity_task_run_seconds_count').reduce((sum, s) => sum + s.value, 0);
    expect(runCount).toBe(7); // every task that ran to a final status: 3 + 2 + 1 + 1
    const bucket = (le: string) => counters.filter((s) => s.name === 'celerity_task_run_seconds_bucket' && s.labels.le === le).reduce((sum, s) => sum + s.value, 0);
    expect(bucket('2.5')).toBe(6); // not the slow one: 4 s on its second worker
    expect(bucket('5')).toBe(7);
    expect(counters.find((s) => s.name === 'celerity_dead_letters')?.value).toBe(3);
    expect(counters.find((s) => s.name === 'celerity_workers' && s.labels.status === 'alive')?.value).toBeGreaterThanOrEqual(1); // the second worker's heartbeat

    const stats = (await (await fetch(`${base}/stats`)).json()) as { total: { counts: Record<string, number>; success_rate: number } };
    expect(stats.total.counts).toMatchObject({ submitted: 8, started: 10, succeeded: 4, failed: 2, timed_out: 1, cancelled: 1, retried: 2, dead_lettered: 3 });
    expect(stats.total.success_rate).toBeCloseTo(4 / 7);

    // the API restarted: the counters are in Redis, not in its memory
    const api = children[0]!;
    api.kill('SIGTERM');
    await once(api, 'exit');
    celerity('api', { PORT: String(apiPort) });
    await waitFor(() => fetch(`${base}/ready`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 20_000, what: 'the API again' });
    const again = samples(await (await fetch(`${base}/metrics`)).text());
    expect(again.find((s) => s.name === 'celerity_tasks_succeeded_total' && s.labels.task === 'demo.echo')?.value).toBe(3);
  }, 90_000);
});
