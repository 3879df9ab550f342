import { afterAll, beforeAll } from 'vitest';
import { createLogger, newTaskId, type NewTask } from '@celerity/core';
import { cleanupNamespace, startRedisCluster, testRedisUrl, type RedisClusterUnderTest } from '@celerity/testkit';
import { createRedis, type RedisClient } from '../../src/index.js';

export const log = createLogger({ service: 'test', level: 'silent' });

/** Where a store test runs: how it connects, and how it removes its namespace afterwards. */
export interface Setup {
  connect(): RedisClient;
  cleanup(ns: string): Promise<void>;
}

/**
 * The store's tests run twice: on the single Redis the other tests share (REDIS_URL) and on a Redis
 * Cluster of three masters that the calling file starts from the local redis-server binary (beforeAll)
 * and removes afterwards (afterAll). Call at the top level of a test file; use with describe.each.
 */
export function redisSetups(): [string, Setup][] {
  let cluster: RedisClusterUnderTest | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return [
    ['single Redis', { connect: () => createRedis({ url: testRedisUrl(), log, failFast: true, name: 'test' }), cleanup: (ns) => cleanupNamespace(ns) }],
    [
      'Redis Cluster, 3 masters',
      {
        connect: () => createRedis({ url: 'redis://', clusterNodes: cluster!.nodes, log, failFast: true, name: 'test' }),
        cleanup: async () => undefined, // the whole cluster is removed after the file
      },
    ],
  ];
}

export function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: newTaskId(),
    task: 'demo.echo',
    queue: 'default',
    priority: 5,
    input: { a: 1 },
    max_retries: 3,
    time_limit: null,
    soft_time_limit: null,
    retry_on_timeout: false,
    trace_id: 'trace-1',
    metadata: null,
    callback_url: null,
    eta: null,
    ...overrides,
  };
}
