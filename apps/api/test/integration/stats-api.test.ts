import { afterEach, describe, expect, it } from 'vitest';
import { encodeResult } from '@celerity/core';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface PromFamily {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string }[];
}
interface Scrape {
  /** metric families with their TYPE (the parser checks every line) */
  types: Map<string, string>;
  /** every sample line, histogram series included (the parser folds a labelled histogram's series into one, so they are read without the TYPE lines) */
  samples: { name: string; labels: Record<string, string>; value: string }[];
}

async function scrape(harness: ApiHarness): Promise<Scrape> {
  const res = await harness.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/plain; version=0.0.4');
  const families = parsePrometheusTextFormat(res.body) as PromFamily[];
  const untyped = parsePrometheusTextFormat(res.body.replace(/^#.*\n/gm, '')) as PromFamily[];
  return {
    types: new Map(families.map((f) => [f.name, f.type])),
    samples: untyped.flatMap((f) => f.metrics.map((m) => ({ name: f.name, labels: m.labels ?? {}, value: m.value ?? '' }))),
  };
}

/** The value of the sample with this name whose labels include these. */
const sample = (m: Scrape, name: string, labels: Record<string, string>) =>
  m.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

/** Submits through the API, then runs each task's outcome through the store as a worker would. */
async function runTasks(harness: ApiHarness, task: string, outcomes: readonly ('succeeded' | 'failed' | 'timed_out' | 'running')[]): Promise<string[]> {
  const ids: string[] = [];
  for (const outcome of outcomes) {
    const res = await harness.app.inject({ method: 'POST', url: '/tasks', payload: { task } });
    expect(res.statusCode).toBe(202);
    const id = (res.json() as { id: string }).id;
    ids.push(id);
    await harness.store.start(id, 'w1', false);
    if (outcome === 'succeeded') await harness.store.finish(id, { status: 'succeeded', resultGzip: encodeResult(1) });
    else if (outcome !== 'running') await harness.store.finish(id, { status: outcome, error: { type: 'Error', message: 'boom', retryable: false } });
  }
  return ids;
}

describe('GET /metrics and GET /stats', () => {
  it('counts outcomes per queue and task, with run-time histograms and gauges, parsed as Prometheus text', async () => {
    h = await startApiHarness();
    await runTasks(h, 'demo.echo', ['succeeded', 'succeeded', 'failed']);
    const [running] = await runTasks(h, 'demo.noop', ['running', 'timed_out']);
    const cancelled = (await h.app.inject({ method: 'POST', url: '/tasks', payload: { task: 'demo.noop', countdown: 60 } })).json() as { id: string };
    expect((await h.app.inject({ method: 'DELETE', url: `/tasks/${cancelled.id}` })).statusCode).toBe(200);

    const m = await scrape(h);
    const echo = { queue: 'default', task: 'demo.echo' };
    const noop = { queue: 'default', task: 'demo.noop' };
    expect(sample(m, 'celerity_tasks_submitted_total', echo)).toBe('3');
    expect(sample(m, 'celerity_tasks_started_total', echo)).toBe('3');
    expect(sample(m, 'celerity_tasks_succeeded_total', echo)).toBe('2');
    expect(sample(m, 'celerity_tasks_failed_total', echo)).toBe('1');
    expect(sample(m, 'celerity_tasks_dead_lettered_total', echo)).toBe('1');
    expect(sample(m, 'celerity_tasks_submitted_total', noop)).toBe('3');
    expect(sample(m, 'celerity_tasks_timed_out_total', noop)).toBe('1');
    expect(sample(m, 'celerity_tasks_cancelled_total', noop)).toBe('1');
    expect(sample(m, 'celerity_tasks_dead_lettered_total', noop)).toBe('1');
    expect(m.types.get('celerity_tasks_succeeded_total')).toBe('COUNTER');

    const run = { queue: 'default', priority: '5' };
    expect(m.types.get('celerity_task_run_seconds')).toBe('HISTOGRAM');
    expect(sample(m, 'celerity_task_run_seconds_count', run)).toBe('4'); // the four that ran to a final status
    expect(sample(m, 'celerity_task_run_seconds_bucket', { ...run, le: '+Inf' })).toBe('4');
    expect(Number(sample(m, 'celerity_task_run_seconds_bucket', { ...run, le: '1' }))).toBe(4);
    expect(Number(sample(m, 'celerity_task_run_seconds_sum', run))).toBeLessThan(4);
    expect(sample(m, 'celerity_task_wait_seconds_count', run)).toBe('4');

    expect(sample(m, 'celerity_tasks_running', { queue: 'default' })).toBe('1');
    expect(sample(m, 'celerity_tasks_running', { queue: 'high_priority' })).toBe('0');
    // five messages published and never consumed (the cancelled one waited for its countdown, unpublished)
    expect(sample(m, 'celerity_queue_ready_messages', { queue: 'default' })).toBe('5');
    expect(sample(m, 'celerity_queue_consumers', { queue: 'default' })).toBe('0');
    expect(sample(m, 'celerity_dead_letters', {})).toBe('2');
    expect(sample(m, 'celerity_workers', { status: 'alive' })).toBe('0');
    expect(sample(m, 'celerity_queue_unacked_messages', { queue: 'default' })).toBe('0');
    expect(Number(sample(m, 'process_resident_memory_bytes', {}))).toBeGreaterThan(0);

    const stats = (await h.app.inject({ method: 'GET', url: '/stats' })).json();
    expect(stats.total.counts).toMatchObject({ submitted: 6, started: 5, succeeded: 2, failed: 1, timed_out: 1, cancelled: 1, dead_lettered: 2 });
    expect(stats.total.success_rate).toBeCloseTo(0.5);
    expect(stats.total.failure_rate).toBeCloseTo(0.5);
    expect(stats.total.run_ms.p95).toBeGreaterThanOrEqual(0);
    expect(stats.tasks['demo.echo'].total.counts).toMatchObject({ succeeded: 2, failed: 1 });
    expect(stats.queues.default).toMatchObject({ running: 1, ready: 5, consumers: 0 });
    expect(stats.running).toBe(1);
    expect(stats.by_status).toEqual({ waiting: 0, running: 1, succeeded: 2, failed: 1, timed_out: 1, cancelled: 1, expired: 0 });
    // the API took its first snapshot when it started: the windows count from there
    expect(stats.minute.counts.succeeded).toBe(2);
    expect(stats.minute.since).not.toBeNull();
    expect(stats.hour.finished_per_second).toBeGreaterThan(0);

    // the lists behind GET /tasks: running from the running lists, failed from the finished ones
    const runningList = (await h.app.inject({ method: 'GET', url: '/tasks?status=running' })).json();
    expect(runningList.items.map((t: { id: string }) => t.id)).toEqual([running]);
    const failed = await h.app.inject({ method: 'GET', url: '/tasks?status=failed&task=demo.echo&limit=1' });
    expect(failed.json()).toMatchObject({ items: [{ task: 'demo.echo', status: 'failed' }], next_cursor: null });
    const page = await h.app.inject({ method: 'GET', url: '/tasks?status=succeeded&limit=1' });
    expect(page.json().next_cursor).toMatch(/^\d{13}:/);
    const next = await h.app.inject({ method: 'GET', url: `/tasks?status=succeeded&limit=1&cursor=${page.json().next_cursor}` });
    expect(next.json().items).toHaveLength(1);
    expect(next.json().items[0].id).not.toBe(page.json().items[0].id);
    // a cursor of another kind of list is refused, not misread
    const wrong = await h.app.inject({ method: 'GET', url: `/tasks?status=pending&cursor=${page.json().next_cursor}` });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'MALFORMED_REQUEST' });
    expect((await h.app.inject({ method: 'GET', url: '/tasks?status=pending&finished_after=2026-01-01T00:00:00Z' })).statusCode).toBe(400);

    // a reading serves a second at most
    await h.store.finish(running!, { status: 'succeeded', resultGzip: encodeResult(1) });
    await expect.poll(async () => sample(await scrape(h!), 'celerity_tasks_running', { queue: 'default' }), { timeout: 3_000 }).toBe('0');
  });

  it('GET /stats/history: rates minute by minute from the snapshots, the last interval up to now', async () => {
    h = await startApiHarness();
    await runTasks(h, 'demo.echo', ['succeeded', 'succeeded', 'failed']);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const [a, b] = [minute - 60_000, minute];
    // the API's own snapshot left out: two known ones instead (b is this minute's, so the API takes
    // none until the next minute; should one come meanwhile, it splits the last interval)
    await h.redis.del(h.keys.statsHistory);
    await h.redis.zadd(h.keys.statsHistory, a, `${a} {}`, b, `${b} ${JSON.stringify({ 'n|default|demo.echo|submitted': 3, 'n|default|demo.echo|succeeded': 1 })}`);

    type Point = { from: string; to: string; submitted_per_second: number; succeeded_per_second: number; failed_per_second: number };
    const res = await h.app.inject({ method: 'GET', url: '/stats/history?minutes=5' });
    expect(res.statusCode).toBe(200);
    const { at, points } = res.json() as { at: string; points: Point[] };
    expect(points[0]).toEqual({ from: new Date(a).toISOString(), to: new Date(b).toISOString(), submitted_per_second: 3 / 60, succeeded_per_second: 1 / 60, failed_per_second: 0, finished_per_second: 1 / 60 });
    const rest = points.slice(1);
    expect(rest[0]!.from).toBe(new Date(b).toISOString());
    expect(rest.at(-1)!.to).toBe(at);
    const total = (pick: (p: Point) => number) => rest.reduce((sum, p) => sum + (pick(p) * (Date.parse(p.to) - Date.parse(p.from))) / 1000, 0);
    expect(total((p) => p.submitted_per_second)).toBeCloseTo(0, 6);
    expect(total((p) => p.succeeded_per_second)).toBeCloseTo(1, 6);
    expect(total((p) => p.failed_per_second)).toBeCloseTo(1, 6);

    // the last minute: only intervals that end within it; another queue: nothing happened
    const last = (await h.app.inject({ method: 'GET', url: '/stats/history?minutes=1' })).json() as { at: string; points: Point[] };
    expect(last.points.length).toBeGreaterThan(0);
    expect(last.points.every((p) => Date.parse(p.to) > Date.parse(last.at) - 60_000)).toBe(true);
    const other = (await h.app.inject({ method: 'GET', url: '/stats/history?minutes=5&queue=low_priority' })).json() as { points: Point[] };
    expect(other.points.every((p) => p.submitted_per_second === 0 && p.failed_per_second === 0)).toBe(true);
    expect((await h.app.inject({ method: 'GET', url: '/stats/history?minutes=61' })).statusCode).toBe(400);
  });

  it('DELETE /stats resets what /stats counts, not the Prometheus counters', async () => {
    h = await startApiHarness();
    await runTasks(h, 'demo.echo', ['succeeded', 'failed']);
    const reset = await h.app.inject({ method: 'DELETE', url: '/stats' });
    expect(reset.statusCode).toBe(200);
    await runTasks(h, 'demo.echo', ['succeeded']);
    const stats = (await h.app.inject({ method: 'GET', url: '/stats' })).json();
    expect(stats.reset_at).toBe(reset.json().reset_at);
    expect(stats.total.counts).toMatchObject({ submitted: 1, succeeded: 1, failed: 0 });
    expect(stats.minute.counts).toMatchObject({ succeeded: 1, failed: 0 });
    await new Promise((r) => setTimeout(r, 1_100)); // past the one-second reading
    expect(sample(await scrape(h), 'celerity_tasks_succeeded_total', { queue: 'default', task: 'demo.echo' })).toBe('2');
  });

  it('caps the task label at METRICS_MAX_TASK_NAMES, the busiest names first', async () => {
    h = await startApiHarness({ METRICS_MAX_TASK_NAMES: '1' });
    await runTasks(h, 'demo.echo', ['succeeded', 'succeeded']);
    await runTasks(h, 'demo.noop', ['succeeded']);
    const m = await scrape(h);
    expect(m.samples.filter((s) => s.name === 'celerity_tasks_succeeded_total').map((s) => [s.labels.task, s.value])).toEqual([
      ['demo.echo', '2'],
      ['_other', '1'],
    ]);
  });
});

