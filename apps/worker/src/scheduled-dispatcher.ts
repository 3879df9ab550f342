import type { Broker } from '@celerity/broker';
import type { Logger } from '@celerity/core';
import type { Producer } from '@celerity/producer';
import type { TaskStore } from '@celerity/store';
import { runPeriodically } from './periodic.js';

export interface ScheduledDispatcherOptions {
  store: TaskStore;
  broker: Broker;
  /** due tasks reach their queues through it, as every task does */
  producer: Pick<Producer, 'publishDue'>;
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
 * survive restarts of anything. One worker at a time does this, under a short lock; the producer
 * (the one way into the queues) claims each task with a lease and forgets it only once its publish is
 * confirmed, so a dispatcher that dies half-way loses nothing (the worst case is a duplicate message,
 * which the claim script skips).
 */
export function startScheduledDispatcher(options: ScheduledDispatcherOptions): { close(): Promise<void> } {
  const { store, broker, producer, log, owner } = options;
  const intervalMs = options.intervalMs ?? 250;
  const batchSize = options.batchSize ?? 500;
  const leaseMs = 30_000;

  async function dispatchDue(): Promise<void> {
    if (!broker.isConnected()) return;
    if (!(await store.scheduled.lockDispatcher(owner, intervalMs * 8))) return;
    const reaped = await store.scheduled.reapExpiredLeases(batchSize);
    if (reaped.rescheduled.length > 0) log.warn({ task_ids: reaped.rescheduled }, 'lease ran out (worker gone): tasks rescheduled');
    if (reaped.lost.length > 0) log.error({ task_ids: reaped.lost }, 'lease ran out and no attempts left: tasks failed and dead-lettered');
    for (;;) {
      const { claimed, published } = await producer.publishDue(batchSize, leaseMs);
      if (claimed < batchSize || published < claimed) return;
    }
  }

  return runPeriodically(intervalMs, dispatchDue, (err) => log.warn({ err }, 'scheduled dispatch failed; will try again'));
}
