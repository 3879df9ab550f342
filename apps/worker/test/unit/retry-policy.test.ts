import { describe, expect, it } from 'vitest';
import { RetryLaterError, toErrorPayload } from '@celerity/core';
import { decideRetry } from '../../src/retry-policy.js';

const policy = { baseDelayMs: 1_000, maxDelayMs: 10_000 };
const retryable = { type: 'Error', message: 'boom', retryable: true };

describe('decideRetry', () => {
  it('retries a retryable error while attempts remain, and fails after max_retries retries', () => {
    expect(decideRetry(retryable, 1, 3, policy, () => 0).kind).toBe('retry');
    expect(decideRetry(retryable, 3, 3, policy, () => 0).kind).toBe('retry');
    expect(decideRetry(retryable, 4, 3, policy, () => 0)).toEqual({ kind: 'fail' });
    expect(decideRetry(retryable, 1, 0, policy, () => 0)).toEqual({ kind: 'fail' });
  });

  it('never retries an error marked not retryable', () => {
    expect(decideRetry({ ...retryable, retryable: false }, 1, 3, policy)).toEqual({ kind: 'fail' });
  });

  it('spreads the delay between the base and an exponentially growing ceiling, capped by the maximum', () => {
    expect(decideRetry(retryable, 1, 9, policy, () => 1)).toEqual({ kind: 'retry', delayMs: 1_000 }); // ceiling = base
    expect(decideRetry(retryable, 3, 9, policy, () => 0)).toEqual({ kind: 'retry', delayMs: 1_000 });
    expect(decideRetry(retryable, 3, 9, policy, () => 1)).toEqual({ kind: 'retry', delayMs: 4_000 });
    expect(decideRetry(retryable, 3, 9, policy, () => 0.5)).toEqual({ kind: 'retry', delayMs: 2_500 });
    expect(decideRetry(retryable, 8, 9, policy, () => 1)).toEqual({ kind: 'retry', delayMs: 10_000 });
  });

  it('takes the delay a RetryLaterError asked for, beyond the maximum too, but only while attempts remain', () => {
    const later = toErrorPayload(new RetryLaterError('rate limited', 90_000));
    expect(decideRetry(later, 1, 3, policy, () => 0)).toEqual({ kind: 'retry', delayMs: 90_000 });
    expect(decideRetry(later, 4, 3, policy)).toEqual({ kind: 'fail' });
  });
});
