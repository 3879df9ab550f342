import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeResult, newTaskId } from '@celerity/core';
import { BatchResultSchema, ProblemSchema, TaskRecordSchema } from '../../src/schemas/tasks.js';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const post = (harness: ApiHarness, payload: unknown, headers: Record<string, string> = {}) =>
  harness.app.inject({ method: 'POST', url: '/tasks', payload: payload as object, headers });

describe('records written as built', () => {
  // submit, batch submit and get skip zod on the way out (records-as-built.ts): each body must be exactly
  // what its schema gives, every field present, nothing more
  const asSchemaGives = (schema: { parse(v: unknown): unknown }, body: unknown) => expect(body).toStrictEqual(schema.parse(body));

  it('answers submit, batch and get with bodies their schemas would give unchanged, for bare and fully optioned tasks, finished ones and problems', async () => {
    h = await startApiHarness({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_ALLOWED_PORTS: '9' });
    const bare = await post(h, { task: 'demo.echo' });
    const full = await post(h, {
      task: 'demo.echo',
      input: { a: [1, 'two'] },
      queue: 'high_priority',
      priority: 8,
      countdown: 60,
      expires: 3600,
      max_retries: 2,
      time_limit: 30,
      soft_time_limit: 20,
      retry_on_timeout: true,
      metadata: { team: 'a' },
      callback_url: 'http://127.0.0.1:9/hook',
    });
    expect([bare.statusCode, full.statusCode]).toEqual([202, 202]);
    asSchemaGives(TaskRecordSchema, bare.json());
    asSchemaGives(TaskRecordSchema, full.json());
    expect(full.json()).toMatchObject({ status: 'scheduled', retry_on_timeout: true, time_limit: 30, callback: { state: 'pending' } });

    const batch = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks: [{ task: 'demo.echo' }, { task: 'demo.echo', countdown: 5 }] } });
    expect(batch.statusCode).toBe(202);
    asSchemaGives(BatchResultSchema, batch.json());

    const id = (bare.json() as { id: string }).id;
    expect(await h.store.start(id, 'test-worker', false)).toMatchObject({ kind: 'started' });
    expect(await h.store.finish(id, { status: 'succeeded', resultGzip: encodeResult({ rows: 42 }) })).toBe('ok');
    for (const taskId of [id, (full.json() as { id: string }).id]) {
      const got = await h.app.inject({ method: 'GET', url: `/tasks/${taskId}` });
      expect(got.statusCode).toBe(200);
      asSchemaGives(TaskRecordSchema, got.json());
    }
    expect((await h.app.inject({ method: 'GET', url: `/tasks/${id}` })).json()).toMatchObject({ status: 'succeeded', result: { rows: 42 } });

    const missing = await h.app.inject({ method: 'GET', url: `/tasks/${newTaskId()}` });
    expect(missing.statusCode).toBe(404);
    asSchemaGives(ProblemSchema, missing.json());
    const refused = await post(h, { task: 'demo.echo', queue: 'low_priority', priority: 5 });
    expect(refused.statusCode).toBe(422);
    asSchemaGives(ProblemSchema, refused.json());
  });
});

