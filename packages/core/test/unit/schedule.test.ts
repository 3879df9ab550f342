import { describe, expect, it } from 'vitest';
import { assertTaskId } from '../../src/ids.js';
import { fireSubmission, fireTaskId, patchSchedule, ScheduleSpec } from '../../src/schedule.js';

describe('fireTaskId', () => {
  it('is the same UUIDv7 for the same schedule and fire time, with the fire time as its time', () => {
    const fireAt = Date.parse('2026-03-01T02:00:00Z');
    const id = fireTaskId('nightly', fireAt);
    expect(() => assertTaskId(id)).not.toThrow();
    expect(fireTaskId('nightly', fireAt)).toBe(id);
    expect(parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(fireAt);
    expect(fireTaskId('nightly', fireAt + 1000)).not.toBe(id);
    expect(fireTaskId('hourly', fireAt)).not.toBe(id);
  });
});

describe('fireSubmission', () => {
  it('puts the task on the cron queue unless the schedule names one, and marks it with the fire', () => {
    const spec = ScheduleSpec.parse({ name: 'n', task: 'demo.echo', input: { a: 1 }, every: 60, max_retries: 1 });
    expect(fireSubmission(spec, new Date('2026-01-01T00:00:00Z'))).toMatchObject({
      task: 'demo.echo',
      input: { a: 1 },
      queue: 'cron',
      max_retries: 1,
      schedule: { name: 'n', fire_at: '2026-01-01T00:00:00.000Z' },
    });
    expect(fireSubmission({ ...spec, queue: 'high_priority' }, new Date(0)).queue).toBe('high_priority');
  });

  it('passes expires on as seconds from the submission, so a late fire can still be accepted and then expire', () => {
    const spec = ScheduleSpec.parse({ name: 'n', task: 'demo.echo', every: 60, expires: 30 });
    expect(fireSubmission(spec, new Date(0)).expires).toBe(30);
    expect(fireSubmission(ScheduleSpec.parse({ name: 'n', task: 'demo.echo', every: 60 }), new Date(0)).expires).toBeUndefined();
    expect(ScheduleSpec.safeParse({ name: 'n', task: 'demo.echo', every: 60, expires: '2026-01-01T00:00:00Z' }).success).toBe(false);
  });
});

describe('patchSchedule', () => {
  it('merges a patch (null removes a field), switches between cron and every, and checks the result', () => {
    const spec = ScheduleSpec.parse({ name: 'n', task: 'demo.echo', cron: '0 * * * *', timezone: 'Europe/Berlin', priority: 3 });
    expect(patchSchedule(spec, { every: 30 }).data).toEqual({ name: 'n', task: 'demo.echo', every: 30, priority: 3 });
    expect(patchSchedule(spec, { priority: null, cron: '*/5 * * * *' }).data).toEqual({ name: 'n', task: 'demo.echo', cron: '*/5 * * * *', timezone: 'Europe/Berlin' });
    expect(patchSchedule(spec, { cron: null }).success).toBe(false);
  });
});
