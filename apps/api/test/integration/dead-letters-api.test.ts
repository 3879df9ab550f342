import { afterEach, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Submits through the API, then plays the worker's part against the real store: one run that fails for good. */
async function failedTask(harness: ApiHarness, body: object): Promise<{ id: string; trace_id: string }> {
  const submitted = (await harness.app.inject({ method: 'POST', url: '/tasks', payload: body })).json() as { id: string; trace_id: string };
  expect(await harness.store.start(submitted.id, 'test-worker', false)).toMatchObject({ kind: 'started' });
  expect(await harness.store.finish(submitted.id, { status: 'failed', error: { type: 'Error', message: 'upstream down', retryable: true } })).toBe('ok');
  return submitted;
}

describe('dead letters', () => {
  it('lists a failed task with its submission, re-submits it as a new task once, and removes it', async () => {
    h = await startApiHarness();
    const original = await failedTask(h, { task: 'demo.echo', input: { n: 1 }, queue: 'high_priority', priority: 8, max_retries: 2, time_limit: 30, retry_on_timeout: true, metadata: { team: 'a' } });

    const list = await h.app.inject({ method: 'GET', url: '/dead-letters' });
    expect(list.statusCode).toBe(200);
    const { items, total, next_cursor } = list.json();
    expect(total).toBe(1);
    expect(next_cursor).toBeNull();
    expect(items[0]).toMatchObject({
      reason: 'failed',
      task_id: original.id,
      task: 'demo.echo',
      queue: 'high_priority',
      priority: 8,
      attempts: 1,
      input: { n: 1 },
      max_retries: 2,
      time_limit: 30,
      retry_on_timeout: true,
      metadata: { team: 'a' },
      error: { type: 'Error', message: 'upstream down' },
    });
    const deadId: string = items[0].id;
    expect((await h.app.inject({ method: 'GET', url: `/dead-letters/${deadId}` })).json()).toEqual(items[0]);

    const depthBefore = await h.broker.queueDepth('high_priority');
    const [first, second] = await Promise.all([
      h.app.inject({ method: 'POST', url: `/dead-letters/${deadId}/retry` }),
      h.app.inject({ method: 'POST', url: `/dead-letters/${deadId}/retry` }),
    ]);
    const accepted = [first, second].filter((r) => r.statusCode === 202).map((r) => r.json());
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    const retried = accepted[0];
    for (const other of accepted) expect(other.id).toBe(retried.id); // a double click submits once
    expect(retried).toMatchObject({ task: 'demo.echo', status: 'pending', input: { n: 1 }, queue: 'high_priority', priority: 8, max_retries: 2, time_limit: 30, retry_on_timeout: true, metadata: { team: 'a' }, attempts: 0 });
    expect(retried.id).not.toBe(original.id);
    expect(await h.broker.queueDepth('high_priority')).toBe(depthBefore + 1);

    expect((await h.app.inject({ method: 'GET', url: '/dead-letters' })).json()).toMatchObject({ items: [], total: 0 });
    const gone = await h.app.inject({ method: 'POST', url: `/dead-letters/${deadId}/retry` });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
  });

  it('keeps a message that is not a task: it can be read and deleted but not re-submitted', async () => {
    h = await startApiHarness();
    const id = await h.store.deadLetters.addMessage('default', Buffer.from('garbage'), { type: 'MALFORMED_MESSAGE', message: 'not a task', retryable: false });
    const dead = (await h.app.inject({ method: 'GET', url: `/dead-letters/${id}` })).json();
    expect(dead).toMatchObject({ reason: 'malformed', body: 'garbage', task: null, task_id: null });

    const retry = await h.app.inject({ method: 'POST', url: `/dead-letters/${id}/retry` });
    expect(retry.statusCode).toBe(409);
    expect(retry.headers['content-type']).toContain('application/problem+json');
    expect(retry.json()).toMatchObject({ code: 'DEAD_LETTER_NOT_RETRYABLE' });

    expect((await h.app.inject({ method: 'DELETE', url: `/dead-letters/${id}` })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'DELETE', url: `/dead-letters/${id}` })).statusCode).toBe(404);
  });

  it('pages newest first with a cursor, purges everything, and refuses malformed ids', async () => {
    h = await startApiHarness();
    const tasks = [];
    for (let i = 0; i < 3; i += 1) tasks.push(await failedTask(h, { task: 'demo.echo', input: i }));

    const page1 = (await h.app.inject({ method: 'GET', url: '/dead-letters?limit=2' })).json();
    expect(page1.items.map((d: { task_id: string }) => d.task_id)).toEqual([tasks[2]!.id, tasks[1]!.id]);
    expect(page1.total).toBe(3);
    const page2 = (await h.app.inject({ method: 'GET', url: `/dead-letters?limit=2&cursor=${page1.next_cursor}` })).json();
    expect(page2.items.map((d: { task_id: string }) => d.task_id)).toEqual([tasks[0]!.id]);
    expect(page2.next_cursor).toBeNull();

    const malformed = await h.app.inject({ method: 'GET', url: '/dead-letters/not-an-id' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'MALFORMED_DEAD_LETTER_ID' });
    // ids Redis itself would refuse are the caller's mistake (400), not an outage (503)
    for (const url of ['/dead-letters/99999999999999999999-0', '/dead-letters?cursor=0-0']) {
      expect((await h.app.inject({ method: 'GET', url })).json()).toMatchObject({ status: 400, code: 'MALFORMED_DEAD_LETTER_ID' });
    }

    const purge = await h.app.inject({ method: 'DELETE', url: '/dead-letters' });
    expect(purge.statusCode).toBe(200);
    expect(purge.json()).toEqual({ purged: 3 });
    expect((await h.app.inject({ method: 'GET', url: '/dead-letters' })).json()).toMatchObject({ items: [], total: 0 });
  });
});
