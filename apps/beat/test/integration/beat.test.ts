import { createLogger, createRouter, fireSubmission, fireTaskId, newTraceId, ScheduleSpec } from '@celerity/core';
import { afterEach, describe, expect, it } from 'vitest';
import { connectBroker } from '@celerity/broker';
import { createProducerFromConfig } from '@celerity/producer';
import { createBeat } from '../../src/beat.js';
import { applyConfigSchedules } from '../../src/schedules.js';
import { startBeatHarness, type BeatHarness } from '../harness.js';

let h: BeatHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const HOUR = 3_600_000;
const log = createLogger({ service: 'test', level: 'silent' });
const fireTimes = async (harness: BeatHarness, name: string) => (await harness.firedTasks(name)).map((t) => t.schedule!.fire_at);

describe('beat (real Redis and RabbitMQ, manual clock)', () => {
  it('fires at the fire time, never before, as an ordinary task on the cron queue with a deterministic id', async () => {
    h = await startBeatHarness('2026-01-01T09:30:00Z');
    await h.define({ name: 'hourly', cron: '0 * * * *', input: { report: 'sales' } });
    const beat = h.beat();

    h.clock.set('2026-01-01T09:59:59.999Z');
    expect((await beat.tick()).fired).toEqual([]);
    h.clock.set('2026-01-01T10:00:00.000Z');
    const report = await beat.tick();
    expect(report.fired).toEqual([{ name: 'hourly', fireAtMs: Date.parse('2026-01-01T10:00:00Z'), outcome: 'fired' }]);
    expect(report.nextFireMs).toBe(Date.parse('2026-01-01T11:00:00Z'));
    expect((await beat.tick()).fired).toEqual([]); // decided: not again

    const [task] = await h.firedTasks('hourly');
    expect(task).toMatchObject({
      id: fireTaskId('hourly', Date.parse('2026-01-01T10:00:00Z')),
      task: 'demo.echo',
      status: 'pending',
      queue: 'cron',
      input: { report: 'sales' },
      schedule: { name: 'hourly', fire_at: '2026-01-01T10:00:00.000Z' },
    });
    expect(await h.broker.queueDepth('cron')).toBe(1);
    const schedule = await h.store.schedules.get('hourly');
    expect(schedule!.state.lastRun).toEqual({ fire_at: '2026-01-01T10:00:00.000Z', task_id: task!.id, fired_at: '2026-01-01T10:00:00.000Z', error: null });
    expect(schedule!.state.pending).toEqual([]);
  });

  it('fires each time once however many beats tick at the same moments (two days of a 5-minute schedule)', async () => {
    h = await startBeatHarness('2026-01-01T00:00:00Z');
    await h.define({ name: 'five', cron: '*/5 * * * *', task: 'demo.noop' });
    const beats = [h.beat(), h.beat(), h.beat()];
    const fired: number[] = [];
    for (let step = 0; step < 2 * 24 * 12; step += 1) {
      h.clock.advance(5 * 60_000);
      const reports = await Promise.all(beats.map((b) => b.tick()));
      for (const r of reports) fired.push(...r.fired.map((f) => f.fireAtMs));
    }
    expect(fired).toHaveLength(2 * 24 * 12);
    expect(new Set(fired).size).toBe(fired.length);
    const times = await fireTimes(h, 'five');
    expect(times).toHaveLength(2 * 24 * 12);
    expect(times[0]).toBe('2026-01-01T00:05:00.000Z');
    expect(times.at(-1)).toBe('2026-01-03T00:00:00.000Z');
  }, 60_000);

  it('drops ids of long-expired tasks from the schedule\'s task index as it fires', async () => {
    h = await startBeatHarness('2026-01-01T09:30:00Z', { RESULT_EXPIRES: '3600' });
    await h.define({ name: 'hourly', cron: '0 * * * *' });
    const beat = h.beat();
    for (const day of ['01', '02', '03']) {
      h.clock.set(`2026-01-${day}T10:00:00.100Z`);
      await beat.tick();
    }
    // fired on the 1st, 2nd and 3rd; RESULT_EXPIRES 1 h plus a day of grace keeps only the last two
    const ids = await h.redis.zrange(h.keys.scheduleTasks('hourly'), 0, -1);
    expect(ids).toEqual([fireTaskId('hourly', Date.parse('2026-01-02T10:00:00Z')), fireTaskId('hourly', Date.parse('2026-01-03T10:00:00Z'))]);
  });

  it('after downtime: run_once fires the latest missed time once, skip fires none, catch_up(3) the latest three', async () => {
    h = await startBeatHarness('2026-01-01T09:30:00Z');
    await h.define({ name: 'once', cron: '0 * * * *' });
    await h.define({ name: 'skipper', cron: '0 * * * *', misfire: 'skip' });
    await h.define({ name: 'catcher', cron: '0 * * * *', misfire: 'catch_up(3)' });
    const beat = h.beat();
    h.clock.set('2026-01-01T10:00:00.200Z');
    await beat.tick(); // all three fire on time
    h.clock.set('2026-01-01T15:20:00Z'); // five hours down
    await beat.tick();
    h.clock.set('2026-01-01T16:00:00.300Z'); // back on time
    await beat.tick();

    expect(await fireTimes(h, 'once')).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T15:00:00.000Z', '2026-01-01T16:00:00.000Z']);
    expect(await fireTimes(h, 'skipper')).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T16:00:00.000Z']);
    expect(await fireTimes(h, 'catcher')).toEqual([
      '2026-01-01T10:00:00.000Z',
      '2026-01-01T13:00:00.000Z',
      '2026-01-01T14:00:00.000Z',
      '2026-01-01T15:00:00.000Z',
      '2026-01-01T16:00:00.000Z',
    ]);
  });

  it('counts real hours across DST changes in the schedule\'s time zone', async () => {
    h = await startBeatHarness('2026-03-28T22:30:00Z');
    await h.define({ name: 'berlin-two-thirty', cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    await h.define({ name: 'berlin-hourly', cron: '0 * * * *', timezone: 'Europe/Berlin' });
    const beat = h.beat();
    // tick every 10 minutes through the night of the spring-forward change (02:00 CET → 03:00 CEST)
    for (let i = 0; i < 6 * 6; i += 1) {
      h.clock.advance(10 * 60_000);
      await beat.tick();
    }
    expect(await fireTimes(h, 'berlin-two-thirty')).toEqual(['2026-03-29T01:00:00.000Z']); // 03:00 CEST: 02:30 did not exist
    expect(await fireTimes(h, 'berlin-hourly')).toHaveLength(6); // 23:00Z → 04:30Z: six real hours
  });

  it('a fire claimed by a beat that died is taken over once its claim expires, and fires once', async () => {
    h = await startBeatHarness('2026-01-01T09:59:00Z');
    await h.define({ name: 'hourly', cron: '0 * * * *' });
    const fireAtMs = Date.parse('2026-01-01T10:00:00Z');
    // a beat that claimed the fire and died before submitting it
    const read = (await h.store.schedules.get('hourly'))!.state;
    expect(await h.store.schedules.claim('hourly', read, fireAtMs, [fireAtMs], 'dead-beat', fireAtMs + 10_000)).toBe('ok');
    const survivor = h.beat({ claimLeaseMs: 10_000 });
    h.clock.set('2026-01-01T10:00:05Z');
    expect((await survivor.tick()).fired).toEqual([]); // its claim still holds
    h.clock.set('2026-01-01T10:00:10Z');
    expect((await survivor.tick()).fired).toEqual([{ name: 'hourly', fireAtMs, outcome: 'fired' }]);
    expect(await fireTimes(h, 'hourly')).toEqual(['2026-01-01T10:00:00.000Z']);
  });

  it('a fire whose task was submitted before its beat died is not submitted again when taken over', async () => {
    h = await startBeatHarness('2026-01-01T09:59:00Z');
    const spec = await h.define({ name: 'hourly', cron: '0 * * * *' });
    const fireAtMs = Date.parse('2026-01-01T10:00:00Z');
    const read = (await h.store.schedules.get('hourly'))!.state;
    await h.store.schedules.claim('hourly', read, fireAtMs, [fireAtMs], 'dead-beat', fireAtMs + 1_000);
    // it got as far as submitting (same id and key a beat uses), not as far as completing
    await h.producer.submit(fireSubmission(spec, new Date(fireAtMs)), newTraceId(), `beat:hourly:${fireAtMs}`, fireTaskId('hourly', fireAtMs));
    h.clock.set('2026-01-01T10:00:02Z');
    expect((await h.beat().tick()).fired).toEqual([{ name: 'hourly', fireAtMs, outcome: 'fired' }]);
    expect(await fireTimes(h, 'hourly')).toEqual(['2026-01-01T10:00:00.000Z']);
    expect(await h.broker.queueDepth('cron')).toBe(1);
    expect((await h.store.schedules.get('hourly'))!.state.lastRun?.task_id).toBe(fireTaskId('hourly', fireAtMs));
  });

  it('keeps a fire that could not be published (RabbitMQ down) and submits it once the broker is back', async () => {
    h = await startBeatHarness('2026-01-01T09:59:00Z');
    await h.define({ name: 'hourly', cron: '0 * * * *' });
    const router = createRouter([], []);
    const downBroker = await connectBroker({ url: h.config.RABBITMQ_URL, namespace: h.config.NAMESPACE, queues: router.queues, log });
    await downBroker.close();
    const cutOff = createBeat({ store: h.store, producer: createProducerFromConfig(h.config, { store: h.store, broker: downBroker, log }), log, owner: 'cut-off' }, { clock: h.clock });
    const fireAtMs = Date.parse('2026-01-01T10:00:00Z');
    h.clock.set('2026-01-01T10:00:00Z');
    expect((await cutOff.tick()).fired).toEqual([{ name: 'hourly', fireAtMs, outcome: 'retry' }]);
    expect((await h.store.schedules.get('hourly'))!.state.pending).toEqual([{ fireAtMs, owner: 'cut-off', leaseUntilMs: fireAtMs + 10_000 }]);
    expect(await h.firedTasks('hourly')).toEqual([]); // refused, so nothing half-accepted
    h.clock.set('2026-01-01T10:00:10Z');
    expect((await h.beat().tick()).fired).toEqual([{ name: 'hourly', fireAtMs, outcome: 'fired' }]);
    expect(await fireTimes(h, 'hourly')).toEqual(['2026-01-01T10:00:00.000Z']);
    expect((await h.store.schedules.get('hourly'))!.state.pending).toEqual([]);
  });

  it('does not fire while paused, and does not make up the paused fires on resume', async () => {
    h = await startBeatHarness('2026-01-01T09:30:00Z');
    await h.define({ name: 'hourly', cron: '0 * * * *', misfire: 'catch_up(10)' });
    const beat = h.beat();
    expect(await h.store.schedules.setPaused('hourly', true, h.clock.now())).toBe(true);
    h.clock.set('2026-01-01T12:30:00Z');
    await beat.tick();
    expect(await fireTimes(h, 'hourly')).toEqual([]);
    await h.store.schedules.setPaused('hourly', false, h.clock.now());
    h.clock.set('2026-01-01T13:00:00.100Z');
    await beat.tick();
    expect(await fireTimes(h, 'hourly')).toEqual(['2026-01-01T13:00:00.000Z']);
    expect(await h.store.schedules.setPaused('nope', true, h.clock.now())).toBe(false);
  });

  it('records a fire whose task is refused (job removed) as the last run, and does not retry it', async () => {
    h = await startBeatHarness('2026-01-01T09:59:00Z');
    await h.define({ name: 'broken', every: 60, task: 'demo.noSuchJob' });
    const beat = h.beat();
    h.clock.set('2026-01-01T10:00:00Z');
    expect((await beat.tick()).fired).toEqual([{ name: 'broken', fireAtMs: Date.parse('2026-01-01T10:00:00Z'), outcome: 'refused' }]);
    const state = (await h.store.schedules.get('broken'))!.state;
    expect(state.lastRun).toMatchObject({ fire_at: '2026-01-01T10:00:00.000Z', task_id: null, error: { type: 'UNKNOWN_JOB' } });
    expect(state.pending).toEqual([]);
    h.clock.set('2026-01-01T10:00:30Z');
    expect((await beat.tick()).fired).toEqual([]);
  });

  it('re-applies CELERITY_CONFIG schedules at start: the file wins, state and pause are kept, dropped ones go', async () => {
    h = await startBeatHarness('2026-01-01T09:30:00Z');
    const fromFile = [ScheduleSpec.parse({ name: 'nightly', task: 'demo.echo', cron: '0 2 * * *' }), ScheduleSpec.parse({ name: 'old', task: 'demo.echo', every: 60 })];
    await applyConfigSchedules(h.store.schedules, fromFile, log, h.clock.now());
    await h.define({ name: 'mine', every: 30 }); // through the API: never touched by the file
    // changed through the API, paused, and with a fire behind it
    const changed = await h.store.schedules.get('nightly');
    await h.store.schedules.write({ ...changed!, spec: { ...changed!.spec, cron: '0 3 * * *' }, source: 'api' }, 'replace', h.clock.now());
    await h.store.schedules.setPaused('nightly', true, h.clock.now());
    const before = (await h.store.schedules.get('nightly'))!.state;

    h.clock.advance(HOUR);
    await applyConfigSchedules(h.store.schedules, [fromFile[0]!], log, h.clock.now());
    const after = await h.store.schedules.get('nightly');
    expect(after).toMatchObject({ spec: { cron: '0 2 * * *' }, source: 'config', state: { paused: true, cursorMs: before.cursorMs } });
    expect(await h.store.schedules.get('old')).toBeUndefined();
    expect(await h.store.schedules.get('mine')).toMatchObject({ source: 'api' });
  });
});
