import { connectBroker } from '@celerity/broker';
import { connectOrExplain, createRouter, type Closable, type Config, type Logger } from '@celerity/core';
import { createProducerFromConfig } from '@celerity/producer';
import { createRedis, createTaskStore } from '@celerity/store';
import { buildApp } from './app.js';

export interface RunningApi extends Closable {
  url: string;
}

/** The API process: Redis → RabbitMQ → app → listen. close() drains in reverse order. */
export async function startApi(config: Readonly<Config>, log: Logger): Promise<RunningApi> {
  const router = createRouter(config.file.queues, config.file.routes);
  const redis = createRedis({ url: config.REDIS_URL, log, failFast: true, name: 'celerity-api' });
  await connectOrExplain('Redis', config.REDIS_URL, () => redis.connect());
  const store = createTaskStore(redis, { namespace: config.NAMESPACE, resultTtlSeconds: config.RESULT_EXPIRES });
  const broker = await connectOrExplain('RabbitMQ', config.RABBITMQ_URL, () =>
    connectBroker({
      url: config.RABBITMQ_URL,
      namespace: config.NAMESPACE,
      queues: router.queues,
      log,
      publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
      connectionName: 'celerity-api',
    }),
  ).catch(async (err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const producer = createProducerFromConfig(config, { store, broker, log });
  if (!config.API_KEYS) log.warn('API_KEYS is not set: authentication is off (allowed only on a loopback HOST)');

  let draining = false;
  const app = await buildApp({ config, log, store, broker, producer, isDraining: () => draining });
  const url = await app.listen({ host: config.HOST, port: config.PORT });
  log.info({ url, docs: `${url}/docs` }, 'api listening');

  return {
    name: 'api',
    url,
    async close() {
      draining = true;
      await app.close(); // stops accepting connections, finishes in-flight requests
      await broker.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
