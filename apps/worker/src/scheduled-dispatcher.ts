import { publishTask, type Broker } from '@celerity/broker';
import type { Logger } from '@celerity/core';
import type { TaskStore } from '@celerity/store';
import { runPeriodically } from './periodic.js';

export interface ScheduledDispatcherOptions {
  store: TaskStore;
  broker: Broker;
  log: Logger;
  /** who holds the lock (the worker name) */
  owner: string;
  /** how often due tasks are looked for: a task starts at most about this long after its eta */
  intervalMs?: number;
  /** tasks moved per round */
  batchSize?: number;
}

/**
 * Moves scheduled tasks (countdown/eta and retries) to their queues when due, after rescheduling the
 * leased tasks whose worker died (see needsLease in handle-delivery). They wait in a Redis
 * sorted set, not in the broker or in worker memory, so waiting tasks hold no prefetch slot and
 * survive restarts of anything. One worker at a time does this, under a short lock; a task is
 * claimed with a lease and forgotten only once its publish is confirmed, so a dispatcher that dies
 * half-way loses nothing (the worst case is a duplicate message, which the claim script skips).
 */
export function startScheduledDispatcher(options: ScheduledDispatcherOptions): { close(): Promise<void> } {
  const { store, broker, log, owner } = options;
  const intervalMs = options.intervalMs ?? 250;
  const batchSize = options.batchSize ?? 500;
  const leaseMs = 30_000;

  async function dispatchDue(): Promise<void> {
    if (!broker.isConnected()) return;
    if (!(await store.tryLock(store.keys.schedulerLock, owner, intervalMs * 8))) return;
    const reaped = await store.reapExpiredLeases(batchSize);
    if (reaped.rescheduled.length > 0) log.warn({ task_ids: reaped.rescheduled }, 'lease ran out (worker gone): tasks rescheduled');
    if (reaped.lost.length > 0) log.error({ task_ids: reaped.lost }, 'lease ran out and no attempts left: tasks failed and dead-lettered');
    for (;;) {
      const { tasks, leaseUntilMs } = await store.claimDue(batchSize, leaseMs);
      if (tasks.length === 0) return;
      const published: string[] = [];
      await Promise.all(
        tasks.map(async (t) => {
          try {
            await publishTask(broker, t);
            published.push(t.id);
          } catch (err) {
            log.warn({ err, task_id: t.id, trace_id: t.trace_id }, 'scheduled task not published; retried after its lease');
          }
        }),
      );
      await store.releaseDue(published, leaseUntilMs);
      log.debug({ count: published.length }, 'scheduled tasks queued');
      if (tasks.length < batchSize || published.length < tasks.length) return;
    }
  }

  return runPeriodically(intervalMs, dispatchDue, (err) => log.warn({ err }, 'scheduled dispatch failed; will try again'));
}
