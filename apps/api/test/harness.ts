import { connectBroker, type Broker } from '@celerity/broker';
import { createLogger, createRouter, type Config } from '@celerity/core';
import { createProducerFromConfig } from '@celerity/producer';
import { createKeys, createRedis, createTaskStore, type Keys, type RedisClient, type TaskStore } from '@celerity/store';
import type { ResolveHost } from '@celerity/webhook';
import { cleanupNamespace, testConfig, testNamespace } from '@celerity/testkit';
import { buildApp, type ApiDeps, type App } from '../src/app.js';

export interface ApiHarness {
  ns: string;
  config: Readonly<Config>;
  app: App;
  store: TaskStore;
  /** the namespace's key names, for tests that read Redis directly */
  keys: Keys;
  broker: Broker;
  redis: RedisClient;
  close(): Promise<void>;
}

/** The real app on real RabbitMQ and Redis, in its own namespace, without a worker (tasks stay queued). */
export async function startApiHarness(
  env: Record<string, string> = {},
  options: Pick<ApiDeps, 'eventsHeartbeatMs' | 'credentials' | 'uiDir'> & { resolveCallbackHost?: ResolveHost } = {},
): Promise<ApiHarness> {
  const ns = testNamespace();
  const config = testConfig(ns, env);
  const log = createLogger({ service: 'test-api', level: config.LOG_LEVEL });
  const router = createRouter(config.file.queues, config.file.routes);
  const redis = createRedis({ url: config.REDIS_URL, log, failFast: true, name: 'test-api' });
  await redis.connect();
  const store = createTaskStore(redis, { namespace: ns, resultTtlSeconds: config.RESULT_EXPIRES });
  const broker = await connectBroker({ url: config.RABBITMQ_URL, namespace: ns, queues: router.queues, log });
  const { resolveCallbackHost, ...appOptions } = options;
  const producer = createProducerFromConfig(config, { store, broker, log, ...(resolveCallbackHost ? { resolveCallbackHost } : {}) });
  const app = await buildApp({ config, log, store, redis, broker, producer, ...appOptions });
  return {
    ns,
    config,
    app,
    store,
    keys: createKeys(ns),
    broker,
    redis,
    async close() {
      await app.close();
      await broker.close();
      redis.disconnect();
      await cleanupNamespace(ns, router.queues.map((q) => q.name));
    },
  };
}
