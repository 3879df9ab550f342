import { connect } from 'node:net';
import { encodeResult } from '@celerity/core';
import { waitFor } from '@celerity/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { eventClients, openWs } from '../event-clients.js';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
const clients = eventClients();
const { sse, ws } = clients;
afterEach(async () => {
  await clients.closeAll();
  await h?.close();
  h = undefined;
});

/** Sends a request target exactly as written (fetch and inject normalise it) and reads the answer. */
function rawRequest(port: number, request: string): Promise<{ status: number; text: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request)); // the server closes it (Connection: close)
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('error', reject);
    socket.on('close', () => {
      const [head = '', payload = ''] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      let body: unknown;
      try {
        body = JSON.parse(payload);
      } catch {
        body = payload;
      }
      resolve({ status, text, body });
    });
  });
}

const UNKNOWN_ID = '01a20000-0000-7000-8000-000000000000';

/** A harness listening on a real port; returns its base URL. */
async function listen(env: Record<string, string> = {}, options: Parameters<typeof startApiHarness>[1] = {}): Promise<string> {
  h = await startApiHarness(env, options);
  return h.app.listen({ port: 0, host: '127.0.0.1' });
}

async function submit(harness: ApiHarness, headers: Record<string, string> = {}): Promise<string> {
  const res = await harness.app.inject({ method: 'POST', url: '/tasks', payload: { task: 'demo.echo' }, headers });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}


const succeed = (harness: ApiHarness, id: string, value: unknown) => harness.store.finish(id, { status: 'succeeded', resultGzip: encodeResult(value) });

