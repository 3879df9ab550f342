import type { QueueDefinition } from '@celerity/core';

/** The broker-side name of a logical queue: NAMESPACE lets deployments and test runs share one broker. */
export function physicalQueueName(namespace: string | undefined, queue: string): string {
  return namespace ? `${namespace}.${queue}` : queue;
}

export interface QueueDeclaration {
  name: string;
  logicalName: string;
  options: { durable: true; arguments: Record<string, unknown> };
}

/** Topology as data: what gets asserted (idempotently) on every connect by API and workers alike. */
export function queueDeclarations(namespace: string | undefined, queues: readonly QueueDefinition[]): QueueDeclaration[] {
  return queues.map((q) => ({
    name: physicalQueueName(namespace, q.name),
    logicalName: q.name,
    options: { durable: true, arguments: { 'x-max-priority': q.max_priority, 'x-queue-type': 'classic' } },
  }));
}

/**
 * Where messages go whose handler failed WORKER_HANDLER_FAILURE_LIMIT times in a row (broker.ts
 * HANDLER_FAILURE_BACKOFF), until a worker moves them to the dead letters. Its name has a dot, which
 * no task queue's name may have, so it never meets one.
 */
export const PARKING_QUEUE = 'celerity.parked';

export function parkingQueueDeclaration(namespace: string | undefined): QueueDeclaration {
  return { name: physicalQueueName(namespace, PARKING_QUEUE), logicalName: PARKING_QUEUE, options: { durable: true, arguments: { 'x-queue-type': 'classic' } } };
}
