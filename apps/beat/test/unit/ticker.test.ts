import { describe, expect, it } from 'vitest';
import { ScheduleSpec } from '@celerity/core';
import { nextFires, planFires } from '../../src/ticker.js';

const at = (iso: string) => new Date(iso).getTime();
const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());
const spec = (fields: Record<string, unknown>) => ScheduleSpec.parse({ name: 's', task: 'demo.echo', ...fields });

describe('planFires', () => {
  it('fires nothing before the fire time, and the fire time itself once it has come', () => {
    const hourly = spec({ cron: '0 * * * *' });
    const cursor = at('2026-01-01T09:30:00Z');
    expect(planFires(hourly, cursor, at('2026-01-01T09:59:59.999Z'))).toBeNull();
    expect(planFires(hourly, cursor, at('2026-01-01T10:00:00Z'))).toEqual({ firesMs: [at('2026-01-01T10:00:00Z')], cursorMs: at('2026-01-01T10:00:00Z'), skipped: 0 });
    // the cursor is past it: already decided
    expect(planFires(hourly, at('2026-01-01T10:00:00Z'), at('2026-01-01T10:00:00.400Z'))).toBeNull();
  });

  it('run_once (the default) fires the latest missed time once after downtime', () => {
    const hourly = spec({ cron: '0 * * * *' });
    const plan = planFires(hourly, at('2026-01-01T09:30:00Z'), at('2026-01-01T14:10:00Z'))!;
    expect(iso(plan.firesMs)).toEqual(['2026-01-01T14:00:00.000Z']);
    expect(plan.cursorMs).toBe(at('2026-01-01T14:00:00Z'));
    expect(plan.skipped).toBeGreaterThan(0);
  });

  it('skip fires an on-time fire but drops missed ones, moving the cursor past them', () => {
    const hourly = spec({ cron: '0 * * * *', misfire: 'skip' });
    expect(iso(planFires(hourly, at('2026-01-01T09:30:00Z'), at('2026-01-01T10:00:01Z'))!.firesMs)).toEqual(['2026-01-01T10:00:00.000Z']);
    const late = planFires(hourly, at('2026-01-01T09:30:00Z'), at('2026-01-01T14:10:00Z'))!;
    expect(late.firesMs).toEqual([]);
    expect(late.cursorMs).toBe(at('2026-01-01T14:00:00Z'));
  });

  it('catch_up(N) fires the latest N missed times, oldest first', () => {
    const hourly = spec({ cron: '0 * * * *', misfire: 'catch_up(3)' });
    const plan = planFires(hourly, at('2026-01-01T09:30:00Z'), at('2026-01-01T14:10:00Z'))!;
    expect(iso(plan.firesMs)).toEqual(['2026-01-01T12:00:00.000Z', '2026-01-01T13:00:00.000Z', '2026-01-01T14:00:00.000Z']);
    expect(plan.cursorMs).toBe(at('2026-01-01T14:00:00Z'));
    // fewer missed than N: all of them
    expect(iso(planFires(hourly, at('2026-01-01T11:30:00Z'), at('2026-01-01T13:00:00Z'))!.firesMs)).toEqual(['2026-01-01T12:00:00.000Z', '2026-01-01T13:00:00.000Z']);
  });

  it('stays cheap for a large catch_up when the beat keeps up, and exact after a long downtime', () => {
    const everySecond = spec({ cron: '* * * * * *', misfire: 'catch_up(9999)' });
    const started = performance.now();
    for (let i = 0; i < 100; i += 1) expect(planFires(everySecond, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:01.100Z'))!.firesMs).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(500);
    const dayDown = planFires(spec({ cron: '* * * * * *', misfire: 'catch_up(3)' }), at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00.500Z'))!;
    expect(iso(dayDown.firesMs)).toEqual(['2026-01-01T23:59:58.000Z', '2026-01-01T23:59:59.000Z', '2026-01-02T00:00:00.000Z']);
    expect(dayDown.cursorMs).toBe(at('2026-01-02T00:00:00Z'));
  });

  it('reads six fields as seconds first, and intervals as multiples of `every` since the epoch', () => {
    const everyTenSeconds = spec({ cron: '*/10 * * * * *' });
    expect(iso(planFires(everyTenSeconds, at('2026-01-01T00:00:05Z'), at('2026-01-01T00:00:10Z'))!.firesMs)).toEqual(['2026-01-01T00:00:10.000Z']);
    const every90 = spec({ every: 90 });
    expect(iso(nextFires(every90, at('2026-01-01T00:00:00Z'), 3))).toEqual(['2026-01-01T00:01:30.000Z', '2026-01-01T00:03:00.000Z', '2026-01-01T00:04:30.000Z']);
    expect(iso(planFires(spec({ every: 90, misfire: 'catch_up(2)' }), at('2026-01-01T00:00:00Z'), at('2026-01-01T00:05:00Z'))!.firesMs)).toEqual([
      '2026-01-01T00:03:00.000Z',
      '2026-01-01T00:04:30.000Z',
    ]);
  });
});

describe('time zones and DST (croner, as Vixie cron)', () => {
  it('fires at local time in the schedule\'s zone', () => {
    const nineInTokyo = spec({ cron: '0 9 * * *', timezone: 'Asia/Tokyo' });
    expect(iso(nextFires(nineInTokyo, at('2026-06-01T00:00:00Z'), 2))).toEqual(['2026-06-02T00:00:00.000Z', '2026-06-03T00:00:00.000Z']);
    const nineInNewYork = spec({ cron: '0 9 * * *', timezone: 'America/New_York' });
    // EST (UTC-5) in winter, EDT (UTC-4) in summer
    expect(iso(nextFires(nineInNewYork, at('2026-01-10T00:00:00Z'), 1))).toEqual(['2026-01-10T14:00:00.000Z']);
    expect(iso(nextFires(nineInNewYork, at('2026-07-10T00:00:00Z'), 1))).toEqual(['2026-07-10T13:00:00.000Z']);
  });

  it('spring forward: a fixed time in the skipped hour runs once, at the end of the gap', () => {
    // Europe/Berlin skips 02:00-03:00 on 2026-03-29
    const twoThirty = spec({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    expect(iso(nextFires(twoThirty, at('2026-03-28T00:00:00Z'), 3))).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, the first valid time after the gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    // an interval job skips the times that do not exist
    const everyHalfHourAtTwo = spec({ cron: '*/30 2 * * *', timezone: 'Europe/Berlin' });
    expect(iso(nextFires(everyHalfHourAtTwo, at('2026-03-28T23:00:00Z'), 1))).toEqual(['2026-03-30T00:00:00.000Z']);
  });

  it('fall back: a fixed time in the repeated hour runs once; an interval job runs in both passes', () => {
    // Europe/Berlin repeats 02:00-03:00 on 2026-10-25
    const twoThirty = spec({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    expect(iso(nextFires(twoThirty, at('2026-10-24T12:00:00Z'), 2))).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    const everyHalfHourAtTwo = spec({ cron: '*/30 2 * * *', timezone: 'Europe/Berlin' });
    expect(iso(nextFires(everyHalfHourAtTwo, at('2026-10-24T23:00:00Z'), 4))).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
    ]);
  });

  it('a missed-fire plan across a DST change counts real fire times', () => {
    const hourly = spec({ cron: '0 * * * *', timezone: 'Europe/Berlin', misfire: 'catch_up(4)' });
    // 00:30Z..03:10Z on 2026-10-25 spans the repeated hour: 4 real hours, 4 fires
    const plan = planFires(hourly, at('2026-10-24T23:30:00Z'), at('2026-10-25T03:10:00Z'))!;
    expect(iso(plan.firesMs)).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00.000Z']);
  });
});

describe('ScheduleSpec', () => {
  it('takes five or six cron fields, a known time zone, or an interval, and says what is wrong otherwise', () => {
    const problems = (fields: Record<string, unknown>) => ScheduleSpec.safeParse({ name: 's', task: 'demo.echo', ...fields }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ cron: '0 * * * *' })).toBeUndefined();
    expect(problems({ cron: '0 0 * * * *', timezone: 'Europe/Berlin' })).toBeUndefined();
    expect(problems({ every: 30 })).toBeUndefined();
    expect(problems({ cron: '* * *' })).toEqual([expect.stringMatching(/^cron: .*five fields/)]);
    expect(problems({ cron: '* * * * * * *' })).toEqual([expect.stringMatching(/^cron: /)]);
    expect(problems({ cron: '61 * * * *' })).toEqual([expect.stringMatching(/^cron: /)]);
    expect(problems({ cron: '0 * * * *', timezone: 'Mars/Olympus' })).toEqual([expect.stringMatching(/^timezone: unknown time zone/)]);
    expect(problems({})).toEqual(['cron: give cron (an expression) or every (seconds)']);
    expect(problems({ cron: '0 * * * *', every: 5 })).toEqual(['every: give cron or every, not both']);
    expect(problems({ every: 5, timezone: 'UTC' })).toEqual(['timezone: timezone applies to cron only']);
    expect(problems({ every: 5, misfire: 'catch_up(0)' })).toEqual([expect.stringMatching(/^misfire: /)]);
    expect(problems({ every: 5, misfire: 'always' })).toEqual([expect.stringMatching(/^misfire: /)]);
    expect(problems({ every: 5, countdown: 3 })).toHaveLength(1);
    expect(problems({ name: '../x', every: 5 })).toEqual([expect.stringMatching(/^name: /)]);
  });
});
