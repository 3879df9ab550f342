import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, createRouter } from '@celerity/core';
import { cleanupNamespace, testConfig, testNamespace } from '@celerity/testkit';
import type { Producer } from '@celerity/producer';
import { createRedis, createTaskStore } from '@celerity/store';
import { buildApp } from '../../src/app.js';
import { createCredentials } from '../../src/credentials.js';
import { startApi } from '../../src/server.js';
import { eventClients, openWs } from '../event-clients.js';
import { startApiHarness, type ApiHarness } from '../harness.js';

/** Abuse cases (issue 9): each test fails without the limit or check it names. */
let h: ApiHarness | undefined;
const clients = eventClients();
const { sse, ws } = clients;
afterEach(async () => {
  await clients.closeAll();
  await h?.close();
  h = undefined;
});

async function listen(env: Record<string, string>, options: Parameters<typeof startApiHarness>[1] = {}): Promise<string> {
  h = await startApiHarness(env, options);
  return h.app.listen({ port: 0, host: '127.0.0.1' });
}
const wsUrl = (base: string, query = '') => `${base.replace(/^http/, 'ws')}/tasks/events/ws${query}`;
async function newTask(harness: ApiHarness, headers: Record<string, string>): Promise<string> {
  const res = await submit(harness, { task: 'demo.echo' }, headers);
  expect(res.statusCode).toBe(202);
  return res.json().id;
}
async function watchToken(harness: ApiHarness, ids: string[], ttl_seconds: number, headers: Record<string, string>): Promise<string> {
  const res = await harness.app.inject({ method: 'POST', url: '/events/tokens', payload: { task_ids: ids, ttl_seconds }, headers });
  expect(res.statusCode).toBe(201);
  return res.json().token;
}

const submit = (harness: ApiHarness, payload: object, headers: Record<string, string> = {}) =>
  harness.app.inject({ method: 'POST', url: '/tasks', payload, headers });

