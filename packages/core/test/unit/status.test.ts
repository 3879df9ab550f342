import { describe, expect, it } from 'vitest';
import { canTransition, FINISHED_STATUSES, isFinished, TASK_STATUSES } from '../../src/status.js';

describe('status machine', () => {
  it.each(FINISHED_STATUSES)('a %s task never transitions anywhere', (from) => {
    for (const to of TASK_STATUSES) expect(canTransition(from, to), `${from} → ${to}`).toBe(false);
  });

  it('pending cannot go straight to a result; it fails only when its delivery could not be handled (parked)', () => {
    expect(canTransition('pending', 'succeeded')).toBe(false);
    expect(canTransition('pending', 'timed_out')).toBe(false);
    expect(canTransition('pending', 'failed')).toBe(true);
  });

  it('pending can start, be scheduled or be cancelled', () => {
    expect(canTransition('pending', 'running')).toBe(true);
    expect(canTransition('pending', 'scheduled')).toBe(true);
    expect(canTransition('pending', 'cancelled')).toBe(true);
  });

  it('running → running is allowed (redelivery after a worker died)', () => {
    expect(canTransition('running', 'running')).toBe(true);
  });

  it('running can reach every finished status but expired and go back to scheduled (retry) or to pending (handed back at shutdown)', () => {
    for (const to of FINISHED_STATUSES) expect(canTransition('running', to)).toBe(to !== 'expired');
    expect(canTransition('running', 'scheduled')).toBe(true);
    expect(canTransition('running', 'pending')).toBe(true);
    expect(canTransition('scheduled', 'succeeded')).toBe(false);
  });

  it('a task that has not started can expire; a running one cannot', () => {
    expect(canTransition('pending', 'expired')).toBe(true);
    expect(canTransition('scheduled', 'expired')).toBe(true);
    expect(canTransition('running', 'expired')).toBe(false);
  });

  it('isFinished is true exactly for succeeded, failed, timed_out, cancelled and expired', () => {
    expect(TASK_STATUSES.filter(isFinished)).toEqual(['succeeded', 'failed', 'timed_out', 'cancelled', 'expired']);
    expect(isFinished('pending')).toBe(false);
    expect(isFinished('scheduled')).toBe(false);
    expect(isFinished('running')).toBe(false);
  });
});
