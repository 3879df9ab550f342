import { afterEach, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../harness.js';

/** Abuse cases (issue 9): each test fails without the limit or check it names. */
let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

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