describe('POST /tasks', () => {
  it('answers 202 with the pending record and a Location, after the message is in the queue', async () => {
    h = await startApiHarness();
    const res = await post(h, { task: 'demo.echo', input: { hello: 'world' }, metadata: { team: 'a' } }, { 'x-trace-id': 'trace-abc' });
    expect(res.statusCode).toBe(202);
    const record = res.json();
    expect(record).toMatchObject({ task: 'demo.echo', status: 'pending', queue: 'default', priority: 5, input: { hello: 'world' }, trace_id: 'trace-abc', metadata: { team: 'a' }, attempts: 0 });
    expect(res.headers.location).toBe(`/tasks/${record.id}`);
    expect(res.headers['x-trace-id']).toBe('trace-abc');
    expect(await h.broker.queueDepth('default')).toBe(1);

    const fetched = await h.app.inject({ method: 'GET', url: `/tasks/${record.id}` });
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toEqual(record);
  });

  it('routes by explicit queue and priority, and refuses what a queue cannot take', async () => {
    h = await startApiHarness();
    expect((await post(h, { task: 'demo.echo', queue: 'high_priority' })).json()).toMatchObject({ queue: 'high_priority', priority: 9 });
    expect((await post(h, { task: 'demo.echo', queue: 'low_priority' })).json()).toMatchObject({ queue: 'low_priority', priority: 1 });
    expect((await post(h, { task: 'demo.echo', priority: 7 })).json()).toMatchObject({ queue: 'default', priority: 7 });

    const tooHigh = await post(h, { task: 'demo.echo', queue: 'low_priority', priority: 5 });
    expect(tooHigh.statusCode).toBe(422);
    expect(tooHigh.headers['content-type']).toContain('application/problem+json');
    expect(tooHigh.json()).toMatchObject({ code: 'PRIORITY_OUT_OF_RANGE', errors: [{ field: 'priority' }] });

    const unknown = await post(h, { task: 'demo.echo', queue: 'nope' });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json()).toMatchObject({ code: 'UNKNOWN_QUEUE', errors: [{ field: 'queue' }] });
  });

  it('applies routing rules and extra queues from CELERITY_CONFIG; an explicit queue still wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celerity-config-'));
    const file = join(dir, 'celerity.yaml');
    writeFileSync(
      file,
      ['queues:', '  - { name: reports, max_priority: 3, default_priority: 2 }', 'routes:', '  - { match: "reports.*", queue: reports }', '  - { match: "demo.sleep", queue: high_priority, priority: 7 }'].join('\n'),
    );
    try {
      h = await startApiHarness({ CELERITY_CONFIG: file });
      expect((await post(h, { task: 'reports.monthly.generate', input: { month: '2026-01' } })).json()).toMatchObject({ queue: 'reports', priority: 2 });
      expect((await post(h, { task: 'demo.sleep' })).json()).toMatchObject({ queue: 'high_priority', priority: 7 });
      expect((await post(h, { task: 'demo.sleep', queue: 'default' })).json()).toMatchObject({ queue: 'default', priority: 5 });
      expect(await h.broker.queueDepth('reports')).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['../etc.passwd', 'INVALID_TASK_NAME'],
    ['demo/echo.run', 'INVALID_TASK_NAME'],
    ['node:fs.readFileSync', 'INVALID_TASK_NAME'],
    ['demo.constructor', 'INVALID_TASK_NAME'],
    ['__proto__.echo', 'INVALID_TASK_NAME'],
    ['demo', 'INVALID_TASK_NAME'],
    ['missing.module', 'UNKNOWN_JOB'],
    ['demo.notExported', 'UNKNOWN_JOB'],
    ['demo.toString', 'UNKNOWN_JOB'],
  ])('refuses task name %s with 422 %s and publishes nothing', async (task, code) => {
    h ??= await startApiHarness();
    const res = await post(h, { task });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ status: 422, code, errors: [{ field: 'task' }] });
    expect(await h.broker.queueDepth('default')).toBe(0);
  });

  it("checks the input against a defineJob schema at submit time", async () => {
    h = await startApiHarness();
    const bad = await post(h, { task: 'reports.monthly.generate', input: { month: 'June' } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'INVALID_JOB_INPUT', errors: [{ field: 'input.month' }] });
    const good = await post(h, { task: 'reports.monthly.generate', input: { month: '2026-06' } });
    expect(good.statusCode).toBe(202);
    expect(good.json()).toMatchObject({ time_limit: 120, retry_on_timeout: false }); // the job's own timeLimit (defineJob)
  });

  it('answers 400 problem+json for malformed JSON and for schema errors, naming the field', async () => {
    h = await startApiHarness();
    const malformed = await h.app.inject({ method: 'POST', url: '/tasks', payload: '{"task":', headers: { 'content-type': 'application/json' } });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toContain('application/problem+json');

    const wrongType = await post(h, { task: 'demo.echo', priority: 'high' });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'body.priority' }] });

    const unknownField = await post(h, { task: 'demo.echo', prority: 3 });
    expect(unknownField.statusCode).toBe(400);
    expect(unknownField.json().detail).toContain('prority');

    const missing = await post(h, { input: {} });
    expect(missing.json()).toMatchObject({ status: 400, errors: [{ field: 'body.task' }] });
  });

  it('accepts countdown or eta as a scheduled task kept out of the queue, and refuses both together', async () => {
    h = await startApiHarness();
    const scheduled = await post(h, { task: 'demo.echo', countdown: 60 });
    expect(scheduled.statusCode).toBe(202);
    expect(scheduled.json()).toMatchObject({ status: 'scheduled' });
    expect(Date.parse(scheduled.json().eta) - Date.now()).toBeGreaterThan(55_000);
    expect(await h.broker.queueDepth('default')).toBe(0);
    const both = await post(h, { task: 'demo.echo', countdown: 5, eta: new Date().toISOString() });
    expect(both.statusCode).toBe(422);
    expect(both.json()).toMatchObject({ errors: [{ field: 'eta' }] });
    expect((await post(h, { task: 'demo.echo', eta: 'tomorrow' })).json()).toMatchObject({ status: 400, errors: [{ field: 'body.eta' }] });
  });

  it('accepts expires in seconds or as a time, and refuses one that is past or not after the start', async () => {
    h = await startApiHarness();
    const inSeconds = await post(h, { task: 'demo.echo', expires: 30 });
    expect(inSeconds.statusCode).toBe(202);
    expect(Date.parse(inSeconds.json().expires) - Date.now()).toBeGreaterThan(25_000);
    expect((await h.store.get(inSeconds.json().id))!.expires).toBe(inSeconds.json().expires);
    const at = new Date(Date.now() + 3_600_000).toISOString();
    expect((await post(h, { task: 'demo.echo', expires: at })).json()).toMatchObject({ expires: at });
    expect((await post(h, { task: 'demo.echo' })).json()).toMatchObject({ expires: null });
    const past = await post(h, { task: 'demo.echo', expires: new Date(Date.now() - 1_000).toISOString() });
    expect(past.statusCode).toBe(422);
    expect(past.json()).toMatchObject({ errors: [{ field: 'expires' }], detail: expect.stringContaining('past') });
    const beforeStart = await post(h, { task: 'demo.echo', countdown: 60, expires: 30 });
    expect(beforeStart.statusCode).toBe(422);
    expect(beforeStart.json()).toMatchObject({ errors: [{ field: 'expires' }] });
    expect((await post(h, { task: 'demo.echo', expires: -5 })).statusCode).toBe(400);
  });

  it('returns the original task for a repeated Idempotency-Key with the same body, and 409 for another body', async () => {
    h = await startApiHarness();
    const body = { task: 'demo.echo', input: { order: 42, lines: [1, 2] } };
    const first = await post(h, body, { 'idempotency-key': 'order-42' });
    expect(first.statusCode).toBe(202);
    const again = await post(h, { input: { lines: [1, 2], order: 42 }, task: 'demo.echo' }, { 'idempotency-key': 'order-42' }); // same content, other key order
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    expect(await h.broker.queueDepth('default')).toBe(1);

    const other = await post(h, { task: 'demo.echo', input: { order: 43 } }, { 'idempotency-key': 'order-42' });
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    expect((await post(h, body, { 'idempotency-key': 'order-43' })).json().id).not.toBe(first.json().id);
    expect(await h.redis.ttl(h.keys.idempotency('client:open:order-42'))).toBeGreaterThan(86_000);
  });

  it('frees an Idempotency-Key when the task was refused, so the retry is accepted', async () => {
    h = await startApiHarness();
    await h.broker.close();
    expect((await post(h, { task: 'demo.echo' }, { 'idempotency-key': 'k1' })).statusCode).toBe(503);
    expect(await h.redis.exists(h.keys.idempotency('client:open:k1'))).toBe(0);
  });

  it('answers 413 for a body over BODY_LIMIT', async () => {
    h = await startApiHarness({ BODY_LIMIT: '1024' });
    const res = await post(h, { task: 'demo.echo', input: 'x'.repeat(2048) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ status: 413, code: 'BODY_TOO_LARGE' });
  });

  it('answers 503 with Retry-After while RabbitMQ is unreachable, and keeps no record of the refused task', async () => {
    h = await startApiHarness();
    await h.broker.close();
    const res = await post(h, { task: 'demo.echo' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ code: 'BROKER_UNAVAILABLE' });
    expect((await h.store.list({ limit: 10 })).items).toEqual([]);
  });

  it('answers 503 with Retry-After while Redis is unreachable', async () => {
    h = await startApiHarness();
    h.redis.disconnect();
    const res = await post(h, { task: 'demo.echo' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await h.broker.queueDepth('default')).toBe(0);
  });
});

