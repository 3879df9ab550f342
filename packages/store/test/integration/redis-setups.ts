import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createLogger, newTaskId, type NewTask } from '@celerity/core';
import { cleanupNamespace, startRedisCluster, testNamespace, testRedisUrl, type RedisClusterUnderTest } from '@celerity/testkit';
import { createKeys, createRedis, createTaskStore, type Keys, type RedisClient, type TaskStore } from '../../src/index.js';

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

/**
 * Before each test: a connection of `setup` and a store in a fresh namespace, handed to `use` with the
 * namespace's key names (for reading Redis directly); after it, both gone.
 */
export function storeEach(setup: Setup, use: (connected: { redis: RedisClient; store: TaskStore; keys: Keys }) => void): void {
  let ns: string;
  let redis: RedisClient;
  beforeEach(async () => {
    ns = testNamespace();
    redis = setup.connect();
    await redis.connect();
    use({ redis, store: createTaskStore(redis, { namespace: ns, resultTtlSeconds: 120 }), keys: createKeys(ns) });
  });
  afterEach(async () => {
    redis.disconnect();
    await setup.cleanup(ns);
  });
}
