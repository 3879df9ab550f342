import { setTimeout as sleep } from 'node:timers/promises';
import { fireTimesAfter, latestFireTimes, parseMisfire, type ScheduleSpec } from '@celerity/core';

/** Time as the beat sees it; tests pass their own to cover hours or a DST change without waiting. */
export interface Clock {
  now(): number;
  /** resolves after `ms`, or early when `signal` aborts */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

/** A fire later than this after its time counts as missed (the beat was down); `skip` drops it. */
export const MISFIRE_GRACE_MS = 5_000;

export interface FirePlan {
  /** fire times to submit now, oldest first (never one later than `now`) */
  firesMs: number[];
  /** the new cursor: every fire time up to it is decided (fired or skipped) */
  cursorMs: number;
  /** how many due fire times were skipped (misfire policy) */
  skipped: number;
}

/**
 * What one schedule should fire at `nowMs`, given the cursor (every fire time up to it is already
 * decided). Pure. Fire times after the cursor and not after now are due; when more than one is due,
 * or the only one is later than the grace, the beat was down and the misfire policy decides:
 * `run_once` fires the latest, `skip` fires none that is late, `catch_up(N)` fires the latest N.
 */
export function planFires(spec: ScheduleSpec, cursorMs: number, nowMs: number, graceMs = MISFIRE_GRACE_MS): FirePlan | null {
  const policy = parseMisfire(spec.misfire ?? 'run_once');
  const wanted = policy.kind === 'catch_up' ? policy.max : 1;
  // one more than wanted tells "exactly these" from "and others before them"
  const due = latestFireTimes(spec, new Date(cursorMs), new Date(nowMs), wanted + 1).map((d) => d.getTime());
  if (due.length === 0) return null;
  const latest = due.at(-1)!;
  const candidates = due.slice(-wanted);
  const firesMs = policy.kind === 'skip' ? candidates.filter((t) => nowMs - t <= graceMs) : candidates;
  // when more were due than enumerated, the exact count skipped is unknown and not worth computing
  const skipped = due.length > wanted ? Math.max(1, due.length - firesMs.length) : due.length - firesMs.length;
  return { firesMs, cursorMs: latest, skipped };
}

/** The next `count` fire times after `afterMs`. */
export function nextFires(spec: ScheduleSpec, afterMs: number, count: number): number[] {
  return fireTimesAfter(spec, new Date(afterMs), count).map((d) => d.getTime());
}
