import type { RedisClient } from './redis.js';
import { guard } from './guard.js';
import type { Keys } from './keys.js';
import { HISTOGRAM_BUCKETS_MS, scriptsFor } from './scripts.js';

export { HISTOGRAM_BUCKETS_MS };

/**
 * Task counters and histograms kept in Redis (keys.ts `stats`), written by the status-change scripts
 * in the same atomic step as the change (lua/stats.lua describes the fields), so they survive
 * restarts and every API replica reads the same numbers. This module reads them: raw field maps,
 * windows (now minus a minute snapshot), the reset baseline, and the running and finished lists.
 */

/** What is counted per queue and task name. dead_lettered = failed + timed_out (both always are). */
export const TASK_COUNTERS = ['submitted', 'started', 'succeeded', 'failed', 'timed_out', 'cancelled', 'expired', 'retried', 'dead_lettered'] as const;
export type TaskCounter = (typeof TASK_COUNTERS)[number];
export type Counts = Record<TaskCounter, number>;

/** The `stats` hash as field → value. */
export type RawStats = Record<string, number>;

/** One histogram: counts per bucket (HISTOGRAM_BUCKETS_MS, then +Inf; not cumulative), their sum (ms) and count. */
export interface Histogram {
  buckets: number[];
  sumMs: number;
  count: number;
}

export interface ParsedStats {
  /** per queue and task */
  counts: Map<string, { queue: string; task: string; counts: Counts; restarted: number; released: number; cancelledWaiting: number }>;
  /** run time per queue, task and priority */
  run: Map<string, { queue: string; task: string; priority: string; histogram: Histogram }>;
  /** wait time per queue and priority */
  wait: Map<string, { queue: string; priority: string; histogram: Histogram }>;
}

