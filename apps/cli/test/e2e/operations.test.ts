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

const running: Spawned[] = [];
let ns: string | undefined;
afterEach(async () => {
  for (const p of running.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  if (ns) await cleanupNamespace(ns);
  ns = undefined;
});

function celerity(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const spawned = { child, output: () => text };
  running.push(spawned);
  return spawned;
}

/** Runs a client command to its end: its exit code and what it printed. */
async function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = celerity(args, env);
  const [code] = (await once(proc.child, 'exit')) as [number | null];
  return { code, out: proc.output() };
}

async function setUp(extra: Record<string, string> = {}) {
  ns = testNamespace();
  const port = await freePort();
  const env = { NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), API_KEYS: 'user-key', ADMIN_API_KEYS: 'admin-key', ...extra };
  const client = { ...env, CELERITY_URL: `http://127.0.0.1:${port}`, CELERITY_API_KEY: 'user-key' };
  const admin = { ...client, CELERITY_API_KEY: 'admin-key' };
  const startApi = async () => {
    const api = celerity(['api'], env);
    await waitFor(() => fetch(`${client.CELERITY_URL}/health`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 15_000, what: 'the API' });
    return api;
  };
  const workers = async () => JSON.parse((await run(['inspect', 'workers', '--json'], client)).out) as { id: string; pid: number; status: string; state: string; paused_queues: string[] }[];
  return { env, client, admin, startApi, workers };
}

describe('celerity operations from the command line (spawned processes)', () => {
  it('a worker heartbeats, is paused, resumed and shut down from the API; a worker killed with SIGKILL is shown lost', async () => {
    const { env, client, admin, startApi, workers } = await setUp({ WORKER_HEARTBEAT: '0.3' });
    await startApi();
    const kept = celerity(['worker', '--concurrency', '2'], env);
    const killed = celerity(['worker', '--concurrency', '1'], env);
    const listed = await waitFor(async () => {
      const list = await workers();
      return list.length === 2 ? list : undefined;
    }, { what: 'two workers listed' });
    expect(listed.map((w) => w.pid).sort()).toEqual([kept.child.pid, killed.child.pid].sort());
    const table = (await run(['inspect', 'workers'], client)).out;
    expect(table).toMatch(/^WORKER\s+STATUS\s+STATE\s+QUEUES/);
    expect(table).toContain('alive');

    killed.child.kill('SIGKILL');
    const lost = await waitFor(async () => (await workers()).find((w) => w.pid === killed.child.pid && w.status === 'lost'), { timeoutMs: 10_000, what: 'the killed worker shown lost' });
    expect(lost.status).toBe('lost');

    const keptId = listed.find((w) => w.pid === kept.child.pid)!.id;
    const refused = await fetch(`${client.CELERITY_URL}/workers/${keptId}/pause`, { method: 'POST', headers: { 'x-api-key': 'user-key' } });
    expect(refused.status).toBe(403);
    const pause = await fetch(`${client.CELERITY_URL}/workers/${keptId}/pause`, { method: 'POST', headers: { 'x-api-key': 'admin-key', 'content-type': 'application/json' }, body: JSON.stringify({ queues: ['default'] }) });
    expect(pause.status).toBe(202);
    await waitFor(async () => ((await workers()).find((w) => w.id === keptId)?.paused_queues.includes('default') ? true : undefined), { what: 'paused' });
    const submitted = JSON.parse((await run(['submit', 'demo.echo', '--input', '"while paused"', '--json'], client)).out) as { id: string };
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(JSON.parse((await run(['status', submitted.id, '--json'], client)).out)).toMatchObject({ status: 'pending' });
    expect((await fetch(`${client.CELERITY_URL}/workers/${keptId}/resume`, { method: 'POST', headers: { 'x-api-key': 'admin-key' } })).status).toBe(202);
    const done = JSON.parse((await run(['status', submitted.id, '--wait', '--json'], client)).out) as { status: string; result: unknown };
    expect(done).toMatchObject({ status: 'succeeded', result: 'while paused' });

    expect((await fetch(`${admin.CELERITY_URL}/workers/${keptId}/shutdown`, { method: 'POST', headers: { 'x-api-key': 'admin-key' } })).status).toBe(202);
    const [code] = (await once(kept.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(kept.output()).toContain('shutdown requested');
    expect((await workers()).map((w) => w.id)).not.toContain(keptId); // left the list as it stopped
  });

  it('submit --wait outlives an API restart; purge cancels what waited; worker --burst drains the queue and exits 0; an expired task is not run', async () => {
    const { env, client, admin, startApi } = await setUp();
    let api = await startApi();
    const waiting = celerity(['submit', 'demo.echo', '--input', '{"n":1}', '--wait', '--json'], client);
    await waitFor(async () => {
      const list = JSON.parse((await run(['inspect', 'tasks', '--json'], client)).out) as unknown[];
      return list.length === 1 ? true : undefined;
    }, { what: 'the task submitted' });
    api.child.kill('SIGTERM');
    await once(api.child, 'exit');
    api = await startApi();
    const burst = celerity(['worker', '--burst', '--concurrency', '2'], env);
    // awaited from the start: the burst worker may drain the queue and exit before the wait below ends
    const burstExit = once(burst.child, 'exit') as Promise<[number | null]>;
    const [waitCode] = (await once(waiting.child, 'exit')) as [number | null];
    expect(waitCode).toBe(0);
    expect(JSON.parse(waiting.output())).toMatchObject({ status: 'succeeded', result: { n: 1 } });
    const [burstCode] = await burstExit;
    expect(burstCode).toBe(0);
    expect(burst.output()).toContain('queues drained');

    const purged = [];
    for (let i = 0; i < 3; i++) purged.push(JSON.parse((await run(['submit', 'demo.echo', '--input', String(i), '--json'], client)).out) as { id: string });
    const refused = await run(['purge', 'default'], client);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('403 FORBIDDEN');
    const purge = await run(['purge', 'default'], admin);
    expect(purge).toEqual({ code: 0, out: 'purged 3 message(s) from default; 3 task(s) cancelled (QUEUE_PURGED)\n' });
    for (const t of purged) expect(JSON.parse((await run(['status', t.id, '--json'], client)).out)).toMatchObject({ status: 'cancelled', error: { type: 'QUEUE_PURGED' } });

    const expiring = await fetch(`${client.CELERITY_URL}/tasks`, { method: 'POST', headers: { 'x-api-key': 'user-key', 'content-type': 'application/json' }, body: JSON.stringify({ task: 'demo.echo', expires: 0.5 }) });
    const expiringId = ((await expiring.json()) as { id: string }).id;
    await new Promise((resolve) => setTimeout(resolve, 800));
    const second = celerity(['worker', '--burst'], env);
    expect(((await once(second.child, 'exit')) as [number | null])[0]).toBe(0);
    const status = (await run(['status', expiringId], client)).out;
    expect(status).toMatch(/^status\s+expired$/m);
    expect(status).toMatch(/^started\s+-$/m);
    const queues = (await run(['inspect', 'queues'], client)).out;
    expect(queues.split('\n')[0]).toMatch(/^QUEUE\s+READY\s+UNACKED\s+CONSUMERS\s+SCHEDULED\s+OLDEST\s+IN\s+OUT$/);
    // six spawned processes one after another: about 9 s alone, over 20 s beside other test files on 2 cores
  }, 60_000);
});