describe('Idempotency-Key scoping', () => {
  it('keeps each API key in its own space: the same Idempotency-Key from two keys makes two tasks', async () => {
    h = await startApiHarness({ API_KEYS: 'key-a,key-b' });
    const a = await submit(h, { task: 'demo.echo', input: { from: 'a' } }, { 'x-api-key': 'key-a', 'idempotency-key': 'order-1' });
    const b = await submit(h, { task: 'demo.echo', input: { from: 'b' } }, { 'x-api-key': 'key-b', 'idempotency-key': 'order-1' });
    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(202);
    expect(b.json().id).not.toBe(a.json().id);
    // and within one key it still replays
    const again = await submit(h, { task: 'demo.echo', input: { from: 'b' } }, { authorization: 'Bearer key-b', 'idempotency-key': 'order-1' });
    expect(again.json().id).toBe(b.json().id);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('keeps the keys the service uses itself apart: a client cannot block a dead-letter retry', async () => {
    h = await startApiHarness();
    const original = (await submit(h, { task: 'demo.echo', input: { n: 1 } })).json() as { id: string };
    await h.store.start(original.id, 'test-worker', false);
    await h.store.finish(original.id, { status: 'failed', error: { type: 'Error', message: 'down', retryable: true } });
    const deadId: string = (await h.app.inject({ method: 'GET', url: '/dead-letters' })).json().items[0].id;

    // a client takes the key the retry would use, with another request
    for (const key of [`dead-letter:${deadId}`, `internal:dead-letter:${deadId}`]) {
      expect((await submit(h, { task: 'demo.echo', input: { squat: true } }, { 'idempotency-key': key })).statusCode).toBe(202);
    }
    const retry = await h.app.inject({ method: 'POST', url: `/dead-letters/${deadId}/retry` });
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toMatchObject({ task: 'demo.echo', input: { n: 1 } });
  });
});

describe('live streams', () => {
  const key = { 'x-api-key': 'k1' };

  it('caps the streams of one caller (SSE and WebSocket alike) with a 429 and Retry-After; other callers are not affected', async () => {
    const base = await listen({ API_KEYS: 'k1,k2', EVENTS_MAX_STREAMS: '2' });
    const id = await newTask(h!, key);
    await sse(`${base}/tasks/${id}/events`, key);
    await ws(wsUrl(base), key);
    const third = await sse(`${base}/tasks/${id}/events`, key);
    expect(third.status).toBe(429);
    expect(third.headers['content-type']).toContain('application/problem+json');
    expect(third.headers['retry-after']).toBeDefined();
    expect(JSON.parse(await third.text())).toMatchObject({ code: 'TOO_MANY_STREAMS' });
    await expect(openWs(wsUrl(base), key)).rejects.toMatchObject({ statusCode: 429 });
    // another key, and a watch token (its own caller), still get their streams
    expect((await sse(`${base}/tasks/${id}/events`, { 'x-api-key': 'k2' })).status).toBe(200);
    const token = await watchToken(h!, [id], 60, key);
    expect((await sse(`${base}/tasks/${id}/events?access_token=${token}`)).status).toBe(200);
    // a closed stream gives its slot back
    await clients.opened()[0]!.close();
    await expect.poll(async () => (await sse(`${base}/tasks/${id}/events`, key)).status).toBe(200);
  });

  it('caps the tasks one caller follows over all its streams', async () => {
    const base = await listen({ API_KEYS: 'k1', EVENTS_MAX_SUBSCRIPTIONS: '3' });
    const ids = [await newTask(h!, key), await newTask(h!, key), await newTask(h!, key), await newTask(h!, key)];
    const first = await ws(wsUrl(base), key);
    first.send({ type: 'subscribe', ids: ids.slice(0, 2) });
    expect([(await first.next()).type, (await first.next()).type]).toEqual(['state', 'state']);
    const second = await ws(wsUrl(base), key);
    second.send({ type: 'subscribe', ids: ids.slice(2) });
    const frames = [await second.next(), await second.next()];
    expect(frames.filter((f) => f.type === 'state')).toHaveLength(1);
    expect(frames.find((f) => f.type === 'error')).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS' });
    const oneMore = await sse(`${base}/tasks/${ids[0]}/events`, key);
    expect(oneMore.status).toBe(429);
    // unsubscribing frees room
    first.send({ type: 'unsubscribe', ids: [ids[0]] });
    expect(await first.next()).toMatchObject({ type: 'unsubscribed' });
    second.send({ type: 'subscribe', ids: [ids[3]] });
    expect(await second.next()).toMatchObject({ type: 'state', task_id: ids[3] });
  });

  it('ends a stream when its watch token expires', async () => {
    const base = await listen({ API_KEYS: 'k1' });
    const id = await newTask(h!, key);
    // expiry is counted in whole seconds: a 2 s token lives between 1 and 2 s
    const token = await watchToken(h!, [id], 2, key);
    const stream = await sse(`${base}/tasks/${id}/events?access_token=${token}`);
    expect(await stream.next()).toMatchObject({ event: 'state' });
    expect(await stream.next(4_000)).toMatchObject({ event: 'error', data: { code: 'TOKEN_EXPIRED' } });
    await stream.ended;

    const socket = await ws(wsUrl(base, `?access_token=${await watchToken(h!, [id], 2, key)}`));
    const closed = new Promise<number>((resolve) => socket.socket.once('close', (code) => resolve(code)));
    expect(await socket.next(4_000)).toMatchObject({ type: 'error', code: 'TOKEN_EXPIRED' });
    expect(await closed).toBe(1008);
  });

  it('rotates keys from API_KEYS_FILE on SIGHUP, without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celerity-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, 'old\nkept\n');
    const ns = testNamespace();
    const config = testConfig(ns, { API_KEYS_FILE: file });
    const api = await startApi(config, createLogger({ service: 'test-api', level: 'silent' }));
    try {
      const status = (key: string) => fetch(`${api.url}/tasks?limit=1`, { headers: { 'x-api-key': key } }).then((r) => r.status);
      expect([await status('old'), await status('kept'), await status('new')]).toEqual([200, 200, 401]);
      writeFileSync(file, 'kept\nnew # added\n');
      process.emit('SIGHUP', 'SIGHUP');
      expect([await status('old'), await status('kept'), await status('new')]).toEqual([401, 200, 200]);
      // a file left without a key changes nothing: the keys in force stay
      writeFileSync(file, '# empty\n');
      process.emit('SIGHUP', 'SIGHUP');
      expect(await status('new')).toBe(200);
    } finally {
      await api.close();
      await cleanupNamespace(ns, createRouter(config.file.queues, config.file.routes).queues.map((q) => q.name));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes the streams of a key rotated out, and of every watch token, when the keys are rotated', async () => {
    const credentials = createCredentials(['old', 'kept']);
    const base = await listen({ API_KEYS: 'old,kept' }, { credentials });
    const id = await newTask(h!, { 'x-api-key': 'old' });
    const byOld = await sse(`${base}/tasks/${id}/events`, { 'x-api-key': 'old' });
    const byKept = await sse(`${base}/tasks/${id}/events`, { 'x-api-key': 'kept' });
    const token = await watchToken(h!, [id], 600, { 'x-api-key': 'kept' });
    const byToken = await ws(wsUrl(base, `?access_token=${token}`));
    byToken.send({ type: 'subscribe', ids: [id] });
    for (const stream of [byOld, byKept]) expect(await stream.next()).toMatchObject({ event: 'state' });
    expect(await byToken.next()).toMatchObject({ type: 'state' });

    credentials.rotate(['kept', 'new']);
    expect(await byOld.next()).toMatchObject({ event: 'error', data: { code: 'CREDENTIAL_REVOKED' } });
    await byOld.ended;
    expect(await byToken.next()).toMatchObject({ type: 'error', code: 'CREDENTIAL_REVOKED' });
    expect(await Promise.race([byKept.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 300))])).toBe('open');
    expect((await h!.app.inject({ method: 'GET', url: `/tasks/${id}`, headers: { 'x-api-key': 'old' } })).statusCode).toBe(401);
    expect((await h!.app.inject({ method: 'GET', url: `/tasks/${id}`, headers: { 'x-api-key': 'new' } })).statusCode).toBe(200);
    await expect(sse(`${base}/tasks/${id}/events?access_token=${token}`).then((c) => c.status)).resolves.toBe(401);
  });
});

