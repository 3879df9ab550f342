import picomatch from 'picomatch';
import { z } from 'zod';
import { PriorityOutOfRangeError, UnknownQueueError } from './errors.js';

const queueName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _ only');

export const QueueDefinition = z
  .object({
    name: queueName,
    max_priority: z.number().int().min(1).max(10),
    default_priority: z.number().int().min(0).max(10),
  })
  .strict()
  .refine((q) => q.default_priority <= q.max_priority, { message: 'default_priority must not exceed max_priority' });
export type QueueDefinition = z.output<typeof QueueDefinition>;

export const RoutingRule = z
  .object({
    match: z.string().min(1),
    queue: queueName,
    priority: z.number().int().min(0).max(10).optional(),
  })
  .strict();
export type RoutingRule = z.output<typeof RoutingRule>;

/** DESIGN.md "Queues and routing": the default topology. */
export const DEFAULT_QUEUES: readonly QueueDefinition[] = [
  { name: 'high_priority', max_priority: 10, default_priority: 9 },
  { name: 'low_priority', max_priority: 1, default_priority: 1 },
  { name: 'cron', max_priority: 10, default_priority: 5 },
  { name: 'default', max_priority: 10, default_priority: 5 },
];

export interface Route {
  queue: string;
  priority: number;
}

export interface Router {
  readonly queues: readonly QueueDefinition[];
  /** Picks queue and priority: explicit request values win, then the first matching rule, then `default`. */
  route(task: string, requested: { queue?: string | undefined; priority?: number | undefined }): Route;
}

/** Queues from the config file are added to (or override) the defaults; rules keep their order. */
export function createRouter(extraQueues: readonly QueueDefinition[], rules: readonly RoutingRule[]): Router {
  const byName = new Map(DEFAULT_QUEUES.map((q) => [q.name, q]));
  for (const q of extraQueues) byName.set(q.name, q);
  for (const rule of rules) {
    const queue = byName.get(rule.queue);
    if (!queue) throw new UnknownQueueError(`routing rule "${rule.match}" names unknown queue "${rule.queue}"`);
    if (rule.priority !== undefined && rule.priority > queue.max_priority) {
      throw new PriorityOutOfRangeError(`routing rule "${rule.match}" sets priority ${rule.priority} above the maximum of queue "${queue.name}" (${queue.max_priority})`);
    }
  }
  const matchers = rules.map((rule) => ({ rule, test: picomatch(rule.match, { dot: true }) }));

  return {
    queues: [...byName.values()],
    route(task, requested) {
      const rule = matchers.find((m) => m.test(task))?.rule;
      const queueName = requested.queue ?? rule?.queue ?? 'default';
      const queue = byName.get(queueName);
      if (!queue) throw new UnknownQueueError(`unknown queue "${queueName}"; known: ${[...byName.keys()].join(', ')}`, 'queue');
      const priority = requested.priority ?? (requested.queue === undefined ? rule?.priority : undefined) ?? queue.default_priority;
      if (!Number.isInteger(priority) || priority < 0 || priority > queue.max_priority) {
        throw new PriorityOutOfRangeError(`priority ${priority} is outside 0..${queue.max_priority}, the range of queue "${queue.name}"`, 'priority');
      }
      return { queue: queue.name, priority };
    },
  };
}

const routers = new WeakMap<object, Router>();

/**
 * The router of a configuration, built once (picomatch compiles every rule): the parts of one
 * process (`celerity start` runs API, worker and beat) and their producers share it.
 */
export function routerOf(config: { file: { queues: readonly QueueDefinition[]; routes: readonly RoutingRule[] } }): Router {
  let router = routers.get(config);
  if (!router) {
    router = createRouter(config.file.queues, config.file.routes);
    routers.set(config, router);
  }
  return router;
}