describe('GET /tasks/:id/events (SSE)', () => {
  it('sends the state first, then running, progress and succeeded with the record, then ends', async () => {
    const base = await listen({}, { eventsHeartbeatMs: 20 }); // frequent re-reads of the stream must not repeat events
    const id = await submit(h!, { 'x-trace-id': 'trace-sse' });
    const stream = await sse(`${base}/tasks/${id}/events`, { 'x-trace-id': 'trace-sse' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toContain('text/event-stream');
    expect(stream.headers['cache-control']).toBe('no-cache');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers['x-trace-id']).toBe('trace-sse');

    const state = await stream.next();
    expect(state).toMatchObject({ event: 'state', id: '0', data: { id, status: 'pending', task: 'demo.echo' } });

    await h!.store.start(id, 'w1', false);
    await h!.store.setProgress(id, { percent: 40, message: 'halfway', data: { rows: 4 } });
    await succeed(h!, id, { answer: 42 });

    const running = await stream.next();
    expect(running).toMatchObject({ event: 'status', data: { task_id: id, type: 'status', status: 'running', attempts: 1 } });
    const progress = await stream.next();
    expect(progress).toMatchObject({ event: 'progress', data: { task_id: id, percent: 40, message: 'halfway', data: { rows: 4 } } });
    const done = await stream.next();
    expect(done).toMatchObject({ event: 'status', data: { status: 'succeeded', record: { id, status: 'succeeded', result: { answer: 42 }, worker: 'w1' } } });
    expect(running.data.record).toBeUndefined();
    expect([running.id, progress.id, done.id]).toEqual(['1', '2', '3']); // numbered per task, in order
    await stream.ended;
    await waitFor(() => (h!.store.events.watchedCount() === 0 ? true : undefined), { timeoutMs: 2_000, what: 'the watch to end' });
  });

  it('resumes after Last-Event-ID (header or query) with only the missed events, and answers 204 after the end', async () => {
    const base = await listen();
    const id = await submit(h!);
    const unwatch = await h!.store.events.watch(id, () => undefined); // a watcher that will drop
    await h!.store.start(id, 'w1', false);
    await h!.store.setProgress(id, { percent: 10, message: null, data: null });
    await h!.store.setProgress(id, { percent: 20, message: null, data: null });
    await unwatch();
    const [first, second, third] = await h!.store.events.read(id, '0');

    const resumed = await sse(`${base}/tasks/${id}/events`, { 'last-event-id': first!.id });
    expect(await resumed.next()).toMatchObject({ id: second!.id, event: 'progress', data: { percent: 10 } });
    expect(await resumed.next()).toMatchObject({ id: third!.id, event: 'progress', data: { percent: 20 } });
    await succeed(h!, id, 'ok');
    const final = await resumed.next();
    expect(final).toMatchObject({ event: 'status', data: { status: 'succeeded', record: { result: 'ok' } } });
    await resumed.ended;

    // the query parameter, for clients that cannot set headers; a replayed final status ends the stream too
    const byQuery = await sse(`${base}/tasks/${id}/events?last_event_id=${third!.id}`);
    expect(await byQuery.next()).toMatchObject({ id: final.id, data: { status: 'succeeded', record: { result: 'ok' } } });
    await byQuery.ended;

    const after = await sse(`${base}/tasks/${id}/events`, { 'last-event-id': final.id! });
    expect(after.status).toBe(204);
  });

  it('sends the state again when the events after Last-Event-ID were trimmed off the capped stream', async () => {
    const base = await listen();
    const id = await submit(h!);
    await (await h!.store.events.watch(id, () => undefined))();
    await h!.store.start(id, 'w1', false);
    const [first] = await h!.store.events.read(id, '0');
    for (let i = 0; i < 1_300; i += 1) await h!.store.setProgress(id, { percent: i / 13, message: null, data: null });
    expect(await h!.store.events.trimmedThrough(id)).not.toBe('0');

    const resumed = await sse(`${base}/tasks/${id}/events`, { 'last-event-id': first!.id });
    expect(await resumed.next()).toMatchObject({ event: 'state', data: { id, status: 'running', progress: { percent: 1_299 / 13 } } });
  });

  it('sends the state of a finished task and ends at once; its id resumes to 204', async () => {
    const base = await listen();
    const id = await submit(h!);
    await h!.store.cancel(id, false);
    const stream = await sse(`${base}/tasks/${id}/events`);
    const state = await stream.next();
    expect(state).toMatchObject({ event: 'state', data: { id, status: 'cancelled' } });
    await stream.ended;
    expect(h!.store.events.watchedCount()).toBe(0);
    expect((await sse(`${base}/tasks/${id}/events`, { 'last-event-id': state.id! })).status).toBe(204);
  });

  it('keeps no events for a task nobody watches, and keeps them from the moment someone does', async () => {
    await listen();
    const id = await submit(h!);
    await h!.store.start(id, 'w1', false);
    await h!.store.setProgress(id, { percent: 10, message: null, data: null });
    expect(await h!.store.events.read(id, '0')).toEqual([]);
    expect(await h!.redis.exists(h!.keys.events(id))).toBe(0);
    const seen: unknown[] = [];
    const unwatch = await h!.store.events.watch(id, (entry) => seen.push(entry.event));
    await h!.store.setProgress(id, { percent: 20, message: null, data: null });
    await succeed(h!, id, 'ok');
    await waitFor(() => (seen.length === 2 ? true : undefined));
    expect(seen).toMatchObject([{ type: 'progress', percent: 20 }, { type: 'status', status: 'succeeded' }]);
    expect((await h!.store.events.read(id, '0')).map((e) => e.id)).toEqual(['1', '2']);
    expect(await h!.redis.ttl(h!.keys.events(id))).toBeGreaterThan(0);
    await unwatch();
    // an unknown id is not marked: watching it leaves no record behind
    await (await h!.store.events.watch(UNKNOWN_ID, () => undefined))();
    expect(await h!.redis.exists(h!.keys.task(UNKNOWN_ID))).toBe(0);
  });

  it('writes a heartbeat comment every EVENTS_HEARTBEAT ms', async () => {
    const base = await listen({}, { eventsHeartbeatMs: 100 });
    const id = await submit(h!);
    const stream = await sse(`${base}/tasks/${id}/events`);
    expect((await stream.nextBlock()).event).toBe('state');
    expect(await stream.nextBlock(2_000)).toEqual({ comment: 'heartbeat' });
    expect(await stream.nextBlock(2_000)).toEqual({ comment: 'heartbeat' });
  });

  it('delivers an event whose pub/sub message was lost, from the event list, within a heartbeat', async () => {
    const base = await listen({}, { eventsHeartbeatMs: 100 });
    const id = await submit(h!);
    const stream = await sse(`${base}/tasks/${id}/events`);
    await stream.next();
    // written to the task's event list without being published, as while the subscriber reconnects
    const lost = { type: 'progress', at: new Date().toISOString(), percent: 70, message: 'unpublished', data: null };
    const lostId = String(await h!.redis.hincrby(h!.keys.task(id), 'event_seq', 1));
    await h!.redis.rpush(h!.keys.events(id), `${lostId} ${JSON.stringify(lost)}`);
    expect(await stream.next(2_000)).toMatchObject({ id: lostId, event: 'progress', data: { percent: 70, message: 'unpublished' } });
    await h!.store.start(id, 'w1', false);
    expect(await stream.next()).toMatchObject({ event: 'status', data: { status: 'running' } });
  });

  it('answers 400 and 404 problem+json before any streaming', async () => {
    const base = await listen();
    const malformed = await sse(`${base}/tasks/not-an-id/events`);
    expect(malformed.status).toBe(400);
    expect(malformed.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(await malformed.text())).toMatchObject({ code: 'MALFORMED_TASK_ID' });

    const unknown = await sse(`${base}/tasks/${UNKNOWN_ID}/events`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(await unknown.text())).toMatchObject({ code: 'TASK_NOT_FOUND' });

    const id = await submit(h!);
    for (const bad of ['abc', '1-2-3', '-1', '1-']) {
      const res = await h!.app.inject({ method: 'GET', url: `/tasks/${id}/events`, headers: { 'last-event-id': bad } });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'headers.last-event-id' }] });
    }
    expect((await h!.app.inject({ method: 'GET', url: `/tasks/${id}/events?last_event_id=x` })).json()).toMatchObject({ status: 400, errors: [{ field: 'querystring.last_event_id' }] });
    expect(h!.store.events.watchedCount()).toBe(0);
  });

  it('requires an API key when API_KEYS is set', async () => {
    const base = await listen({ API_KEYS: 'k1' });
    const id = await submit(h!, { 'x-api-key': 'k1' });
    const refused = await sse(`${base}/tasks/${id}/events`);
    expect(refused.status).toBe(401);
    expect(JSON.parse(await refused.text())).toMatchObject({ code: 'UNAUTHORIZED' });
    const allowed = await sse(`${base}/tasks/${id}/events`, { authorization: 'Bearer k1' });
    expect(await allowed.next()).toMatchObject({ event: 'state', data: { id } });
  });

  it('lets a browser follow tasks with a watch token instead of the API key: only the tasks it names, only until it expires', async () => {
    const base = await listen({ API_KEYS: 'k1' });
    const [mine, other] = [await submit(h!, { 'x-api-key': 'k1' }), await submit(h!, { 'x-api-key': 'k1' })];
    const issue = (payload: object, headers: Record<string, string> = { 'x-api-key': 'k1' }) =>
      h!.app.inject({ method: 'POST', url: '/events/tokens', payload, headers });
    expect((await issue({ task_ids: [mine] }, {})).statusCode).toBe(401); // issuing one needs the API key
    const issued = await issue({ task_ids: [mine], ttl_seconds: 60 });
    expect(issued.statusCode).toBe(201);
    const { token, expires_at, task_ids } = issued.json();
    expect(task_ids).toEqual([mine]);
    expect(Date.parse(expires_at) - Date.now()).toBeLessThanOrEqual(60_000);

    const allowed = await sse(`${base}/tasks/${mine}/events?access_token=${token}`);
    expect(await allowed.next()).toMatchObject({ event: 'state', data: { id: mine } });
    const forbidden = await sse(`${base}/tasks/${other}/events?access_token=${token}`);
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(await forbidden.text())).toMatchObject({ code: 'FORBIDDEN' });
    // a watch token opens the event streams only
    expect((await h!.app.inject({ method: 'GET', url: `/tasks/${mine}?access_token=${token}` })).statusCode).toBe(401);
    const tampered = await sse(`${base}/tasks/${mine}/events?access_token=${token.slice(0, -2)}xx`);
    expect(tampered.status).toBe(401);

    const expired = (await issue({ task_ids: [mine], ttl_seconds: 1 })).json().token;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const late = await sse(`${base}/tasks/${mine}/events?access_token=${expired}`);
    expect(late.status).toBe(401);
    expect(JSON.parse(await late.text())).toMatchObject({ detail: expect.stringContaining('expired') });

    const socket = await ws(`${base.replace('http', 'ws')}/tasks/events/ws?access_token=${token}`);
    socket.send({ type: 'subscribe', ids: [mine, other] });
    const answers = [await socket.next(), await socket.next()];
    expect(answers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'state', task_id: mine }),
        expect.objectContaining({ type: 'error', task_id: other, code: 'FORBIDDEN' }),
      ]),
    );
  });

  it('opens only the routes marked for watch tokens, whatever the request target says (fragments, repeated or re-spelled tokens)', async () => {
    const base = await listen({ API_KEYS: 'k1' });
    const [mine, other] = [await submit(h!, { 'x-api-key': 'k1' }), await submit(h!, { 'x-api-key': 'k1' })];
    const { token } = (await h!.app.inject({ method: 'POST', url: '/events/tokens', payload: { task_ids: [mine] }, headers: { 'x-api-key': 'k1' } })).json();
    const { port } = new URL(base);
    const raw = (method: string, target: string, body = '') =>
      rawRequest(Number(port), `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);

    // the router ends the path at '#', a string match on the URL did not: refused before routing
    const read = await raw('GET', `/tasks/${other}#&access_token=${token}&x=/events`);
    expect(read.status).toBe(400);
    expect(read.body).toMatchObject({ code: 'MALFORMED_REQUEST' });
    expect(read.text).not.toContain(other.slice(-12) + '","task"');
    const batch = await raw('POST', `/tasks/batch#&access_token=${token}&x=/events`, JSON.stringify({ tasks: [{ task: 'demo.echo' }] }));
    expect(batch.status).toBe(400);
    // without a fragment the route decides: a token never opens a route that is not marked for it
    expect((await raw('GET', `/tasks/${other}?access_token=${token}&x=/events`)).status).toBe(401);
    expect((await raw('GET', `/tasks/${mine}/?access_token=${token}`)).status).toBe(401);
    // one token, one spelling
    expect((await raw('GET', `/tasks/${mine}/events?access_token=${token}&access_token=${token}`)).status).toBe(401);
    expect((await raw('GET', `/tasks/${mine}/events?access_token=${token}=`)).status).toBe(401);
    expect((await raw('GET', `/tasks/${mine}/events?access_token=${token.replace(/\.([^.]*)$/, '.$1%3D')}`)).status).toBe(401);
  });

  it('lets a browser on an allowed origin (CORS_ORIGINS) call the API and open the stream; others get no CORS headers', async () => {
    const base = await listen({ API_KEYS: 'k1', CORS_ORIGINS: 'https://app.example.com' });
    const id = await submit(h!, { 'x-api-key': 'k1' });
    const preflight = await h!.app.inject({
      method: 'OPTIONS',
      url: '/events/tokens',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('x-api-key');

    const { token } = (await h!.app.inject({ method: 'POST', url: '/events/tokens', payload: { task_ids: [id] }, headers: { 'x-api-key': 'k1', origin: 'https://app.example.com' } })).json();
    const stream = await sse(`${base}/tasks/${id}/events?access_token=${token}`, { origin: 'https://app.example.com' });
    expect(stream.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(await stream.next()).toMatchObject({ event: 'state' });

    const elsewhere = await h!.app.inject({ method: 'GET', url: `/tasks/${id}`, headers: { 'x-api-key': 'k1', origin: 'https://evil.example' } });
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('stops watching when the client disconnects, and closing the app ends open streams', async () => {
    const base = await listen();
    const [a, b] = [await submit(h!), await submit(h!)];
    const first = await sse(`${base}/tasks/${a}/events`);
    const second = await sse(`${base}/tasks/${b}/events`);
    await first.next();
    await second.next();
    expect(h!.store.events.watchedCount()).toBe(2);
    first.close();
    await waitFor(() => (h!.store.events.watchedCount() === 1 ? true : undefined), { timeoutMs: 2_000, what: 'the watch of the closed stream to end' });

    await h!.close();
    h = undefined;
    await second.ended; // the server ended it instead of waiting for it
  });
});

describe('GET /tasks/events/ws (WebSocket)', () => {
  const wsUrl = (base: string) => `${base.replace(/^http/, 'ws')}/tasks/events/ws`;

  it('follows two tasks over one connection, each in order, and ends a subscription after its final status', async () => {
    const base = await listen({}, { eventsHeartbeatMs: 20 }); // frequent re-reads of the stream must not repeat events
    const [a, b] = [await submit(h!), await submit(h!)];
    const client = await ws(wsUrl(base));
    client.send({ type: 'subscribe', ids: [a, b] });
    const states = [await client.next(), await client.next()];
    expect(states.map((s) => s.task_id).sort()).toEqual([a, b].sort());
    for (const s of states) expect(s).toMatchObject({ type: 'state', event_id: '0', record: { id: s.task_id, status: 'pending' } });
    expect(h!.store.events.watchedCount()).toBe(2);

    await h!.store.start(a, 'w1', false);
    await h!.store.start(b, 'w2', false);
    await h!.store.setProgress(a, { percent: 50, message: 'a half', data: null });
    await succeed(h!, b, { b: true });
    await succeed(h!, a, { a: true });

    const frames: any[] = [];
    for (let i = 0; i < 5; i++) frames.push(await client.next());
    const of = (id: string) => frames.filter((f) => f.task_id === id);
    expect(of(a).map((f) => f.type + ':' + (f.status ?? f.percent))).toEqual(['status:running', 'progress:50', 'status:succeeded']);
    expect(of(b).map((f) => f.type + ':' + (f.status ?? f.percent))).toEqual(['status:running', 'status:succeeded']);
    expect(of(a)[1]).toMatchObject({ message: 'a half', event_id: '2' });
    expect(of(a)[2]).toMatchObject({ record: { id: a, result: { a: true } } });
    expect(of(b)[1]).toMatchObject({ record: { id: b, result: { b: true } } });
    expect(of(a)[0].record).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.pending()).toEqual([]);
    await waitFor(() => (h!.store.events.watchedCount() === 0 ? true : undefined), { timeoutMs: 2_000, what: 'finished tasks to be unsubscribed' });

    // a finished task subscribed later gets its final state, and nothing is left watched
    client.send({ type: 'subscribe', ids: [a] });
    expect(await client.next()).toMatchObject({ type: 'state', task_id: a, record: { status: 'succeeded', result: { a: true } } });
    expect(h!.store.events.watchedCount()).toBe(0);
  });

  it('stops the events of an unsubscribed task and keeps the others', async () => {
    const base = await listen();
    const [a, b] = [await submit(h!), await submit(h!)];
    const client = await ws(wsUrl(base));
    client.send({ type: 'subscribe', ids: [a, b] });
    await client.next();
    await client.next();
    client.send({ type: 'unsubscribe', ids: [a] });
    expect(await client.next()).toEqual({ type: 'unsubscribed', ids: [a] });
    expect(h!.store.events.watchedCount()).toBe(1);

    await h!.store.start(a, 'w1', false); // published first, so it would arrive first
    await h!.store.start(b, 'w1', false);
    expect(await client.next()).toMatchObject({ type: 'status', task_id: b, status: 'running' });
    expect(client.pending()).toEqual([]);
  });

  it('answers bad frames, unknown and malformed ids with errors and keeps the connection', async () => {
    const base = await listen();
    const id = await submit(h!);
    const client = await ws(wsUrl(base));
    client.sendRaw('not json');
    expect(await client.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
    client.send({ type: 'subscribe' });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE', message: expect.stringContaining('ids') });
    client.send({ type: 'shout', ids: [id] });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
    client.socket.send(Buffer.from('{}'), { binary: true });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });

    client.send({ type: 'subscribe', ids: [UNKNOWN_ID] });
    expect(await client.next()).toMatchObject({ type: 'error', task_id: UNKNOWN_ID, code: 'TASK_NOT_FOUND' });
    client.send({ type: 'subscribe', ids: ['../nope'] });
    expect(await client.next()).toMatchObject({ type: 'error', task_id: '../nope', code: 'MALFORMED_TASK_ID' });
    expect(h!.store.events.watchedCount()).toBe(0);

    client.send({ type: 'subscribe', ids: [id] });
    expect(await client.next()).toMatchObject({ type: 'state', task_id: id });
  });

  it('caps the subscriptions of one connection', async () => {
    const base = await listen({ EVENTS_MAX_SUBSCRIPTIONS: '2' });
    const ids = [await submit(h!), await submit(h!), await submit(h!)];
    const client = await ws(wsUrl(base));
    client.send({ type: 'subscribe', ids });
    const frames = [await client.next(), await client.next(), await client.next()];
    expect(frames.filter((f) => f.type === 'state')).toHaveLength(2);
    expect(frames.find((f) => f.type === 'error')).toMatchObject({ task_id: ids[2], code: 'TOO_MANY_SUBSCRIPTIONS' });
    // re-subscribing a followed task does not take another slot
    client.send({ type: 'subscribe', ids: [ids[0]] });
    expect(await client.next()).toMatchObject({ type: 'state', task_id: ids[0] });
    expect(h!.store.events.watchedCount()).toBe(2);
  });

  it('removes every watch of a connection when it closes', async () => {
    const base = await listen();
    const ids = [await submit(h!), await submit(h!)];
    const client = await ws(wsUrl(base));
    client.send({ type: 'subscribe', ids });
    await client.next();
    await client.next();
    expect(h!.store.events.watchedCount()).toBe(2);
    await client.close();
    await waitFor(() => (h!.store.events.watchedCount() === 0 ? true : undefined), { timeoutMs: 2_000, what: 'the watches to end' });
  });

  it('refuses an unauthenticated upgrade, accepts one with a key, and answers a plain GET with 426', async () => {
    const base = await listen({ API_KEYS: 'k1' });
    await expect(openWs(wsUrl(base))).rejects.toMatchObject({ statusCode: 401 });
    await expect(openWs(wsUrl(base), { 'x-api-key': 'wrong' })).rejects.toMatchObject({ statusCode: 401 });
    const id = await submit(h!, { 'x-api-key': 'k1' });
    const client = await ws(wsUrl(base), { 'x-api-key': 'k1' });
    client.send({ type: 'subscribe', ids: [id] });
    expect(await client.next()).toMatchObject({ type: 'state', task_id: id });

    const plain = await h!.app.inject({ method: 'GET', url: '/tasks/events/ws', headers: { 'x-api-key': 'k1' } });
    expect(plain.statusCode).toBe(426);
    expect(plain.json()).toMatchObject({ code: 'UPGRADE_REQUIRED' });
  });
});
