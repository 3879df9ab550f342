import type { ErrorPayload } from '@celerity/core';

export interface RetryPolicy {
  /** TASK_RETRY_DELAY, in ms: the first retry waits at least this long */
  baseDelayMs: number;
  /** TASK_RETRY_DELAY_MAX, in ms: no retry waits longer */
  maxDelayMs: number;
}

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'fail' };

/**
 * Whether a failed attempt runs again, and when: exponential backoff with full jitter — the
 * delay is uniform between the base delay and min(max, base × 2^(attempt−1)), so retries of many
 * tasks that failed together spread out. `attempt` is the attempt that just failed (1 = first run);
 * `maxRetries` counts runs after the first. Pure: the random source comes in as a parameter.
 */
export function decideRetry(error: ErrorPayload, attempt: number, maxRetries: number, policy: RetryPolicy, random: () => number = Math.random): RetryDecision {
  if (!error.retryable || attempt > maxRetries) return { kind: 'fail' };
  const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const delayMs = Math.round(policy.baseDelayMs + random() * Math.max(0, ceilingMs - policy.baseDelayMs));
  return { kind: 'retry', delayMs };
}
