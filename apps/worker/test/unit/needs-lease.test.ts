import { describe, expect, it } from 'vitest';
import { needsLease } from '../../src/handle-delivery.js';

describe('needsLease (acks at start for tasks that may outlive consumer_timeout)', () => {
  const thirtyMinutes = 1_800_000;
  it('keeps acks-late for tasks whose hard limit stays under half the consumer timeout', () => {
    expect(needsLease(600, thirtyMinutes)).toBe(false); // the defaults
    expect(needsLease(899, thirtyMinutes)).toBe(false);
  });
  it('acks at start from half the consumer timeout on', () => {
    expect(needsLease(900, thirtyMinutes)).toBe(true);
    expect(needsLease(7_200, thirtyMinutes)).toBe(true);
  });
});
