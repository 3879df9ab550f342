import { afterEach, describe, expect, it } from 'vitest';
import type { ResolveHost } from '@celerity/webhook';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const submit = (harness: ApiHarness, callback_url: string) =>
  harness.app.inject({ method: 'POST', url: '/tasks', payload: { task: 'demo.echo', callback_url } });

describe('callback_url', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', /loopback/],
    ['http://10.1.2.3/hook', /private/],
    ['http://169.254.169.254/latest/meta-data/', /link-local/],
    ['http://[::1]/hook', /loopback/],
    ['http://localhost:9999/hook', /localhost resolves to 127\.0\.0\.1/],
    ['ftp://example.com/hook', /http or https/],
    ['https://user:secret@93.184.216.34/hook', /username or password/],
  ])('refuses %s with 422 and no record', async (url, reason) => {
    h = await startApiHarness();
    const res = await submit(h, url);
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code: 'CALLBACK_URL_REFUSED', detail: expect.stringMatching(reason), errors: [{ field: 'callback_url' }] });
    expect((await h.store.list({ limit: 10 })).items).toHaveLength(0);
  });

  it('names the task of a batch whose callback_url is refused', async () => {
    h = await startApiHarness();
    const tasks = [{ task: 'demo.echo', callback_url: 'https://93.184.216.34/ok' }, { task: 'demo.echo', callback_url: 'http://10.0.0.1/hook' }];
    const res = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: { tasks } });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'CALLBACK_URL_REFUSED', detail: expect.stringMatching(/^tasks\[1\]: /), errors: [{ field: 'tasks.1.callback_url' }] });
  });

  it('accepts a public address, and loopback with WEBHOOK_ALLOW_PRIVATE=true', async () => {
    h = await startApiHarness();
    const res = await submit(h, 'https://93.184.216.34/hooks/celerity');
    expect(res.statusCode).toBe(202);
    expect(res.json().callback).toEqual({ url: 'https://93.184.216.34/hooks/celerity', state: 'pending', attempts: 0, last_status: null, last_error: null });
    await h.close();
    h = await startApiHarness({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    expect((await submit(h, 'http://localhost:9999/hook')).statusCode).toBe(202);
  });

  it('POST /tasks/:id/callback/retry sends a failed callback again, and refuses the others', async () => {
    h = await startApiHarness();
    const withCallback = (await submit(h, 'https://93.184.216.34/hook')).json() as { id: string };
    const without = (await h.app.inject({ method: 'POST', url: '/tasks', payload: { task: 'demo.echo' } })).json() as { id: string };
    const retry = (id: string) => h!.app.inject({ method: 'POST', url: `/tasks/${id}/callback/retry` });

    const pending = await retry(withCallback.id);
    expect(pending.statusCode).toBe(409);
    expect(pending.json()).toMatchObject({ code: 'CALLBACK_NOT_RETRYABLE', detail: expect.stringContaining('pending') });
    expect((await retry(without.id)).json()).toMatchObject({ code: 'CALLBACK_NOT_RETRYABLE', detail: 'this task has no callback_url' });
    expect((await retry('0190a7d2-0000-7000-8000-000000000000')).statusCode).toBe(404);
    expect((await retry('nope')).statusCode).toBe(400);

    // what the worker records after the last attempt fails
    await h.store.callbacks.recordAttempt(withCallback.id, { state: 'failed', lastStatus: 500, lastError: 'HTTP 500' });
    const again = await retry(withCallback.id);
    expect(again.statusCode).toBe(202);
    expect(again.json().callback).toEqual({ url: 'https://93.184.216.34/hook', state: 'pending', attempts: 0, last_status: 500, last_error: 'HTTP 500' });
    expect(await h.redis.zscore(h.keys.callbacks, withCallback.id)).not.toBeNull();
  });

  it('refuses a public host on a port other than 80/443, unless WEBHOOK_ALLOWED_PORTS names it', async () => {
    h = await startApiHarness();
    const res = await submit(h, 'https://93.184.216.34:6379/hook');
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'CALLBACK_URL_REFUSED', detail: expect.stringMatching(/port 6379 is not allowed/) });
    await h.close();
    h = await startApiHarness({ WEBHOOK_ALLOWED_PORTS: '443,8443' });
    expect((await submit(h, 'https://93.184.216.34:8443/hook')).statusCode).toBe(202);
  });
});

describe('callback hosts resolved at submit', () => {
  const batch = (count: number, host: (i: number) => string) => ({
    tasks: Array.from({ length: count }, (_, i) => ({ task: 'demo.echo', callback_url: `https://${host(i)}/hook` })),
  });

  it('a batch stops at its first refusal: 100 unknown hosts cost a handful of queries, not 100', async () => {
    const asked: string[] = [];
    const resolve: ResolveHost = async (hostname) => {
      asked.push(hostname);
      throw Object.assign(new Error(`queryA ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    };
    h = await startApiHarness({}, { resolveCallbackHost: resolve });
    const res = await h.app.inject({ method: 'POST', url: '/tasks/batch', payload: batch(100, (i) => `h${i}.example`) });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'CALLBACK_URL_REFUSED', errors: [{ field: 'tasks.0.callback_url' }] });
    expect(asked.length).toBeLessThanOrEqual(4);
  });

  it('names that never answer are given up after WEBHOOK_DNS_TIMEOUT (503), and other callers are not held up meanwhile', async () => {
    const resolve: ResolveHost = (hostname) => (hostname === 'hooks.example.com' ? Promise.resolve(['93.184.216.34']) : new Promise<string[]>(() => undefined));
    // two batches take 4 + 4 of the 8 slots, each for at most the deadline
    h = await startApiHarness({ WEBHOOK_DNS_TIMEOUT: '0.5', WEBHOOK_DNS_CONCURRENCY: '8' }, { resolveCallbackHost: resolve });
    const started = Date.now();
    const stuck = h.app.inject({ method: 'POST', url: '/tasks/batch', payload: batch(500, (i) => `slow${i}.example`) });
    const stuckToo = h.app.inject({ method: 'POST', url: '/tasks/batch', payload: batch(500, (i) => `late${i}.example`) });
    await new Promise((r) => setTimeout(r, 100)); // both batches are resolving
    const other = await submit(h, 'https://hooks.example.com/hook');
    expect(other.statusCode).toBe(202);
    expect(Date.now() - started).toBeLessThan(1_000); // waited at most one deadline for a slot
    expect((await stuckToo).statusCode).toBe(503);
    const res = await stuck;
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.json()).toMatchObject({ code: 'DNS_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await h.store.list({ limit: 10 })).items).toHaveLength(1);
  });
});