describe('POST /tasks/batch', () => {
  it('accepts all tasks with one record each', async () => {
    h = await startApiHarness();
    const res = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks: [{ task: 'demo.echo', input: 1 }, { task: 'demo.noop', queue: 'high_priority' }] } });
    expect(res.statusCode).toBe(202);
    expect(res.json().tasks.map((t: { task: string; queue: string }) => [t.task, t.queue])).toEqual([['demo.echo', 'default'], ['demo.noop', 'high_priority']]);
    expect(await h.broker.queueDepth('default')).toBe(1);
    expect(await h.broker.queueDepth('high_priority')).toBe(1);
  });

  it('accepts nothing when one task is invalid, and names it', async () => {
    h = await startApiHarness();
    const res = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks: [{ task: 'demo.echo' }, { task: 'demo.missing' }] } });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'UNKNOWN_JOB', errors: [{ field: 'tasks.1.task' }] });
    expect(await h.broker.queueDepth('default')).toBe(0);
  });

  it('refuses a batch over BATCH_MAX_SIZE', async () => {
    h = await startApiHarness({ BATCH_MAX_SIZE: '2' });
    const res = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks: [{ task: 'demo.echo' }, { task: 'demo.echo' }, { task: 'demo.echo' }] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain('at most 2 tasks');
  });
});

