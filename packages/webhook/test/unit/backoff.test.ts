import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '@celerity/core';
import { webhookBackoff } from '../../src/index.js';

describe('webhookBackoff', () => {
  it('floors a retry at half the base delay and caps it at the maximum', () => {
    const backoff = webhookBackoff({ base: 1_000, max: 60_000 });
    expect(backoff).toEqual({ baseMs: 1_000, maxMs: 60_000, floorMs: 500 });
    expect(backoffDelayMs(1, backoff, () => 0)).toBe(500);
    expect(backoffDelayMs(30, backoff, () => 1)).toBe(60_000);
  });
});
