import { createTickBatcher } from '@celerity/core';
import { guard } from './guard.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { scriptsFor } from './scripts.js';

/** A scheduled task whose time has come, claimed for publishing to its queue. */
export interface DueTask {
  id: string;
  queue: string;
  priority: number;
  task: string;
  trace_id: string;
}

/**
 * The schedule and the leases: the sorted set of tasks waiting for a time (an eta, a retry, or the
 * publish deadline of a task just written), the claims the dispatcher takes on those that are due,
 * the leases of running tasks acked at start, and the lock that lets one dispatcher at a time move
 * them. Each record's status is changed by the record scripts; this only keeps the times.
 */
export function createScheduledTasks(client: RedisClient, keys: Keys, ttlSeconds: number) {
  const scripts = scriptsFor(client);

  // confirms of one turn's publishes (the producer's, each with its own deadline) share a script call
  const releaseBatch = createTickBatcher(async (entries: { id: string; score: number }[]) => {
    await scripts.releaseDue({ scheduled: keys.scheduled, entries });
    return entries.map(() => undefined);
  });

  return {
    /** Claims up to `limit` scheduled tasks that are due, for `leaseMs` (lua/claim-due.lua). */
    async claimDue(limit: number, leaseMs: number, now = Date.now()): Promise<{ tasks: DueTask[]; leaseUntilMs: number }> {
      const leaseUntilMs = now + leaseMs;
      const flat = await guard(scripts.claimDue({ scheduled: keys.scheduled, nowMs: now, leaseUntilMs, limit, taskPrefix: keys.task(''), nowIso: new Date(now).toISOString(), prefix: keys.prefix }));
      const tasks: DueTask[] = [];
      for (let i = 0; i + 4 < flat.length; i += 5) {
        tasks.push({ id: flat[i]!, queue: flat[i + 1]!, priority: Number(flat[i + 2]), task: flat[i + 3]!, trace_id: flat[i + 4]! });
      }
      return { tasks, leaseUntilMs };
    },

    /** Forgets claimed tasks once their messages are confirmed (unless rescheduled meanwhile). */
    async releaseDue(ids: readonly string[], leaseUntilMs: number): Promise<void> {
      if (ids.length > 0) await guard(scripts.releaseDue({ scheduled: keys.scheduled, entries: ids.map((id) => ({ id, score: leaseUntilMs })) }));
    },

    /** The publish of a task written with `publishByMs` is confirmed: the dispatcher need not publish it (unless rescheduled meanwhile). */
    async publishedNow(ids: readonly string[], publishByMs: number): Promise<void> {
      await guard(Promise.all(ids.map((id) => releaseBatch({ id, score: publishByMs }))));
    },

    /** Guards a running task that was acked at start, until `untilMs`; renew before it runs out. */
    async holdLease(id: string, untilMs: number): Promise<void> {
      await guard(client.zadd(keys.leases, untilMs, id));
    },

    async dropLease(id: string): Promise<void> {
      await guard(client.zrem(keys.leases, id));
    },

    /** Reschedules (or, out of attempts, fails) running tasks whose lease ran out: their worker died. */
    async reapExpiredLeases(limit: number, now = new Date()): Promise<{ rescheduled: string[]; lost: string[] }> {
      const [rescheduled, lost] = await guard(
        scripts.reapLeases({
          leases: keys.leases,
          scheduled: keys.scheduled,
          deadLetters: keys.deadLetters,
          callbacks: keys.callbacks,
          stats: keys.stats,
          prefix: keys.prefix,
          nowMs: now.getTime(),
          limit,
          taskPrefix: keys.task(''),
          nowIso: now.toISOString(),
          ttl: ttlSeconds,
        }),
      );
      return { rescheduled, lost };
    },

    /**
     * Takes or extends the dispatcher's lock for `owner` for `ttlMs` (lua/lock.lua): true while the
     * caller holds it, so one dispatcher at a time moves due tasks (the others stand by).
     */
    async lockDispatcher(owner: string, ttlMs: number): Promise<boolean> {
      return (await guard(scripts.lock({ lock: keys.schedulerLock, owner, ttlMs }))) === 1;
    },
  };
}
export type ScheduledTasks = ReturnType<typeof createScheduledTasks>;
