import { z } from 'zod';
import { TASK_COUNTERS, addHistogram, histogramQuantile, newHistogram, parseStats, subtractStats, type Counts, type Histogram, type ParsedStats, type RawStats, type TaskStore } from '@celerity/store';
import type { ClusterReading } from './cluster-stats.js';

const CountsSchema = z.object(Object.fromEntries(TASK_COUNTERS.map((c) => [c, z.number().int()])) as Record<(typeof TASK_COUNTERS)[number], z.ZodNumber>);
const DurationSchema = z
  .object({ avg: z.number(), p95: z.number() })
  .nullable()
  .describe('ms; p95 interpolated within its histogram bucket (as Prometheus histogram_quantile); null when no task finished');

export const SummarySchema = z.object({
  counts: CountsSchema,
  success_rate: z.number().nullable().describe('succeeded / (succeeded + failed + timed_out); null when none finished; cancelled tasks do not count'),
  failure_rate: z.number().nullable().describe('(failed + timed_out) / (succeeded + failed + timed_out)'),
  run_ms: DurationSchema.describe('run time, started -> finished'),
}).meta({ id: 'StatsSummary' });
export type Summary = z.output<typeof SummarySchema>;

const WindowSchema = SummarySchema.extend({
  since: z.string().nullable().describe('start of the window: the snapshot it counts from (a younger deployment has a shorter window), the reset, or null = since the counters began'),
  finished_per_second: z.number().nullable(),
  submitted_per_second: z.number().nullable(),
}).meta({ id: 'StatsWindow' });
type Window = z.output<typeof WindowSchema>;

const WindowsSchema = z.object({ total: SummarySchema, minute: WindowSchema, hour: WindowSchema, day: WindowSchema });

export const StatsSchema = z
  .object({
    at: z.string(),
    reset_at: z.string().nullable(),
    ...WindowsSchema.shape,
    wait_ms: DurationSchema.describe('queue wait since the reset: created (or eta/retry time) -> started'),
    by_status: z
      .object({ waiting: z.number().int(), running: z.number().int(), succeeded: z.number().int(), failed: z.number().int(), timed_out: z.number().int(), cancelled: z.number().int(), expired: z.number().int() })
      .describe('tasks in Redis now by status, each counted in O(1): waiting = pending + scheduled; finished ones until they expire (RESULT_EXPIRES)'),
    running: z.number().int(),
    scheduled: z.number().int(),
    dead_letters: z.number().int(),
    callbacks_waiting: z.number().int(),
    queues: z.record(z.string(), WindowsSchema.extend({ running: z.number().int(), ready: z.number().int().nullable(), consumers: z.number().int().nullable() })),
    tasks: z.record(z.string(), WindowsSchema),
  })
  .meta({ id: 'Stats' });
export type Stats = z.output<typeof StatsSchema>;

const finishedOf = (c: Counts) => c.succeeded + c.failed + c.timed_out;

/** Counts, rates and run times of the tasks that match (all, one queue, one task name). */
export function summarize(parsed: ParsedStats, match: { queue?: string; task?: string } = {}): Summary {
  const counts = Object.fromEntries(TASK_COUNTERS.map((c) => [c, 0])) as Counts;
  for (const entry of parsed.counts.values()) {
    if ((match.queue && entry.queue !== match.queue) || (match.task && entry.task !== match.task)) continue;
    for (const c of TASK_COUNTERS) counts[c] += entry.counts[c];
  }
  const run = newHistogram();
  for (const entry of parsed.run.values()) {
    if ((match.queue && entry.queue !== match.queue) || (match.task && entry.task !== match.task)) continue;
    addHistogram(run, entry.histogram);
  }
  const finished = finishedOf(counts);
  return {
    counts,
    success_rate: finished === 0 ? null : counts.succeeded / finished,
    failure_rate: finished === 0 ? null : (counts.failed + counts.timed_out) / finished,
    run_ms: duration(run),
  };
}

function duration(h: Histogram): { avg: number; p95: number } | null {
  if (h.count === 0) return null;
  return { avg: h.sumMs / h.count, p95: histogramQuantile(h, 0.95)! };
}

