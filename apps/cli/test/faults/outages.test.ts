/**
 * Fault injection against real services: RabbitMQ's app is stopped and Redis paused. The `faults`
 * vitest project runs this on a private RabbitMQ and Redis that it starts for the run (testkit's
 * private-services), so nothing else on the machine is disturbed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupNamespace, freePort, privateServices, testAmqpUrl, testNamespace, testRedisUrl, waitFor } from '@celerity/testkit';

const CLI = new URL('../../dist/main.js', import.meta.url).pathname;
const ROOT = new URL('../../../../', import.meta.url).pathname;
const services = privateServices();

let service: ChildProcess | undefined;
let ns: string | undefined;
afterEach(async () => {
  if (rabbitDown) await rabbitmqctl('start_app');
  if (service && service.exitCode === null) {
    service.kill('SIGTERM');
    await once(service, 'exit');
  }
  if (ns) await cleanupNamespace(ns);
  service = undefined;
  ns = undefined;
});

let rabbitDown = false;
async function rabbitmqctl(command: 'stop_app' | 'start_app'): Promise<void> {
  await services.rabbitmqctl([command]);
  rabbitDown = command === 'stop_app';
}

async function startService(): Promise<string> {
  ns = testNamespace();
  const port = await freePort();
  service = spawn(process.execPath, [CLI, 'start'], {
    cwd: ROOT,
    env: { ...process.env, NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '2' },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(() => fetch(`${base}/ready`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 15_000, what: 'the service to be ready' });
  return base;
}

interface LoadResult {
  accepted: string[];
  statuses: Map<number, number>;
}

/** Submits `count` tasks, `concurrency` at a time, recording every answer; bounded in count and time. */
async function submitLoad(base: string, count: number, concurrency: number, untilMs: number): Promise<LoadResult> {
  const result: LoadResult = { accepted: [], statuses: new Map() };
  let next = 0;
  const lane = async () => {
    while (next < count && Date.now() < untilMs) {
      next += 1;
      const res = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'demo.echo', input: next }) });
      result.statuses.set(res.status, (result.statuses.get(res.status) ?? 0) + 1);
      const body = (await res.json()) as { id?: string };
      if (res.status === 202 && body.id) result.accepted.push(body.id);
      if (res.status === 503) expect(res.headers.get('retry-after')).toBe('5');
      await sleep(20);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return result;
}

async function expectAllFinished(base: string, ids: string[]): Promise<void> {
  await waitFor(
    async () => {
      for (const id of ids) {
        const record = (await (await fetch(`${base}/tasks/${id}`)).json()) as { status: string };
        if (record.status !== 'succeeded') return undefined;
      }
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `all ${ids.length} accepted tasks to succeed` },
  );
}

describe('outages under load (private RabbitMQ and Redis)', () => {
  it('RabbitMQ stopped and started: 503 with Retry-After meanwhile, never 500, reconnects by itself, every 202 task finishes', async () => {
    const base = await startService();
    const load = submitLoad(base, 400, 4, Date.now() + 25_000);
    await sleep(1_000);
    await rabbitmqctl('stop_app');
    await waitFor(() => fetch(`${base}/ready`).then((r) => (r.status === 503 ? true : undefined)), { what: '/ready to report the outage' });
    await sleep(1_500);
    await rabbitmqctl('start_app');
    await waitFor(() => fetch(`${base}/ready`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 30_000, what: 'the service to reconnect' });
    const { accepted, statuses } = await load;

    expect(statuses.get(500) ?? 0).toBe(0);
    expect([...statuses.keys()].every((s) => s === 202 || s === 503)).toBe(true);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0); // the outage was seen
    expect(accepted.length).toBeGreaterThan(20);
    await expectAllFinished(base, accepted);
  }, 120_000);

  it('Redis paused: requests wait or answer 503, never 500, and every 202 task finishes', async () => {
    const base = await startService();
    const load = submitLoad(base, 300, 4, Date.now() + 15_000);
    await sleep(1_000);
    await services.pauseRedis(2_000);
    const { accepted, statuses } = await load;
    expect(statuses.get(500) ?? 0).toBe(0);
    expect([...statuses.keys()].every((s) => s === 202 || s === 503)).toBe(true);
    expect(accepted.length).toBeGreaterThan(20);
    await expectAllFinished(base, accepted);
  }, 90_000);
});