describe('rate limits', () => {
  const limited = { API_KEYS: 'k1,k2', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_WRITES: '3', RATE_LIMIT_READS: '5', RATE_LIMIT_WINDOW: '60' };

  it('answers 429 problem+json with Retry-After past RATE_LIMIT_WRITES submits of one key; other keys and reads go on', async () => {
    h = await startApiHarness(limited);
    const k1 = { 'x-api-key': 'k1' };
    for (let i = 0; i < 3; i++) expect((await submit(h, { task: 'demo.echo' }, k1)).statusCode).toBe(202);
    const refused = await submit(h, { task: 'demo.echo' }, k1);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const batch = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks: [{ task: 'demo.echo' }] }, headers: k1 });
    expect(batch.statusCode).toBe(429);
    expect((await submit(h, { task: 'demo.echo' }, { 'x-api-key': 'k2' })).statusCode).toBe(202);
    expect((await h.app.inject({ method: 'GET', url: '/tasks', headers: k1 })).statusCode).toBe(200);
    // public routes are not counted
    for (let i = 0; i < 8; i++) expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('counts reads apart, and shares the count between replicas through Redis', async () => {
    h = await startApiHarness(limited);
    // a second replica: its own app and Redis connection on the same namespace
    const log = createLogger({ service: 'replica', level: 'silent' });
    const redis = createRedis({ url: h.config.REDIS_URL, log, failFast: true, name: 'replica' });
    await redis.connect();
    const store = createTaskStore(redis, { namespace: h.ns, resultTtlSeconds: h.config.RESULT_EXPIRES });
    const replica = { app: await buildApp({ config: h.config, log, store, redis, broker: h.broker, producer: {} as Producer }) };
    try {
      const k1 = { 'x-api-key': 'k1' };
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await (i % 2 ? replica : h).app.inject({ method: 'GET', url: '/tasks', headers: k1 })).statusCode);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect(await h.redis.keys(`${h.keys.rateLimits.replace(/[{}]/g, '\\$&')}*`)).not.toHaveLength(0);
    } finally {
      await replica.app.close();
      redis.disconnect();
    }
  });

  it('counts callers without an API key by address (auth off)', async () => {
    h = await startApiHarness({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_READS: '2' });
    const from = (remoteAddress: string) => h!.app.inject({ method: 'GET', url: '/tasks', remoteAddress });
    expect([(await from('10.0.0.1')).statusCode, (await from('10.0.0.1')).statusCode, (await from('10.0.0.1')).statusCode]).toEqual([200, 200, 429]);
    expect((await from('10.0.0.2')).statusCode).toBe(200);
  });

  it('is off on a loopback HOST unless RATE_LIMIT_ENABLED, on for a public HOST', async () => {
    h = await startApiHarness({ RATE_LIMIT_READS: '1' });
    for (let i = 0; i < 3; i++) expect((await h.app.inject({ method: 'GET', url: '/tasks' })).statusCode).toBe(200);
    await h.close();
    h = await startApiHarness({ HOST: '0.0.0.0', API_KEYS: 'k1', RATE_LIMIT_READS: '1' });
    const k1 = { 'x-api-key': 'k1' };
    expect((await h.app.inject({ method: 'GET', url: '/tasks', headers: k1 })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/tasks', headers: k1 })).statusCode).toBe(429);
  });
});

