import { describe, expect, it } from 'vitest';
import { webhookRetryDelayMs } from '../../src/index.js';

describe('webhookRetryDelayMs', () => {
  const base = 1_000;
  const max = 60_000;

  it('draws from [0, base * 2^(attempt-1)) with full jitter', () => {
    expect(webhookRetryDelayMs(1, base, max, () => 0.999)).toBeCloseTo(999);
    expect(webhookRetryDelayMs(2, base, max, () => 0.75)).toBe(1_500);
    expect(webhookRetryDelayMs(4, base, max, () => 0.5)).toBe(4_000);
  });

  it('never goes below base / 2', () => {
    for (let attempt = 1; attempt <= 10; attempt++) expect(webhookRetryDelayMs(attempt, base, max, () => 0)).toBe(500);
  });

  it('never goes above max, however many attempts', () => {
    expect(webhookRetryDelayMs(7, base, max, () => 0.999_999)).toBeLessThan(max);
    expect(webhookRetryDelayMs(50, base, max, () => 1)).toBe(max);
    expect(webhookRetryDelayMs(5_000, base, max, () => 1)).toBe(max);
  });

  it('stays within [base/2, min(max, base*2^(attempt-1))] with the real random', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      for (let i = 0; i < 200; i++) {
        const delay = webhookRetryDelayMs(attempt, base, max);
        expect(delay).toBeGreaterThanOrEqual(base / 2);
        expect(delay).toBeLessThanOrEqual(Math.min(max, base * 2 ** (attempt - 1)));
      }
    }
  });

  it('refuses an attempt below 1 and negative bounds', () => {
    expect(() => webhookRetryDelayMs(0, base, max)).toThrow(RangeError);
    expect(() => webhookRetryDelayMs(1.5, base, max)).toThrow(RangeError);
    expect(() => webhookRetryDelayMs(1, -1, max)).toThrow(RangeError);
  });
});
