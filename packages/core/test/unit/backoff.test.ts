import { describe, expect, it } from 'vitest';
import { backoffDelayMs, type Backoff } from '../../src/backoff.js';

describe('backoffDelayMs', () => {
  // the webhook's policy: floor base / 2
  const webhook: Backoff = { baseMs: 1_000, maxMs: 60_000, floorMs: 500 };
  // the task retries' policy: floor = base
  const task: Backoff = { baseMs: 1_000, maxMs: 10_000, floorMs: 1_000 };

  it('draws uniformly between the floor and min(max, base * 2^(attempt-1))', () => {
    expect(backoffDelayMs(1, webhook, () => 0.999)).toBe(1_000);
    expect(backoffDelayMs(2, webhook, () => 0.5)).toBe(1_250);
    expect(backoffDelayMs(4, webhook, () => 0.5)).toBe(4_250);
    expect(backoffDelayMs(3, task, () => 0.5)).toBe(2_500);
    expect(backoffDelayMs(1, task, () => 1)).toBe(1_000);
  });

  it('never goes below the floor', () => {
    for (let attempt = 1; attempt <= 10; attempt++) expect(backoffDelayMs(attempt, webhook, () => 0)).toBe(500);
  });

  it('never goes above max, however many attempts, and clamps the floor to it', () => {
    expect(backoffDelayMs(50, webhook, () => 1)).toBe(60_000);
    expect(backoffDelayMs(5_000, webhook, () => 1)).toBe(60_000);
    expect(backoffDelayMs(1, { baseMs: 1_000, maxMs: 200, floorMs: 500 }, () => 0)).toBe(200);
  });

  it('stays within [floor, min(max, base*2^(attempt-1))] with the real random', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      for (let i = 0; i < 200; i++) {
        const delay = backoffDelayMs(attempt, webhook);
        expect(delay).toBeGreaterThanOrEqual(500);
        expect(delay).toBeLessThanOrEqual(Math.min(60_000, 1_000 * 2 ** (attempt - 1)));
      }
    }
  });

  it('refuses an attempt below 1 and negative bounds', () => {
    expect(() => backoffDelayMs(0, webhook)).toThrow(RangeError);
    expect(() => backoffDelayMs(1.5, webhook)).toThrow(RangeError);
    expect(() => backoffDelayMs(1, { ...webhook, baseMs: -1 })).toThrow(RangeError);
  });
});
