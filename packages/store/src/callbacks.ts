import type { Redis } from 'ioredis';
import type { TaskCallback } from '@celerity/core';
import { guard } from './guard.js';
import type { Keys } from './keys.js';
import { CALLBACK_ATTEMPT_SCRIPT, CLAIM_CALLBACKS_SCRIPT, RETRY_CALLBACK_SCRIPT } from './scripts.js';

type CallbackScripts = Redis & {
  celerityClaimCallbacks(callbacks: string, nowMs: number, leaseUntilMs: number, limit: number): Promise<string[]>;
  celerityCallbackAttempt(key: string, callbacks: string, id: string, state: string, lastStatus: string, lastError: string, nextMs: number): Promise<string>;
  celerityRetryCallback(key: string, callbacks: string, id: string, nowMs: number): Promise<string>;
};

/**
 * Webhook deliveries: a sorted set of task ids scored by the next attempt's time. The final-status
 * scripts queue a task's callback (scripts.ts EVENTS); this claims due ones for a worker, records
 * each attempt on the record's `callback`, and starts a failed one again on request.
 */
export function createCallbacks(client: Redis, keys: Keys) {
  const redis = client as CallbackScripts;
  if (typeof redis.celerityClaimCallbacks !== 'function') {
    client.defineCommand('celerityClaimCallbacks', { numberOfKeys: 1, lua: CLAIM_CALLBACKS_SCRIPT });
    client.defineCommand('celerityCallbackAttempt', { numberOfKeys: 2, lua: CALLBACK_ATTEMPT_SCRIPT });
    client.defineCommand('celerityRetryCallback', { numberOfKeys: 2, lua: RETRY_CALLBACK_SCRIPT });
  }
  return {
    /** Claims up to `limit` callbacks that are due, for `leaseMs` (see CLAIM_CALLBACKS_SCRIPT). */
    async claimDue(limit: number, leaseMs: number, now = Date.now()): Promise<string[]> {
      return guard(redis.celerityClaimCallbacks(keys.callbacks, now, now + leaseMs, limit));
    },

    /** Records one delivery attempt; `nextAttemptAt` schedules the next one while the state stays pending. */
    async recordAttempt(
      id: string,
      attempt: { state: TaskCallback['state']; lastStatus: number | null; lastError: string | null; nextAttemptAt?: Date },
    ): Promise<void> {
      await guard(
        redis.celerityCallbackAttempt(
          keys.task(id),
          keys.callbacks,
          id,
          attempt.state,
          attempt.lastStatus === null ? '' : String(attempt.lastStatus),
          attempt.lastError ?? '',
          attempt.nextAttemptAt?.getTime() ?? 0,
        ),
      );
    },

    /** Drops a queued callback whose task record is gone. */
    async forget(id: string): Promise<void> {
      await guard(client.zrem(keys.callbacks, id));
    },

    /** Delivers a failed callback again (POST /tasks/:id/callback/retry); see RETRY_CALLBACK_SCRIPT for the answers. */
    async retry(id: string): Promise<'ok' | 'missing' | 'none' | TaskCallback['state']> {
      return guard(redis.celerityRetryCallback(keys.task(id), keys.callbacks, id, Date.now())) as Promise<'ok' | 'missing' | 'none' | TaskCallback['state']>;
    },
  };
}
export type Callbacks = ReturnType<typeof createCallbacks>;
