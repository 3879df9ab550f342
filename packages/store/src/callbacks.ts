import type { RedisClient } from './redis.js';
import type { TaskCallback } from '@celerity/core';
import { guard } from './guard.js';
import type { Keys } from './keys.js';
import { scriptsFor } from './scripts.js';

/**
 * Webhook deliveries: a sorted set of task ids scored by the next attempt's time. The final-status
 * scripts queue a task's callback (lua/events.lua `finalize`); this claims due ones for a worker, records
 * each attempt on the record's `callback`, and starts a failed one again on request.
 */
export function createCallbacks(client: RedisClient, keys: Keys) {
  const scripts = scriptsFor(client);
  return {
    /** Claims up to `limit` callbacks that are due, for `leaseMs` (lua/claim-callbacks.lua). */
    async claimDue(limit: number, leaseMs: number, now = Date.now()): Promise<string[]> {
      return guard(scripts.claimCallbacks({ callbacks: keys.callbacks, nowMs: now, leaseUntilMs: now + leaseMs, limit }));
    },

    /** Records one delivery attempt; `nextAttemptAt` schedules the next one while the state stays pending. */
    async recordAttempt(
      id: string,
      attempt: { state: TaskCallback['state']; lastStatus: number | null; lastError: string | null; nextAttemptAt?: Date },
    ): Promise<void> {
      await guard(
        scripts.callbackAttempt({
          record: keys.task(id),
          callbacks: keys.callbacks,
          id,
          state: attempt.state,
          lastStatus: attempt.lastStatus,
          lastError: attempt.lastError,
          nextAttemptMs: attempt.nextAttemptAt?.getTime() ?? 0,
        }),
      );
    },

    /** Drops a queued callback whose task record is gone. */
    async forget(id: string): Promise<void> {
      await guard(client.zrem(keys.callbacks, id));
    },

    /** Delivers a failed callback again (POST /tasks/:id/callback/retry); see lua/retry-callback.lua for the answers. */
    async retry(id: string): Promise<'ok' | 'missing' | 'none' | TaskCallback['state']> {
      return guard(scripts.retryCallback({ record: keys.task(id), callbacks: keys.callbacks, id, nowMs: Date.now() })) as Promise<'ok' | 'missing' | 'none' | TaskCallback['state']>;
    },
  };
}
export type Callbacks = ReturnType<typeof createCallbacks>;
