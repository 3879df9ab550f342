import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeResult, type TaskRecord } from '@celerity/core';
import { testNamespace } from '@celerity/testkit';
import { createKeys, createTaskStore, finishedMember, parseStats, type Keys, type RedisClient, type TaskStore } from '../../src/index.js';
import { newTask, redisSetups } from './redis-setups.js';

/** The counters, the running and finished lists the scripts keep, and what is read from them. */
const SETUPS = redisSetups();
const FAILED = { type: 'Error', message: 'boom', retryable: false };

describe.each(SETUPS)('task stats and lists (%s)', (_name, setup) => {
  let ns: string;
  let redis: RedisClient;
  let store: TaskStore;
  let keys: Keys;

  beforeEach(async () => {
    ns = testNamespace();
    redis = setup.connect();
    await redis.connect();
    store = createTaskStore(redis, { namespace: ns, resultTtlSeconds: 120 });
    keys = createKeys(ns);
  });
  afterEach(async () => {
    redis.disconnect();
    await setup.cleanup(ns);
  });

  /** Creates tasks and runs them to these outcomes, each turn's starts and finishes in one script call. */
  async function outcomes(spec: { queue: string; task: string; status: 'succeeded' | 'failed' | 'timed_out' | 'running' }[]): Promise<TaskRecord[]> {
    const records = await store.createRecords(spec.map((s) => newTask({ queue: s.queue, task: s.task })));
    await Promise.all(records.map((r) => store.start(r.id, 'w1', false)));
    await Promise.all(
      records.map((r, i) => {
        const status = spec[i]!.status;
        if (status === 'running') return undefined;
        return store.finish(r.id, status === 'succeeded' ? { status, resultGzip: encodeResult(i) } : { status, error: FAILED });
      }),
    );
    return records;
  }

  it('counts every transition per queue and task, and keeps running and finished lists', async () => {
    const [a, b, c, d] = await outcomes([
      { queue: 'default', task: 'demo.echo', status: 'succeeded' },
      { queue: 'default', task: 'demo.echo', status: 'failed' },
      { queue: 'high_priority', task: 'demo.noop', status: 'timed_out' },
      { queue: 'high_priority', task: 'demo.noop', status: 'running' },
    ]);
    const [waiting] = await store.createRecords([newTask({ task: 'demo.noop', eta: new Date(Date.now() + 60_000) })]);
    await store.cancel(waiting!.id, false);
    expect(await store.retry(d!.id, new Date(Date.now() + 60_000), FAILED)).toBe('ok');

    const parsed = parseStats(await store.stats.raw());
    expect(parsed.counts.get('default|demo.echo')?.counts).toMatchObject({ submitted: 2, started: 2, succeeded: 1, failed: 1, dead_lettered: 1 });
    expect(parsed.counts.get('high_priority|demo.noop')?.counts).toMatchObject({ submitted: 2, started: 2, timed_out: 1, retried: 1, dead_lettered: 1 });
    expect(parsed.counts.get('default|demo.noop')).toMatchObject({ counts: { submitted: 1, cancelled: 1, started: 0 }, cancelledWaiting: 1 });
    expect([...parsed.run.values()].reduce((n, r) => n + r.histogram.count, 0)).toBe(3);
    expect([...parsed.wait.values()].map((w) => [w.queue, w.priority, w.histogram.count])).toEqual(
      expect.arrayContaining([
        ['default', '5', 2],
        ['high_priority', '5', 1],
      ]),
    );

    expect(await store.stats.runningCounts(['default', 'high_priority'])).toEqual(new Map([['default', 0], ['high_priority', 0]])); // d was retried
    expect(await store.stats.statusCounts(await store.stats.raw(), ['default', 'high_priority'])).toEqual({ waiting: 1, running: 0, succeeded: 1, failed: 1, timed_out: 1, cancelled: 1, expired: 0 });
    await store.start(d!.id, 'w2', false);
    const since = await store.stats.runningSince(['default', 'high_priority'], Date.now() + 1, 10);
    expect(since.map((r) => [r.id, r.queue])).toEqual([[d!.id, 'high_priority']]);
    expect((await store.list({ status: 'succeeded', limit: 10 })).items.map((r) => r.id)).toEqual([a!.id]);
    expect((await store.list({ status: 'timed_out', queue: 'high_priority', limit: 10 })).items.map((r) => r.id)).toEqual([c!.id]);
    expect((await store.list({ status: 'failed', queue: 'high_priority', limit: 10 })).items).toEqual([]);
    expect((await store.list({ status: 'cancelled', task: 'demo.noop', limit: 10 })).items.map((r) => r.id)).toEqual([waiting!.id]);
    expect((await store.list({ finishedAfterMs: 0, limit: 10 })).items.map((r) => r.id).sort()).toEqual([a!.id, b!.id, c!.id, waiting!.id].sort());
  });

  it('pages finished tasks from their lists newest finished first, full pages to the end, across lists, by time range, skipping expired records', async () => {
    const spec = Array.from({ length: 600 }, (_, i) => ({
      queue: i % 3 === 0 ? 'high_priority' : 'default',
      task: i % 2 === 0 ? 'demo.echo' : 'demo.noop',
      status: i % 4 === 0 ? ('succeeded' as const) : ('failed' as const),
    }));
    // finished over several turns, so finish times differ
    const records: TaskRecord[] = [];
    for (let i = 0; i < spec.length; i += 100) {
      records.push(...(await outcomes(spec.slice(i, i + 100))));
      await new Promise((r) => setTimeout(r, 3));
    }
    const failed = records.filter((_, i) => spec[i]!.status === 'failed');
    const all = async (query: Parameters<TaskStore['list']>[0]) => {
      const seen: TaskRecord[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.list({ ...query, cursor });
        seen.push(...page.items);
        if (!page.next_cursor) break;
        expect(page.items).toHaveLength(query.limit); // full unless the last
        cursor = page.next_cursor;
      }
      return seen;
    };
    const byFinished = (rs: TaskRecord[]) => rs.map((r) => finishedMember(Date.parse(r.finished_at!), r.id)).sort().reverse();
    const listed = await all({ status: 'failed', limit: 37 });
    expect(listed.map((r) => finishedMember(Date.parse(r.finished_at!), r.id))).toEqual(byFinished((await Promise.all(failed.map((r) => store.get(r.id)))) as TaskRecord[]));
    const oneList = await all({ status: 'failed', queue: 'high_priority', task: 'demo.noop', limit: 20 });
    expect(oneList.length).toBe(spec.filter((s) => s.status === 'failed' && s.queue === 'high_priority' && s.task === 'demo.noop').length);
    expect(oneList.every((r) => r.queue === 'high_priority' && r.task === 'demo.noop' && r.status === 'failed')).toBe(true);

    // a range of finish times, from the list's members
    const times = listed.map((r) => Date.parse(r.finished_at!));
    const [from, to] = [times[Math.floor(times.length * 0.75)]!, times[Math.floor(times.length * 0.25)]!];
    const ranged = await all({ status: 'failed', finishedAfterMs: from, finishedBeforeMs: to, limit: 50 });
    expect(ranged.length).toBe(times.filter((t) => t >= from && t < to).length);
    expect(ranged.length).toBeGreaterThan(0);

    // records gone (expired) are skipped, and a page is still full
    for (const r of listed.slice(0, 30)) await redis.del(keys.task(r.id));
    const page = await store.list({ status: 'failed', limit: 20 });
    expect(page.items.map((r) => r.id)).toEqual(listed.slice(30, 50).map((r) => r.id));

    // past RESULT_EXPIRES, the trim empties the lists (the records expire by their TTL)
    expect(await store.stats.trimFinished(Date.now() - 120_000)).toBe(0);
    expect(await store.stats.trimFinished(Date.now() + 121_000)).toBe(600);
    expect((await store.list({ status: 'failed', limit: 10 })).items).toEqual([]);
  });

  it('lists running tasks from the running lists, newest started first, in full pages, by queue and task', async () => {
    const first = await outcomes([
      { queue: 'default', task: 'demo.echo', status: 'running' },
      { queue: 'high_priority', task: 'demo.noop', status: 'running' },
      { queue: 'default', task: 'demo.noop', status: 'succeeded' },
    ]);
    await new Promise((r) => setTimeout(r, 3));
    const second = await outcomes([
      { queue: 'default', task: 'demo.echo', status: 'running' },
      { queue: 'default', task: 'demo.noop', status: 'running' },
      { queue: 'high_priority', task: 'demo.echo', status: 'running' },
    ]);
    const running = [...second, first[0]!, first[1]!];
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ status: 'running', limit: 2, cursor });
      pages.push(page.items.map((r) => r.id));
      expect(page.items.every((r) => r.status === 'running')).toBe(true);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    // newest started first: the second batch (ids within a batch newest first), then the first
    expect(pages.flat()).toEqual([...second.map((r) => r.id).sort().reverse(), ...[first[0]!.id, first[1]!.id].sort().reverse()]);
    expect(running).toHaveLength(5);
    expect((await store.list({ status: 'running', queue: 'high_priority', limit: 10 })).items.map((r) => r.id).sort()).toEqual([first[1]!.id, second[2]!.id].sort());
    expect((await store.list({ status: 'running', queue: 'default', task: 'demo.noop', limit: 10 })).items.map((r) => r.id)).toEqual([second[1]!.id]);
  });

  it('windows count from the newest snapshot old enough, or the reset; snapshots thin to one an hour past an hour', async () => {
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    await outcomes([{ queue: 'default', task: 'demo.echo', status: 'succeeded' }]);
    expect(await store.stats.snapshot(t0)).toBe(true);
    expect(await store.stats.snapshot(t0 + 30_000)).toBe(false); // one a minute
    await outcomes([{ queue: 'default', task: 'demo.echo', status: 'failed' }]);
    expect(await store.stats.snapshot(t0 + 60_000)).toBe(true);
    await outcomes([{ queue: 'default', task: 'demo.echo', status: 'failed' }]);

    const now = await store.stats.raw();
    const counts = async (ms: number | null, at: number) => {
      const w = await store.stats.window(ms, now, at);
      return [w.sinceMs, parseStats(w.raw).counts.get('default|demo.echo')?.counts.failed ?? 0];
    };
    expect(await counts(60_000, t0 + 120_000)).toEqual([t0 + 60_000, 1]);
    expect(await counts(120_000, t0 + 120_000)).toEqual([t0, 2]);
    expect(await counts(3_600_000, t0 + 120_000)).toEqual([t0, 2]); // younger than the window: from the oldest
    expect(await counts(null, t0 + 120_000)).toEqual([null, 2]);
    await store.stats.reset(t0 + 90_000);
    expect(await counts(120_000, t0 + 120_000)).toEqual([t0 + 90_000, 0]);

    for (let minute = 2; minute <= 130; minute++) await store.stats.snapshot(t0 + minute * 60_000);
    const kept = (await redis.zrange(keys.statsHistory, 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number);
    const olderThanAnHour = kept.filter((at) => at < t0 + 130 * 60_000 - 65 * 60_000);
    expect(new Set(olderThanAnHour.map((at) => Math.floor(at / 3_600_000))).size).toBe(olderThanAnHour.length); // one an hour
    expect(kept.filter((at) => at >= t0 + 65 * 60_000)).toHaveLength(66); // every minute of the last 65
  });
});