describe('GET /tasks', () => {
  it('lists newest first, filters, and pages with next_cursor', async () => {
    h = await startApiHarness();
    const ids: string[] = [];
    for (const task of ['demo.echo', 'demo.sleep', 'demo.echo']) {
      ids.push((await post(h, { task })).json().id);
      await new Promise((r) => setTimeout(r, 2));
    }
    const first = (await h.app.inject({ method: 'GET', url: '/tasks?limit=2' })).json();
    expect(first.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const second = (await h.app.inject({ method: 'GET', url: `/tasks?limit=2&cursor=${first.next_cursor}` })).json();
    expect(second).toMatchObject({ items: [{ id: ids[0] }], next_cursor: null });
    const echoes = (await h.app.inject({ method: 'GET', url: '/tasks?task=demo.echo&status=pending&queue=default' })).json();
    expect(echoes.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[0]]);
    expect((await h.app.inject({ method: 'GET', url: '/tasks?status=bogus' })).statusCode).toBe(400);
    expect((await h.app.inject({ method: 'GET', url: '/tasks?limit=1000' })).statusCode).toBe(400);
  });

  it('filters by schedule; a client cannot claim one for its own task', async () => {
    h = await startApiHarness();
    const forged = await post(h, { task: 'demo.echo', schedule: { name: 'nightly', fire_at: '2026-01-01T00:00:00Z' } });
    expect(forged.statusCode).toBe(400);
    const plain = (await post(h, { task: 'demo.echo' })).json();
    expect(plain.schedule).toBeNull();
    const [fired] = await h.store.createRecords([
      { id: newTaskId(), task: 'demo.echo', queue: 'cron', priority: 0, input: null, max_retries: 0, time_limit: null, soft_time_limit: null, retry_on_timeout: false, trace_id: 't', metadata: null, callback_url: null, eta: null, schedule: { name: 'nightly', fire_at: '2026-01-01T00:00:00.000Z' } },
    ]);
    const listed = (await h.app.inject({ method: 'GET', url: '/tasks?schedule=nightly&view=full' })).json();
    expect(listed).toEqual({ items: [{ ...fired, schedule: { name: 'nightly', fire_at: '2026-01-01T00:00:00.000Z' } }], next_cursor: null });
  });
});

describe('GET /tasks?trace_id=', () => {
  const ids = (res: { json(): { items: { id: string }[] } }) => res.json().items.map((r) => r.id);

  it('finds a task by the trace id the API made up for it (its id), by the caller\'s X-Trace-Id, and a batch by its own', async () => {
    h = await startApiHarness();
    const root = await post(h, { task: 'demo.echo' });
    const trace = root.headers['x-trace-id'] as string;
    // no X-Trace-Id: the trace id is the task's id without its dashes, so no index is written for it
    expect(root.json().id.replaceAll('-', '')).toBe(trace);
    expect(await h.redis.exists(h.keys.trace(trace))).toBe(0);
    expect(ids(await h.app.inject({ method: 'GET', url: `/tasks?trace_id=${trace}` }))).toEqual([root.json().id]);

    // a job submitting follow-ups under its own trace id (X-Trace-Id): they and the first task, newest first
    const followUps: string[] = [];
    for (const task of ['demo.sleep', 'demo.echo']) {
      await new Promise((r) => setTimeout(r, 2));
      followUps.push((await h.app.inject({ method: 'POST', url: '/tasks', headers: { 'x-trace-id': trace }, payload: { task } })).json().id);
    }
    expect(ids(await h.app.inject({ method: 'GET', url: `/tasks?trace_id=${trace}` }))).toEqual([followUps[1], followUps[0], root.json().id]);
    expect(ids(await h.app.inject({ method: 'GET', url: `/tasks?trace_id=${trace}&task=demo.echo` }))).toEqual([followUps[1], root.json().id]);
    const page1 = await h.app.inject({ method: 'GET', url: `/tasks?trace_id=${trace}&limit=2` });
    expect(ids(page1)).toEqual([followUps[1], followUps[0]]);
    const page2 = await h.app.inject({ method: 'GET', url: `/tasks?trace_id=${trace}&limit=2&cursor=${page1.json().next_cursor}` });
    expect(page2.json()).toMatchObject({ items: [{ id: root.json().id }], next_cursor: null });
    expect(await h.redis.ttl(h.keys.trace(trace))).toBeGreaterThan(86_400);

    const batch = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks: [{ task: 'demo.echo' }, { task: 'demo.echo', countdown: 60 }] } });
    const batchTrace = batch.headers['x-trace-id'] as string;
    expect(ids(await h.app.inject({ method: 'GET', url: `/tasks?trace_id=${batchTrace}` })).sort()).toEqual(batch.json().tasks.map((t: { id: string }) => t.id).sort());
    const caller = await h.app.inject({ method: 'POST', url: '/tasks/batch', headers: { 'x-trace-id': 'order-42' }, payload: { tasks: [{ task: 'demo.echo' }] } });
    expect(ids(await h.app.inject({ method: 'GET', url: '/tasks?trace_id=order-42&status=pending' }))).toEqual([caller.json().tasks[0].id]);

    expect(ids(await h.app.inject({ method: 'GET', url: '/tasks?trace_id=nothing-here' }))).toEqual([]);
    expect((await h.app.inject({ method: 'GET', url: '/tasks?trace_id=a%20b' })).statusCode).toBe(400);
    expect((await h.app.inject({ method: 'GET', url: `/tasks?trace_id=${trace}&finished_after=2026-01-01T00:00:00Z` })).statusCode).toBe(400);
  });
});