describe('what the API refuses, and how', () => {
  const problemJson = (res: { headers: Record<string, unknown> }) => expect(String(res.headers['content-type'])).toContain('application/problem+json');

  it('checks a batch size first, and lists at most a few errors: 60 000 invalid tasks get a small 400', async () => {
    h = await startApiHarness();
    const huge = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks: Array.from({ length: 60_000 }, () => ({})) } });
    expect(huge.statusCode).toBe(400);
    problemJson(huge);
    expect(huge.json()).toMatchObject({ code: 'BATCH_TOO_LARGE' });
    expect(huge.body.length).toBeLessThan(2_000);

    const invalid = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks: Array.from({ length: 400 }, () => ({ priority: 'high' })) } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().errors).toHaveLength(10);
    expect(invalid.json().detail).toMatch(/and \d+ more$/);
    expect(invalid.body.length).toBeLessThan(4_000);
  });

  it('refuses JSON nested deeper than BODY_MAX_DEPTH with 400 BODY_TOO_DEEP (4 100 deep was a 500)', async () => {
    h = await startApiHarness();
    const deep = (n: number) => `{"task":"demo.echo","input":${'['.repeat(n)}${']'.repeat(n)}}`;
    for (const [depth, headers] of [
      [4_100, { 'idempotency-key': 'deep' }],
      [20_000, {}],
    ] as const) {
      const res = await h.app.inject({ method: 'POST', url: '/tasks', payload: deep(depth), headers: { 'content-type': 'application/json', ...headers } });
      expect(res.statusCode).toBe(400);
      problemJson(res);
      expect(res.json()).toMatchObject({ code: 'BODY_TOO_DEEP' });
    }
    expect((await h.app.inject({ method: 'POST', url: '/tasks', payload: deep(60), headers: { 'content-type': 'application/json' } })).statusCode).toBe(202);
    // brackets inside strings do not count
    const text = JSON.stringify({ task: 'demo.echo', input: '['.repeat(5_000) });
    expect((await h.app.inject({ method: 'POST', url: '/tasks', payload: text, headers: { 'content-type': 'application/json' } })).statusCode).toBe(202);
  });

  it('says which job module failed to load without naming files on the server', async () => {
    const root = mkdtempSync(join(tmpdir(), 'celerity-jobs-'));
    try {
      writeFileSync(join(root, 'broken.js'), 'export const run = ;\n');
      writeFileSync(join(root, 'missing.js'), "import './nowhere.js';\nexport const run = () => 1;\n");
      h = await startApiHarness({ JOBS_ROOT: root });
      for (const task of ['broken.run', 'missing.run']) {
        const res = await submit(h, { task });
        expect(res.statusCode).toBe(422);
        expect(res.json()).toMatchObject({ code: 'UNKNOWN_JOB', detail: expect.stringMatching(/failed to load: [\s\S]*JOBS_ROOT\//) });
        expect(res.body).not.toContain(root);
        expect(res.body).not.toMatch(/\/(tmp|work|home)\//);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('never echoes an access_token (or any query) in a problem', async () => {
    h = await startApiHarness({ API_KEYS: 'k1' });
    const id = await newTask(h, { 'x-api-key': 'k1' });
    const res = await h.app.inject({ method: 'GET', url: `/tasks/${id}/events?access_token=v1.c2VjcmV0.not-a-real-signature-aaaaaaaaaaaaaaaaaaaaaaaa` });
    expect(res.statusCode).toBe(401);
    expect(res.json().instance).toBe(`/tasks/${id}/events`);
    expect(res.body).not.toContain('c2VjcmV0');
  });

  it('refuses an eta more than a year ahead, as countdown is refused', async () => {
    h = await startApiHarness();
    const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    const far = await submit(h, { task: 'demo.echo', eta: inDays(400) });
    expect(far.statusCode).toBe(400);
    expect(far.json().errors).toEqual([{ field: 'body.eta', message: expect.stringMatching(/a year/) }]);
    expect((await submit(h, { task: 'demo.echo', eta: inDays(300) })).statusCode).toBe(202);
  });

  it('lists summaries by default, whole records with view=full, and keeps a full page under LIST_MAX_BYTES', async () => {
    h = await startApiHarness({ LIST_MAX_BYTES: '4096' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await submit(h, { task: 'demo.echo', input: { blob: 'x'.repeat(1_500) }, metadata: { i } })).json().id);
    const summaries = await h.app.inject({ method: 'GET', url: '/tasks?limit=100' });
    expect(summaries.json().items).toHaveLength(6);
    expect(summaries.json().items[0]).not.toHaveProperty('input');
    expect(summaries.json().items[0]).not.toHaveProperty('metadata');
    expect(summaries.json().items[0]).toMatchObject({ id: ids[5], task: 'demo.echo', status: 'pending' });
    expect(summaries.body.length).toBeLessThan(6 * 1_000);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { statusCode: number; body: string; json(): any } = await h.app.inject({ method: 'GET', url: `/tasks?limit=100&view=full${cursor ? `&cursor=${cursor}` : ''}` });
      expect(page.statusCode).toBe(200);
      expect(page.body.length).toBeLessThan(4_096 + 2_000);
      for (const item of page.json().items) {
        expect(item.input.blob).toHaveLength(1_500);
        seen.push(item.id);
      }
      cursor = page.json().next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual([...ids].reverse());
    expect(pages).toBeGreaterThan(1);
  });

  it('keeps a page of dead letters (which carry their inputs) under LIST_MAX_BYTES too', async () => {
    h = await startApiHarness({ LIST_MAX_BYTES: '4096' });
    const failed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { id } = (await submit(h, { task: 'demo.echo', input: { blob: 'y'.repeat(1_500) } })).json() as { id: string };
      await h.store.start(id, 'test-worker', false);
      await h.store.finish(id, { status: 'failed', error: { type: 'Error', message: 'down', retryable: false } });
      failed.push(id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { statusCode: number; body: string; json(): any } = await h.app.inject({ method: 'GET', url: `/dead-letters?limit=100${cursor ? `&cursor=${cursor}` : ''}` });
      expect(page.statusCode).toBe(200);
      expect(page.body.length).toBeLessThan(4_096 + 2_500);
      expect(page.json().total).toBe(5);
      seen.push(...page.json().items.map((d: { task_id: string }) => d.task_id));
      cursor = page.json().next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual([...failed].reverse());
    expect(pages).toBeGreaterThan(1);
  });

  it('answers every error as problem+json: unknown route, bad percent-encoding, over-long path segment', async () => {
    h = await startApiHarness();
    for (const [url, status, code] of [
      ['/nope', 404, 'ROUTE_NOT_FOUND'],
      ['/tasks/%E0%A4%A', 400, 'MALFORMED_REQUEST'],
      [`/tasks/${'a'.repeat(150)}`, 414, 'URI_TOO_LONG'],
    ] as const) {
      const res = await h.app.inject({ method: 'GET', url });
      expect([url, res.statusCode]).toEqual([url, status]);
      problemJson(res);
      expect(res.json()).toMatchObject({ status, code });
    }
  });

  it('answers what the HTTP parser refuses as problem+json too: 431, a malformed request, "#", a request that is too slow', async () => {
    const base = await listen({ API_KEYS: 'k1', HTTP_REQUEST_TIMEOUT: '1' });
    const port = Number(new URL(base).port);
    const raw = (text: string, trickle = false) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(text));
        let received = '';
        const timer = trickle ? setInterval(() => socket.write(' '), 200) : undefined;
        socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk)).on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(timer);
          resolve(received);
        });
      });
    const expectProblem = (text: string, status: number) => {
      expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(text.toLowerCase()).toContain('content-type: application/problem+json');
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { status: number; type: string };
      expect(body.status).toBe(status);
    };
    expectProblem(await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431);
    expectProblem(await raw('GET /health HTTP/1.1\r\nHost x\r\n\r\n'), 400);
    expectProblem(await raw('GET /docs#x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400);
    expectProblem(await raw('POST /tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: k1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{', true), 408);
  });
});