const WINDOWS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** GET /stats: totals since the reset and the last minute, hour and day, for all tasks, per queue and per task name. */
export async function statsReport(store: TaskStore, reading: ClusterReading): Promise<Stats> {
  const nowMs = reading.atMs;
  const [byStatus, total, ...windows] = await Promise.all([
    store.stats.statusCounts(reading.raw, reading.queues),
    store.stats.window(null, reading.raw, nowMs),
    ...Object.values(WINDOWS).map((ms) => store.stats.window(ms, reading.raw, nowMs)),
  ]);
  const parsedTotal = parseStats(total!.raw);
  const parsedWindows = windows.map((w) => ({ since: w.sinceMs, parsed: parseStats(w.raw) }));
  const windowOf = (i: number, match: { queue?: string; task?: string }): Window => {
    const { since, parsed } = parsedWindows[i]!;
    const summary = summarize(parsed, match);
    const seconds = since === null ? null : Math.max(1, (nowMs - since) / 1000);
    return {
      ...summary,
      since: since === null ? null : new Date(since).toISOString(),
      finished_per_second: seconds === null ? null : finishedOf(summary.counts) / seconds,
      submitted_per_second: seconds === null ? null : summary.counts.submitted / seconds,
    };
  };
  const all = (match: { queue?: string; task?: string }) => ({ total: summarize(parsedTotal, match), minute: windowOf(0, match), hour: windowOf(1, match), day: windowOf(2, match) });

  const wait = newHistogram();
  for (const entry of parsedTotal.wait.values()) addHistogram(wait, entry.histogram);
  const taskNames = [...new Set([...reading.parsed.counts.values()].map((c) => c.task))].sort();
  return {
    at: new Date(nowMs).toISOString(),
    reset_at: total!.sinceMs === null ? null : new Date(total!.sinceMs).toISOString(),
    ...all({}),
    wait_ms: duration(wait),
    by_status: byStatus,
    running: [...reading.running.values()].reduce((a, b) => a + b, 0),
    scheduled: reading.sizes.scheduled,
    dead_letters: reading.sizes.deadLetters,
    callbacks_waiting: reading.sizes.callbacks,
    queues: Object.fromEntries(
      reading.queues.map((queue) => [
        queue,
        { ...all({ queue }), running: reading.running.get(queue) ?? 0, ready: reading.broker.get(queue)?.ready ?? null, consumers: reading.broker.get(queue)?.consumers ?? null },
      ]),
    ),
    tasks: Object.fromEntries(taskNames.map((task) => [task, all({ task })])),
  };
}

/** The failure rate and count of finished tasks over the last `minutes`. */
export async function failureRateOver(store: TaskStore, raw: RawStats, minutes: number, nowMs: number): Promise<{ since: number | null; finished: number; failureRate: number | null }> {
  const window = await store.stats.window(minutes * 60_000, raw, nowMs);
  const summary = summarize(parseStats(window.raw));
  return { since: window.sinceMs, finished: finishedOf(summary.counts), failureRate: summary.failure_rate };
}

export const StatsHistoryQuery = z
  .object({
    minutes: z.coerce.number().int().min(1).max(60).default(60).describe('how far back (the minute snapshots of the last hour are kept)'),
    queue: z.string().max(63).optional(),
    task: z.string().max(200).optional(),
  })
  .strict();

const RateSchema = z.number().describe('per second, averaged over the interval');
export const StatsHistorySchema = z
  .object({
    at: z.string(),
    points: z
      .array(
        z.object({
          from: z.string(),
          to: z.string(),
          submitted_per_second: RateSchema,
          succeeded_per_second: RateSchema,
          failed_per_second: RateSchema.describe('failed + timed_out, per second'),
          finished_per_second: RateSchema.describe('succeeded + failed + timed_out, per second'),
        }),
      )
      .describe('oldest first: one interval per pair of minute snapshots, the last one up to now'),
  })
  .meta({ id: 'StatsHistory' });
export type StatsHistory = z.output<typeof StatsHistorySchema>;

/**
 * GET /stats/history: task rates minute by minute over the last `minutes`, from the minute snapshots
 * of the counters (the differences of neighbouring ones) and, for the last interval, the counters now.
 */
export async function statsHistory(store: TaskStore, query: { minutes: number; queue?: string | undefined; task?: string | undefined }, nowMs = Date.now()): Promise<StatsHistory> {
  const fromMs = nowMs - query.minutes * 60_000;
  // one more minute back: the snapshot an interval ending after `fromMs` starts from
  const { snapshots, now } = await store.stats.history(fromMs - 60_000);
  const match = { ...(query.queue ? { queue: query.queue } : {}), ...(query.task ? { task: query.task } : {}) };
  const marks = [...snapshots, { atMs: nowMs, raw: now }];
  const points: StatsHistory['points'] = [];
  for (let i = 1; i < marks.length; i += 1) {
    const [from, to] = [marks[i - 1]!, marks[i]!];
    if (to.atMs <= from.atMs || to.atMs <= fromMs) continue;
    const counts = summarize(parseStats(subtractStats(to.raw, from.raw)), match).counts;
    const seconds = (to.atMs - from.atMs) / 1000;
    // a removed unpublished task takes its submission back: never a negative rate
    const rate = (n: number) => Math.max(0, n) / seconds;
    points.push({
      from: new Date(from.atMs).toISOString(),
      to: new Date(to.atMs).toISOString(),
      submitted_per_second: rate(counts.submitted),
      succeeded_per_second: rate(counts.succeeded),
      failed_per_second: rate(counts.failed + counts.timed_out),
      finished_per_second: rate(finishedOf(counts)),
    });
  }
  return { at: new Date(nowMs).toISOString(), points };
}