describe('GET /health/tasks', () => {
  const health = async (harness: ApiHarness) => {
    await new Promise((r) => setTimeout(r, 1_050)); // a fresh reading
    const res = await harness.app.inject({ method: 'GET', url: '/health/tasks' });
    return { code: res.statusCode, body: res.json() as { status: string; reasons: { level: string; code: string; task_ids?: string[]; queue?: string }[] } };
  };

  it('goes ok -> warning -> critical on the failure rate, and back to ok after a reset', async () => {
    h = await startApiHarness({ HEALTH_FAILURE_MIN_TASKS: '5', HEALTH_FAILURE_WARN: '0.1', HEALTH_FAILURE_CRIT: '0.3' });
    await h.broker.consume(async () => ({ kind: 'ack' }), { queues: ['default'], prefetch: 10 }); // a live worker stand-in
    await runTasks(h, 'demo.echo', ['succeeded', 'succeeded', 'succeeded', 'failed']);
    expect(await health(h)).toMatchObject({ code: 200, body: { status: 'ok', reasons: [] } }); // 4 finished: fewer than the minimum

    await runTasks(h, 'demo.echo', ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const warning = await health(h); // 1 of 9
    expect(warning).toMatchObject({ code: 200, body: { status: 'warning', reasons: [{ level: 'warning', code: 'FAILURE_RATE' }] } });
    expect(warning.body.reasons[0]).toMatchObject({ message: '11.1% of the 9 tasks finished in the last 15 min failed or timed out (warning at 10.0%)' });

    await runTasks(h, 'demo.echo', ['failed', 'timed_out', 'failed', 'failed']);
    expect(await health(h)).toMatchObject({ code: 200, body: { status: 'critical', reasons: [{ level: 'critical', code: 'FAILURE_RATE' }] } }); // 5 of 13

    expect((await h.app.inject({ method: 'DELETE', url: '/stats' })).statusCode).toBe(200);
    await runTasks(h, 'demo.echo', ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(await health(h)).toMatchObject({ code: 200, body: { status: 'ok', reasons: [] } });
  });

  it('lists long-running tasks by id, warns of a backlog, and is critical while a queue with messages has no consumer', async () => {
    h = await startApiHarness({ HEALTH_LONG_RUNNING: '0.5', HEALTH_BACKLOG_WARN: '2' });
    const [slow] = await runTasks(h, 'demo.echo', ['running', 'running', 'running']);
    const queued = await health(h);
    expect(queued.code).toBe(200);
    expect(queued.body.status).toBe('critical');
    expect(queued.body.reasons.map((r) => [r.code, r.level, r.queue])).toEqual(
      expect.arrayContaining([
        ['NO_CONSUMER', 'critical', 'default'],
        ['BACKLOG', 'warning', 'default'],
        ['LONG_RUNNING', 'warning', undefined],
      ]),
    );
    expect(queued.body.reasons.find((r) => r.code === 'LONG_RUNNING')?.task_ids).toHaveLength(3);

    // a consumer takes the messages: the backlog and the missing consumer go, the long runners stay
    await h.broker.consume(async () => ({ kind: 'ack' }), { queues: ['default'], prefetch: 10 });
    await expect.poll(async () => (await health(h!)).body.reasons.map((r) => r.code), { timeout: 10_000 }).toEqual(['LONG_RUNNING']);
    for (const id of (await health(h)).body.reasons[0]!.task_ids!) await h.store.finish(id, { status: 'succeeded', resultGzip: encodeResult(1) });
    expect(slow).toBeDefined();
    expect(await health(h)).toMatchObject({ code: 200, body: { status: 'ok', reasons: [] } });
  });
});
