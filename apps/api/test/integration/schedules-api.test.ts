import { afterEach, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const call = (harness: ApiHarness, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  harness.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

describe('/schedules', () => {
  it('creates a schedule and shows its next fire times; refuses a taken name, a bad cron and a task POST /tasks would refuse', async () => {
    h = await startApiHarness();
    const created = await call(h, 'POST', '/schedules', { name: 'nightly', task: 'demo.echo', input: { day: 'yesterday' }, cron: '0 2 * * *', timezone: 'Europe/Berlin' });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/schedules/nightly');
    const body = created.json();
    expect(body).toMatchObject({ name: 'nightly', task: 'demo.echo', input: { day: 'yesterday' }, cron: '0 2 * * *', timezone: 'Europe/Berlin', paused: false, source: 'api', last_run: null, pending_fires: [] });
    expect(body.next_runs).toHaveLength(5);
    for (const run of body.next_runs as string[]) {
      expect(Date.parse(run)).toBeGreaterThan(Date.now());
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(new Date(run))).toBe('02:00');
    }
    expect((await call(h, 'GET', '/schedules/nightly')).json()).toEqual(body);

    const again = await call(h, 'POST', '/schedules', { name: 'nightly', task: 'demo.echo', every: 60 });
    expect(again.json()).toMatchObject({ status: 409, code: 'SCHEDULE_CONFLICT' });
    const badCron = await call(h, 'POST', '/schedules', { name: 'bad', task: 'demo.echo', cron: '0 25 * * *' });
    expect(badCron.statusCode).toBe(400);
    expect(badCron.headers['content-type']).toContain('application/problem+json');
    expect(badCron.json().errors).toEqual([expect.objectContaining({ field: 'body.cron' })]);
    expect((await call(h, 'POST', '/schedules', { name: 'bad', task: 'demo.echo' })).json()).toMatchObject({ status: 400, errors: [{ field: 'body.cron' }] });
    expect((await call(h, 'POST', '/schedules', { name: 'bad', task: 'demo.noSuchJob', every: 5 })).json()).toMatchObject({ status: 422, code: 'UNKNOWN_JOB' });
    expect((await call(h, 'POST', '/schedules', { name: 'bad', task: 'demo.echo', every: 5, queue: 'nope' })).json()).toMatchObject({ status: 422, code: 'UNKNOWN_QUEUE' });
    expect((await call(h, 'POST', '/schedules', { name: 'no/slash', task: 'demo.echo', every: 5 })).statusCode).toBe(400);
    expect((await call(h, 'GET', '/schedules')).json().items.map((s: { name: string }) => s.name)).toEqual(['nightly']);
    expect((await call(h, 'GET', '/schedules/unknown')).json()).toMatchObject({ status: 404, code: 'SCHEDULE_NOT_FOUND' });
  });

  it('patches a schedule (null removes a field, cron ↔ every), checking the result', async () => {
    h = await startApiHarness();
    await call(h, 'POST', '/schedules', { name: 'sync', task: 'demo.echo', cron: '*/5 * * * *', priority: 7 });
    const patched = await call(h, 'PATCH', '/schedules/sync', { every: 3600, priority: null });
    expect(patched.statusCode).toBe(200);
    const body = patched.json();
    expect(body).toMatchObject({ name: 'sync', every: 3600 });
    expect(body).not.toHaveProperty('cron');
    expect(body).not.toHaveProperty('priority');
    for (const run of body.next_runs as string[]) expect(Date.parse(run) % 3_600_000).toBe(0);

    expect((await call(h, 'PATCH', '/schedules/sync', { every: null })).json()).toMatchObject({ status: 422, code: 'INVALID_SCHEDULE' });
    expect((await call(h, 'PATCH', '/schedules/sync', { task: 'demo.noSuchJob' })).json()).toMatchObject({ status: 422, code: 'UNKNOWN_JOB' });
    expect((await call(h, 'PATCH', '/schedules/sync', { name: 'other' })).statusCode).toBe(400);
    expect((await call(h, 'PATCH', '/schedules/missing', { every: 5 })).statusCode).toBe(404);
  });

  it('pauses and resumes; triggers a run now, shown as the last run with its task status; deletes', async () => {
    h = await startApiHarness();
    await call(h, 'POST', '/schedules', { name: 'report', task: 'demo.echo', input: 'r', every: 86_400, queue: 'low_priority' });
    const paused = (await call(h, 'POST', '/schedules/report/pause')).json();
    expect(paused).toMatchObject({ paused: true, next_runs: [] });
    expect((await call(h, 'POST', '/schedules/report/resume')).json()).toMatchObject({ paused: false, next_runs: expect.arrayContaining([expect.any(String)]) });

    const triggered = await call(h, 'POST', '/schedules/report/trigger');
    expect(triggered.statusCode).toBe(202);
    const task = triggered.json();
    expect(task).toMatchObject({ task: 'demo.echo', input: 'r', queue: 'low_priority', status: 'pending', schedule: { name: 'report' } });
    expect(await h.broker.queueDepth('low_priority')).toBe(1);
    expect((await call(h, 'GET', '/schedules/report')).json().last_run).toEqual({ fire_at: task.schedule.fire_at, fired_at: expect.any(String), task_id: task.id, status: 'pending', error: null });
    expect((await call(h, 'GET', '/tasks?schedule=report')).json().items.map((t: { id: string }) => t.id)).toEqual([task.id]);
    expect((await call(h, 'POST', '/schedules/nope/trigger')).statusCode).toBe(404);
    expect((await call(h, 'POST', '/schedules/nope/pause')).statusCode).toBe(404);

    expect((await call(h, 'DELETE', '/schedules/report')).statusCode).toBe(204);
    expect((await call(h, 'GET', '/schedules/report')).statusCode).toBe(404);
    expect((await call(h, 'DELETE', '/schedules/report')).statusCode).toBe(404);
    // the tasks it fired stay listed
    expect((await call(h, 'GET', '/tasks?schedule=report')).json().items).toHaveLength(1);
  });

  it('needs an API key like every task route', async () => {
    h = await startApiHarness({ API_KEYS: 'k-one' });
    expect((await call(h, 'GET', '/schedules')).statusCode).toBe(401);
    expect((await call(h, 'POST', '/schedules/any/trigger')).statusCode).toBe(401);
    const ok = await h.app.inject({ method: 'POST', url: '/schedules', headers: { 'x-api-key': 'k-one' }, payload: { name: 'keyed', task: 'demo.echo', every: 60 } });
    expect(ok.statusCode).toBe(201);
  });
});
