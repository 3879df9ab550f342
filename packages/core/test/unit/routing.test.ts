import { describe, expect, it } from 'vitest';
import { PriorityOutOfRangeError, UnknownQueueError } from '../../src/errors.js';
import { createRouter, routerOf, type QueueDefinition, type RoutingRule } from '../../src/routing.js';

const rules: RoutingRule[] = [
  { match: 'reports.*', queue: 'low_priority' },
  { match: 'urgent.**', queue: 'high_priority', priority: 7 },
  { match: 'urgent.page.*', queue: 'default', priority: 8 }, // shadowed by the rule above
  { match: 'mail.send', queue: 'default', priority: 2 },
];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('createRouter', () => {
  it('sends an unmatched task to queue "default" with priority 5', () => {
    expect(createRouter([], []).route('demo.echo', {})).toEqual({ queue: 'default', priority: 5 });
    expect(createRouter([], rules).route('demo.echo', {})).toEqual({ queue: 'default', priority: 5 });
  });

  it('lets a glob like "reports.*" match a multi-dot name and uses the queue default priority', () => {
    expect(createRouter([], rules).route('reports.monthly.generate', {})).toEqual({ queue: 'low_priority', priority: 1 });
  });

  it('applies the first matching rule, not a later one', () => {
    expect(createRouter([], rules).route('urgent.page.oncall', {})).toEqual({ queue: 'high_priority', priority: 7 });
  });

  it('applies a rule priority', () => {
    expect(createRouter([], rules).route('mail.send', {})).toEqual({ queue: 'default', priority: 2 });
  });

  it('lets an explicit queue win over a rule, with that queue default priority instead of the rule priority', () => {
    expect(createRouter([], rules).route('mail.send', { queue: 'high_priority' })).toEqual({ queue: 'high_priority', priority: 9 });
    expect(createRouter([], rules).route('urgent.x', { queue: 'default' })).toEqual({ queue: 'default', priority: 5 });
  });

  it('lets an explicit priority win over the rule and the queue default', () => {
    expect(createRouter([], rules).route('mail.send', { priority: 6 })).toEqual({ queue: 'default', priority: 6 });
    expect(createRouter([], rules).route('demo.echo', { priority: 0 })).toEqual({ queue: 'default', priority: 0 });
  });

  it('refuses an unknown queue with UnknownQueueError on field "queue"', () => {
    const err = thrown(() => createRouter([], []).route('demo.echo', { queue: 'nope' }));
    expect(err).toBeInstanceOf(UnknownQueueError);
    expect((err as UnknownQueueError).field).toBe('queue');
    expect((err as UnknownQueueError).code).toBe('UNKNOWN_QUEUE');
  });

  it('refuses a priority above the queue maximum', () => {
    const err = thrown(() => createRouter([], []).route('demo.echo', { queue: 'low_priority', priority: 2 }));
    expect(err).toBeInstanceOf(PriorityOutOfRangeError);
    expect((err as PriorityOutOfRangeError).field).toBe('priority');
    expect(createRouter([], []).route('demo.echo', { queue: 'low_priority', priority: 1 })).toEqual({ queue: 'low_priority', priority: 1 });
  });

  it('routes to extra queues from the config, by rule and explicitly', () => {
    const extra: QueueDefinition[] = [{ name: 'gpu', max_priority: 3, default_priority: 2 }];
    const router = createRouter(extra, [{ match: 'ml.**', queue: 'gpu' }]);
    expect(router.route('ml.train.resnet', {})).toEqual({ queue: 'gpu', priority: 2 });
    expect(router.route('demo.echo', { queue: 'gpu', priority: 3 })).toEqual({ queue: 'gpu', priority: 3 });
    expect(router.queues.map((q) => q.name)).toEqual(['high_priority', 'low_priority', 'cron', 'default', 'gpu']);
  });

  it('lets a config queue override a default queue definition', () => {
    const router = createRouter([{ name: 'default', max_priority: 4, default_priority: 3 }], []);
    expect(router.route('demo.echo', {})).toEqual({ queue: 'default', priority: 3 });
    expect(() => router.route('demo.echo', { priority: 5 })).toThrow(PriorityOutOfRangeError);
  });

  it('refuses, at creation, a rule that names an unknown queue', () => {
    expect(() => createRouter([], [{ match: 'x.*', queue: 'missing' }])).toThrow(UnknownQueueError);
    expect(() => createRouter([], [{ match: 'x.*', queue: 'missing' }])).toThrow('"missing"');
  });

  it('refuses, at creation, a rule whose priority the queue cannot hold', () => {
    expect(() => createRouter([], [{ match: 'x.*', queue: 'low_priority', priority: 5 }])).toThrow(PriorityOutOfRangeError);
  });

  it('refuses a negative or fractional priority from any caller', () => {
    const router = createRouter([], []);
    expect(() => router.route('demo.echo', { priority: -3 })).toThrow(PriorityOutOfRangeError);
    expect(() => router.route('demo.echo', { priority: 1.5 })).toThrow(PriorityOutOfRangeError);
  });
});

describe('routerOf', () => {
  it('builds the router of a configuration once, and another configuration gets its own', () => {
    const config = { file: { queues: [], routes: rules } };
    const router = routerOf(config);
    expect(routerOf(config)).toBe(router);
    expect(router.route('reports.monthly.generate', {})).toMatchObject({ queue: 'low_priority' });
    expect(routerOf({ file: { queues: [], routes: [] } })).not.toBe(router);
  });
});
