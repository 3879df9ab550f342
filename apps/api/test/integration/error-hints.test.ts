/** Problems that tell a newcomer what to do, and echo nothing secret (issue 12's small error items). */
import { afterEach, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('error problems that teach', () => {
  it('GET / is a 404 that points at /docs and /openapi.json', async () => {
    h = await startApiHarness();
    const res = await h.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND', instance: '/', detail: expect.stringContaining('/docs') });
  });

  it('a body that is not JSON: 415 saying to send Content-Type: application/json', async () => {
    h = await startApiHarness();
    const res = await h.app.inject({ method: 'POST', url: '/tasks', payload: 'task=demo.echo', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      detail: 'Content-Type "application/x-www-form-urlencoded" is not supported: send a JSON body with Content-Type: application/json',
    });
  });

  it('"../etc.passwd" is refused naming the rule (dotted identifiers), not an empty segment', async () => {
    h = await startApiHarness();
    const res = await h.app.inject({ method: 'POST', url: '/tasks', payload: { task: '../etc.passwd' } });
    expect(res.statusCode).toBe(422);
    const { detail } = res.json() as { detail: string };
    expect(detail).not.toContain('segment ""');
    expect(detail).toMatch(/^task name "\.\.\/etc\.passwd" has an empty segment: a task name is module\.path\.export/);
    const slash = await h.app.inject({ method: 'POST', url: '/tasks', payload: { task: 'demo/echo.run' } });
    expect(slash.json().detail).toMatch(/^task name segment "demo\/echo" is not an identifier/);
  });

  it("a watch token used for another task: the 403 problem's instance is the path, without the token", async () => {
    h = await startApiHarness({ API_KEYS: 'key-a' });
    const key = { 'x-api-key': 'key-a' };
    const mine = (await h.app.inject({ method: 'POST', url: '/tasks', payload: { task: 'demo.echo' }, headers: key })).json().id as string;
    const other = (await h.app.inject({ method: 'POST', url: '/tasks', payload: { task: 'demo.echo' }, headers: key })).json().id as string;
    const token = (await h.app.inject({ method: 'POST', url: '/events/tokens', payload: { task_ids: [mine] }, headers: key })).json().token as string;
    const res = await h.app.inject({ method: 'GET', url: `/tasks/${other}/events?access_token=${token}` });
    expect(res.statusCode).toBe(403);
    expect(res.body).not.toContain(token);
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN', instance: `/tasks/${other}/events` });
  });
});
