import { backoffDelayMs, type ErrorPayload } from '@celerity/core';

export interface RetryPolicy {
  /** TASK_RETRY_DELAY, in ms: the first retry waits at least this long */
  baseDelayMs: number;
  /** TASK_RETRY_DELAY_MAX, in ms: no retry waits longer */
  maxDelayMs: number;
}

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'fail' };

/**
 * Whether a failed attempt runs again, and when. A job that threw RetryLaterError gets the delay it
 * asked for; otherwise the service's backoff (core backoffDelayMs) with the base delay as its floor:
 * uniform between the base delay and min(max, base × 2^(attempt−1)), so retries of many tasks that
 * failed together spread out. Either way only while attempts remain. `attempt` is the attempt that
 * just failed (1 = first run); `maxRetries` counts runs after the first. Pure: the random source
 * comes in as a parameter.
 */
export function decideRetry(error: ErrorPayload, attempt: number, maxRetries: number, policy: RetryPolicy, random: () => number = Math.random): RetryDecision {
  if (!error.retryable || attempt > maxRetries) return { kind: 'fail' };
  if (error.retry_delay_ms !== undefined) return { kind: 'retry', delayMs: error.retry_delay_ms };
  return { kind: 'retry', delayMs: backoffDelayMs(attempt, { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, floorMs: policy.baseDelayMs }, random) };
}