describe('GET and DELETE /tasks/:id', () => {
  it('answers 400 for a malformed id and 404 for an unknown one', async () => {
    h = await startApiHarness();
    expect((await h.app.inject({ method: 'GET', url: '/tasks/not-an-id' })).json()).toMatchObject({ status: 400, code: 'MALFORMED_TASK_ID' });
    const unknown = '01a20000-0000-7000-8000-000000000000';
    expect((await h.app.inject({ method: 'GET', url: `/tasks/${unknown}` })).json()).toMatchObject({ status: 404, code: 'TASK_NOT_FOUND' });
    expect((await h.app.inject({ method: 'DELETE', url: `/tasks/${unknown}` })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'DELETE', url: '/tasks/../../x' })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'DELETE', url: '/tasks/nope' })).statusCode).toBe(400);
  });

  it('cancels a pending task (200), then answers 409 naming its status', async () => {
    h = await startApiHarness();
    const { id } = (await post(h, { task: 'demo.echo' })).json();
    const cancel = await h.app.inject({ method: 'DELETE', url: `/tasks/${id}` });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json()).toMatchObject({ id, status: 'cancelled', previous_status: 'pending' });
    expect((await h.app.inject({ method: 'GET', url: `/tasks/${id}` })).json()).toMatchObject({ status: 'cancelled' });
    const again = await h.app.inject({ method: 'DELETE', url: `/tasks/${id}` });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'TASK_ALREADY_FINISHED', task_status: 'cancelled' });
  });
});

describe('auth, health, docs', () => {
  it('requires an API key (X-API-Key or Bearer) when API_KEYS is set, except on /health, /ready, /docs, /openapi.json', async () => {
    h = await startApiHarness({ API_KEYS: 'k1,k2' });
    const none = await post(h, { task: 'demo.echo' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await post(h, { task: 'demo.echo' }, { 'x-api-key': 'wrong' })).statusCode).toBe(401);
    expect((await post(h, { task: 'demo.echo' }, { 'x-api-key': 'k2' })).statusCode).toBe(202);
    expect((await post(h, { task: 'demo.echo' }, { authorization: 'Bearer k1' })).statusCode).toBe(202);
    for (const url of ['/health', '/ready', '/openapi.json', '/docs/']) {
      expect((await h.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });

  it('/ready reports RabbitMQ and Redis, and 503 when one is down', async () => {
    h = await startApiHarness();
    expect((await h.app.inject({ method: 'GET', url: '/ready' })).json()).toEqual({ status: 'ready', rabbitmq: 'up', redis: 'up' });
    await h.broker.close();
    const down = await h.app.inject({ method: 'GET', url: '/ready' });
    expect(down.statusCode).toBe(503);
    expect(down.json().detail).toContain('RabbitMQ');
    expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('answers unknown routes with a 404 problem', async () => {
    h = await startApiHarness();
    const res = await h.app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });
});
