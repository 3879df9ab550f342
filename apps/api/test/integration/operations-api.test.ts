import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { encodeResult } from '@celerity/core';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const submit = async (harness: ApiHarness, body: object) => (await harness.app.inject({ method: 'POST', url: '/tasks', payload: body })).json() as { id: string; status: string };

describe('admin scope (ADMIN_API_KEYS)', () => {
  const ADMIN_ROUTES = [
    { method: 'POST', url: '/queues/default/purge' },
    { method: 'DELETE', url: '/dead-letters' },
    { method: 'DELETE', url: '/stats' },
    { method: 'POST', url: '/workers/w1/pause' },
    { method: 'POST', url: '/workers/w1/resume' },
    { method: 'POST', url: '/workers/w1/shutdown' },
  ] as const;

  it('refuses an ordinary API key on every admin route (403) and lets an admin key through; an admin key is an API key too', async () => {
    h = await startApiHarness({ API_KEYS: 'user-key', ADMIN_API_KEYS: 'admin-key' });
    for (const route of ADMIN_ROUTES) {
      const asUser = await h.app.inject({ ...route, headers: { 'x-api-key': 'user-key' } });
      expect(asUser.statusCode, `${route.method} ${route.url}`).toBe(403);
      expect(asUser.json()).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('ADMIN_API_KEYS') });
      const asAdmin = await h.app.inject({ ...route, headers: { authorization: 'Bearer admin-key' } });
      expect([200, 404], `${route.method} ${route.url}: ${asAdmin.body}`).toContain(asAdmin.statusCode); // 404: no worker w1
      expect((await h.app.inject({ ...route })).statusCode).toBe(401);
    }
    expect((await h.app.inject({ method: 'GET', url: '/queues', headers: { 'x-api-key': 'user-key' } })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/workers', headers: { 'x-api-key': 'admin-key' } })).statusCode).toBe(200);
  });

  it('with auth on and no admin key configured, nobody may call an admin route, also from a dashboard session; the problem says what to set', async () => {
    h = await startApiHarness({ API_KEYS: 'user-key' });
    const refused = await h.app.inject({ method: 'DELETE', url: '/dead-letters', headers: { 'x-api-key': 'user-key' } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().detail).toContain('none is configured (set ADMIN_API_KEYS)');
    const signIn = await h.app.inject({ method: 'POST', url: '/ui/session', payload: { api_key: 'user-key' } });
    const cookie = signIn.cookies.find((c) => c.name === 'celerity_session')!;
    const bySession = await h.app.inject({
      method: 'POST',
      url: '/queues/default/purge',
      headers: { cookie: `celerity_session=${cookie.value}`, 'x-csrf-token': signIn.json().csrf_token as string },
    });
    expect(bySession.statusCode).toBe(403);
    expect(bySession.json().detail).toContain('ADMIN_API_KEYS');
  });
});

describe('GET /queues, POST /queues/:name/purge', () => {
  it('shows each declared queue: ready messages, scheduled tasks bound for it, the oldest waiting task, in and out rates; 404 for an unknown queue', async () => {
    h = await startApiHarness();
    const empty = (await h.app.inject({ method: 'GET', url: '/queues/default' })).json();
    expect(empty).toMatchObject({ ready: 0, oldest_waiting_seconds: null, in_per_second: 0, out_per_second: 0 }); // the API took its minute snapshot at start
    await submit(h, { task: 'demo.echo', input: 1 });
    await submit(h, { task: 'demo.echo', input: 2 });
    await submit(h, { task: 'demo.echo', queue: 'low_priority', countdown: 600 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const list = await h.app.inject({ method: 'GET', url: '/queues' });
    expect(list.statusCode).toBe(200);
    const byName = new Map((list.json().items as { name: string; oldest_waiting_seconds: number | null }[]).map((q) => [q.name, q]));
    expect([...byName.keys()].sort()).toEqual(['cron', 'default', 'high_priority', 'low_priority']);
    expect(byName.get('default')).toMatchObject({ ready: 2, consumers: 0, unacked: 0, workers: [], scheduled: 0, max_priority: 10, out_per_second: 0 });
    // two submitted since the minute snapshot (taken at the start of this minute): 2 over at most 60 s
    expect((byName.get('default') as unknown as { in_per_second: number }).in_per_second).toBeGreaterThanOrEqual(2 / 60);
    expect(byName.get('default')!.oldest_waiting_seconds).toBeGreaterThanOrEqual(0.2);
    expect(byName.get('low_priority')).toMatchObject({ ready: 0, scheduled: 1, oldest_waiting_seconds: null });
    const one = await h.app.inject({ method: 'GET', url: '/queues/default' });
    expect(one.json()).toMatchObject({ name: 'default', ready: 2 });
    const unknown = await h.app.inject({ method: 'GET', url: '/queues/nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'QUEUE_NOT_FOUND', detail: expect.stringContaining('known: ') });
  });

  it('purges the waiting messages; their records end cancelled with QUEUE_PURGED (none left pending), a finished one stays as it was', async () => {
    h = await startApiHarness();
    const tasks = [];
    for (let i = 0; i < 3; i++) tasks.push(await submit(h, { task: 'demo.echo', input: i }));
    const done = await submit(h, { task: 'demo.echo', input: 'done' });
    await h.store.start(done.id, 'w-test', false);
    await h.store.finish(done.id, { status: 'succeeded', resultGzip: encodeResult('ok') });
    const other = await submit(h, { task: 'demo.echo', queue: 'low_priority' });
    await h.broker.publish('default', Buffer.from('not a task'), { priority: 1, messageId: 'junk' });

    const purge = await h.app.inject({ method: 'POST', url: '/queues/default/purge' });
    expect(purge.statusCode).toBe(200);
    expect(purge.json()).toEqual({ queue: 'default', purged: 5, cancelled: 3 });
    expect(await h.broker.queueDepth('default')).toBe(0);
    for (const t of tasks) {
      expect(await h.store.get(t.id)).toMatchObject({ status: 'cancelled', error: { type: 'QUEUE_PURGED', message: expect.stringContaining('default') } });
      expect(await h.redis.ttl(h.keys.task(t.id))).toBeGreaterThan(0); // finished: expires like any finished record
    }
    expect(await h.store.get(done.id)).toMatchObject({ status: 'succeeded', error: null });
    expect(await h.store.get(other.id)).toMatchObject({ status: 'pending' });
    expect(await h.broker.queueDepth('low_priority')).toBe(1);
    expect((await h.app.inject({ method: 'POST', url: '/queues/default/purge' })).json()).toEqual({ queue: 'default', purged: 0, cancelled: 0 });
  });
});

describe('long poll: GET /tasks/:id?wait=N, POST /tasks?wait=N', () => {
  it('answers as soon as the task finishes, without reading Redis in a loop while it waits', async () => {
    h = await startApiHarness();
    const task = await submit(h, { task: 'demo.echo', input: 'x' });
    const started = Date.now();
    const waiting = h.app.inject({ method: 'GET', url: `/tasks/${task.id}?wait=20` });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // every command Redis runs on this task's keys while the wait goes on: none
    const monitor = await (h.redis as Redis).monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.includes(task.id))) seen.push(args.join(' '));
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    monitor.disconnect();
    expect(seen).toEqual([]);
    await h.store.start(task.id, 'w-test', false);
    await h.store.finish(task.id, { status: 'succeeded', resultGzip: encodeResult({ ok: true }) });
    const answer = await waiting;
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ id: task.id, status: 'succeeded', result: { ok: true } });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers with the current record when the wait ends first; the wait is capped by TASK_WAIT_MAX; a finished task answers at once', async () => {
    h = await startApiHarness({ TASK_WAIT_MAX: '1' });
    const task = await submit(h, { task: 'demo.echo' });
    const started = Date.now();
    const answer = await h.app.inject({ method: 'GET', url: `/tasks/${task.id}?wait=30` });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ status: 'pending' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(3_000);
    await h.store.cancel(task.id, false);
    const quick = Date.now();
    expect((await h.app.inject({ method: 'GET', url: `/tasks/${task.id}?wait=1` })).json()).toMatchObject({ status: 'cancelled' });
    expect(Date.now() - quick).toBeLessThan(500);
    expect((await h.app.inject({ method: 'GET', url: `/tasks/0192f0a0-0000-7000-8000-000000000000?wait=1` })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: `/tasks/${task.id}?wait=soon` })).statusCode).toBe(400);
  });

  it('POST /tasks?wait=N: 200 with the finished record, 202 with the record when the wait ends first', async () => {
    h = await startApiHarness();
    const unfinished = await h.app.inject({ method: 'POST', url: '/tasks?wait=0.3', payload: { task: 'demo.echo' } });
    expect(unfinished.statusCode).toBe(202);
    expect(unfinished.json()).toMatchObject({ status: 'pending' });
    // finish the next task as soon as it is written: a stand-in worker on the same Redis
    const posting = h.app.inject({ method: 'POST', url: '/tasks?wait=10', payload: { task: 'demo.echo', input: 7 } });
    const id = await new Promise<string>((resolve) => {
      const timer = setInterval(async () => {
        const list = await h!.store.list({ limit: 1 });
        if (list.items[0] && list.items[0].id !== unfinished.json().id) {
          clearInterval(timer);
          resolve(list.items[0].id);
        }
      }, 20);
    });
    await h.store.start(id, 'w-test', false);
    await h.store.finish(id, { status: 'succeeded', resultGzip: encodeResult(7) });
    const finished = await posting;
    expect(finished.statusCode).toBe(200);
    expect(finished.json()).toMatchObject({ id, status: 'succeeded', result: 7 });
  });

  it('a shutting-down API answers its waits at once with the records as they are', async () => {
    h = await startApiHarness();
    const task = await submit(h, { task: 'demo.echo' });
    const started = Date.now();
    const waiting = h.app.inject({ method: 'GET', url: `/tasks/${task.id}?wait=30` });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const closing = h.app.close();
    const answer = await waiting;
    await closing;
    expect(answer.json()).toMatchObject({ status: 'pending' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