const zeroCounts = (): Counts => ({ submitted: 0, started: 0, succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, expired: 0, retried: 0, dead_lettered: 0 });
const emptyHistogram = (): Histogram => ({ buckets: new Array<number>(HISTOGRAM_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 });
const bucketIndex = (le: string) => (le === 'inf' ? HISTOGRAM_BUCKETS_MS.length : HISTOGRAM_BUCKETS_MS.indexOf(Number(le) as (typeof HISTOGRAM_BUCKETS_MS)[number]));

/** The fields of a raw map, grouped. */
export function parseStats(raw: RawStats): ParsedStats {
  const parsed: ParsedStats = { counts: new Map(), run: new Map(), wait: new Map() };
  const countsOf = (queue: string, task: string) => {
    const key = `${queue}|${task}`;
    let entry = parsed.counts.get(key);
    if (!entry) parsed.counts.set(key, (entry = { queue, task, counts: zeroCounts(), restarted: 0, released: 0, cancelledWaiting: 0 }));
    return entry;
  };
  const runOf = (queue: string, task: string, priority: string) => {
    const key = `${queue}|${task}|${priority}`;
    let entry = parsed.run.get(key);
    if (!entry) parsed.run.set(key, (entry = { queue, task, priority, histogram: emptyHistogram() }));
    return entry.histogram;
  };
  const waitOf = (queue: string, priority: string) => {
    const key = `${queue}|${priority}`;
    let entry = parsed.wait.get(key);
    if (!entry) parsed.wait.set(key, (entry = { queue, priority, histogram: emptyHistogram() }));
    return entry.histogram;
  };
  for (const [field, value] of Object.entries(raw)) {
    const [kind, ...parts] = field.split('|');
    if (kind === 'n' && parts.length === 3) {
      const entry = countsOf(parts[0]!, parts[1]!);
      const event = parts[2]!;
      if (event === 'restarted') entry.restarted += value;
      else if (event === 'released') entry.released += value;
      else if (event === 'cancelled_waiting') entry.cancelledWaiting += value;
      else if (event in entry.counts) entry.counts[event as TaskCounter] += value;
    } else if (kind === 'r' && parts.length === 4) {
      const h = runOf(parts[0]!, parts[1]!, parts[2]!);
      const i = bucketIndex(parts[3]!);
      if (i >= 0) {
        h.buckets[i]! += value;
        h.count += value;
      }
    } else if (kind === 'rs' && parts.length === 3) {
      runOf(parts[0]!, parts[1]!, parts[2]!).sumMs += value;
    } else if (kind === 'w' && parts.length === 3) {
      const h = waitOf(parts[0]!, parts[1]!);
      const i = bucketIndex(parts[2]!);
      if (i >= 0) {
        h.buckets[i]! += value;
        h.count += value;
      }
    } else if (kind === 'ws' && parts.length === 2) {
      waitOf(parts[0]!, parts[1]!).sumMs += value;
    }
  }
  for (const entry of parsed.counts.values()) entry.counts.dead_lettered = entry.counts.failed + entry.counts.timed_out;
  return parsed;
}

/** now - then, field by field (a window's increments). */
export function subtractStats(now: RawStats, then: RawStats): RawStats {
  const out: RawStats = {};
  for (const [field, value] of Object.entries(now)) {
    const delta = value - (then[field] ?? 0);
    if (delta !== 0) out[field] = delta;
  }
  return out;
}

export function addHistogram(into: Histogram, h: Histogram): Histogram {
  for (const [i, n] of h.buckets.entries()) into.buckets[i]! += n;
  into.sumMs += h.sumMs;
  into.count += h.count;
  return into;
}

export function newHistogram(): Histogram {
  return emptyHistogram();
}

/**
 * The q-quantile of a histogram in ms, interpolated linearly within its bucket (as Prometheus's
 * histogram_quantile does); null when empty; the last finite bound when it falls in +Inf.
 */
export function histogramQuantile(h: Histogram, q: number): number | null {
  if (h.count === 0) return null;
  const rank = q * h.count;
  let seen = 0;
  for (const [i, n] of h.buckets.entries()) {
    if (seen + n >= rank && n > 0) {
      if (i === HISTOGRAM_BUCKETS_MS.length) return HISTOGRAM_BUCKETS_MS.at(-1)!;
      const lower = i === 0 ? 0 : HISTOGRAM_BUCKETS_MS[i - 1]!;
      const upper = HISTOGRAM_BUCKETS_MS[i]!;
      return lower + ((upper - lower) * (rank - seen)) / n;
    }
    seen += n;
  }
  return HISTOGRAM_BUCKETS_MS.at(-1)!;
}

/** A window of the counters: what happened since `sinceMs` (null: since they began). */
export interface StatsWindow {
  sinceMs: number | null;
  raw: RawStats;
}

/** How long minute snapshots are kept at one a minute, and at all (lua/stats-snapshot.lua). */
const EVERY_MINUTE_MS = 65 * 60_000;
const KEEP_MS = 25 * 3_600_000;

const FINAL_STATUSES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'] as const;

export function createTaskStats(client: RedisClient, keys: Keys, resultTtlSeconds: number) {
  const scripts = scriptsFor(client);

  const toRaw = (flat: Record<string, string>): RawStats => Object.fromEntries(Object.entries(flat).map(([k, v]) => [k, Number(v)]));
  const parseSnapshot = (member: string): { atMs: number; raw: RawStats } => {
    const space = member.indexOf(' ');
    return { atMs: Number(member.slice(0, space)), raw: JSON.parse(member.slice(space + 1)) as RawStats };
  };

  async function baseline(): Promise<{ atMs: number; raw: RawStats } | null> {
    const text = await guard(client.get(keys.statsBaseline));
    return text ? parseSnapshot(text) : null;
  }

  return {
    /** The counters as they are now (never reset: Prometheus counters only go up). */
    async raw(): Promise<RawStats> {
      return toRaw(await guard(client.hgetall(keys.stats)));
    },

    /** Takes this minute's snapshot unless another replica did; true when taken now. */
    async snapshot(nowMs = Date.now()): Promise<boolean> {
      const minuteMs = nowMs - (nowMs % 60_000);
      const taken = await guard(
        scripts.statsSnapshot({ stats: keys.stats, history: keys.statsHistory, minuteMs, everyMinuteFromMs: nowMs - EVERY_MINUTE_MS, keepFromMs: nowMs - KEEP_MS }),
      );
      return taken === 1;
    },

    /**
     * What happened over the last `ms` (or since the reset, when that is more recent): the counters now
     * minus the newest snapshot at least `ms` old, else the oldest one there is (a shorter window,
     * `sinceMs` says from when); with neither, everything since the counters began.
     */
    async window(ms: number | null, now: RawStats, nowMs = Date.now()): Promise<StatsWindow> {
      let from: { atMs: number; raw: RawStats } | null = null;
      if (ms !== null) {
        const [older] = await guard(client.zrevrangebyscore(keys.statsHistory, nowMs - ms, '-inf', 'LIMIT', 0, 1));
        const [snapshot] = older ? [older] : await guard(client.zrange(keys.statsHistory, 0, 0));
        if (snapshot) from = parseSnapshot(snapshot);
      }
      const reset = await baseline();
      if (reset && (!from || reset.atMs > from.atMs)) from = reset;
      return from ? { sinceMs: from.atMs, raw: subtractStats(now, from.raw) } : { sinceMs: null, raw: now };
    },

    /**
     * The minute snapshots taken at or after `fromMs`, oldest first, and the counters now (one
     * pipeline: they are read at the same instant). Snapshots are kept one a minute for the last 65
     * minutes, one an hour after that.
     */
    async history(fromMs: number): Promise<{ snapshots: { atMs: number; raw: RawStats }[]; now: RawStats }> {
      const replies = (await guard(client.pipeline().zrangebyscore(keys.statsHistory, fromMs, '+inf').hgetall(keys.stats).exec())) ?? [];
      const members = (replies[0]?.[1] ?? []) as string[];
      return { snapshots: members.map(parseSnapshot), now: toRaw((replies[1]?.[1] ?? {}) as Record<string, string>) };
    },

    /** DELETE /stats: later windows and totals count from now; the stored counters (and /metrics) go on. */
    async reset(nowMs = Date.now()): Promise<void> {
      const now = toRaw(await guard(client.hgetall(keys.stats)));
      await guard(client.set(keys.statsBaseline, `${nowMs} ${JSON.stringify(now)}`));
    },

    /** When the counters were last reset (ms), or null. */
    async resetAt(): Promise<number | null> {
      return (await baseline())?.atMs ?? null;
    },

    /** Running tasks per queue, O(1) each. */
    async runningCounts(queues: readonly string[]): Promise<Map<string, number>> {
      const pipeline = client.pipeline();
      for (const q of queues) pipeline.zcard(keys.running(q));
      const replies = queues.length > 0 ? ((await guard(pipeline.exec())) ?? []) : [];
      return new Map(queues.map((q, i) => [q, Number(replies[i]?.[1] ?? 0)]));
    },

    /** Tasks running since before `startedBeforeMs`, oldest first, at most `limit` a queue. */
    async runningSince(queues: readonly string[], startedBeforeMs: number, limit: number): Promise<{ id: string; queue: string; startedMs: number }[]> {
      const pipeline = client.pipeline();
      for (const q of queues) pipeline.zrangebyscore(keys.running(q), '-inf', startedBeforeMs, 'WITHSCORES', 'LIMIT', 0, limit);
      const replies = queues.length > 0 ? ((await guard(pipeline.exec())) ?? []) : [];
      const out: { id: string; queue: string; startedMs: number }[] = [];
      for (const [i, q] of queues.entries()) {
        const flat = (replies[i]?.[1] ?? []) as string[];
        for (let j = 0; j + 1 < flat.length; j += 2) out.push({ id: flat[j]!, queue: q, startedMs: Number(flat[j + 1]) });
      }
      return out.sort((a, b) => a.startedMs - b.startedMs);
    },

    /**
     * Tasks by status now, each O(1): waiting (pending + scheduled: what came in minus what left, from
     * the counters, which never reset), running (the running lists), finished ones still kept (their
     * lists; expired records leave them within a trim).
     */
    async statusCounts(raw: RawStats, queues: readonly string[]): Promise<Record<'waiting' | 'running' | (typeof FINAL_STATUSES)[number], number>> {
      let waiting = 0;
      for (const c of parseStats(raw).counts.values()) {
        waiting += c.counts.submitted + c.counts.retried + c.released - (c.counts.started - c.restarted) - c.cancelledWaiting - c.counts.expired;
      }
      const lists = this.finishedLists(raw);
      const pipeline = client.pipeline();
      for (const list of lists) pipeline.zcard(list.key);
      const replies = lists.length > 0 ? ((await guard(pipeline.exec())) ?? []) : [];
      const out = { waiting: Math.max(0, waiting), running: 0, succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, expired: 0 };
      for (const [i, list] of lists.entries()) out[list.status as (typeof FINAL_STATUSES)[number]] += Number(replies[i]?.[1] ?? 0);
      for (const n of (await this.runningCounts(queues)).values()) out.running += n;
      return out;
    },

    /** Sizes kept in Redis: scheduled (eta, retries, publishes not yet confirmed), leases, callbacks waiting, dead letters. */
    async sizes(): Promise<{ scheduled: number; leases: number; callbacks: number; deadLetters: number }> {
      const replies = (await guard(client.pipeline().zcard(keys.scheduled).zcard(keys.leases).zcard(keys.callbacks).xlen(keys.deadLetters).exec())) ?? [];
      const n = (i: number) => Number(replies[i]?.[1] ?? 0);
      return { scheduled: n(0), leases: n(1), callbacks: n(2), deadLetters: n(3) };
    },

    /** The finished lists there may be: one per final status, queue and task name that was counted. */
    finishedLists(raw: RawStats): { status: string; queue: string; task: string; key: string }[] {
      const out: { status: string; queue: string; task: string; key: string }[] = [];
      for (const entry of parseStats(raw).counts.values()) {
        for (const status of FINAL_STATUSES) {
          if (entry.counts[status] > 0) out.push({ status, queue: entry.queue, task: entry.task, key: keys.done(status, entry.queue, entry.task) });
        }
      }
      return out;
    },

    /** Drops entries of finished tasks whose records have expired (RESULT_EXPIRES after they finished). */
    async trimFinished(nowMs = Date.now()): Promise<number> {
      const lists = this.finishedLists(await this.raw());
      if (lists.length === 0) return 0;
      const cutoff = `(${finishedMember(nowMs - resultTtlSeconds * 1000, '')}`;
      const pipeline = client.pipeline();
      for (const list of lists) pipeline.zremrangebylex(list.key, '-', cutoff);
      const replies = (await guard(pipeline.exec())) ?? [];
      return replies.reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
    },
  };
}
export type TaskStats = ReturnType<typeof createTaskStats>;

/** A finished list's member (lua/stats.lua done_member): finished time in ms, 13 digits, ':', id. */
export function finishedMember(finishedMs: number, id: string): string {
  return `${String(Math.max(0, Math.floor(finishedMs))).padStart(13, '0')}:${id}`;
}
