import { connectBrokerFromConfig } from '@celerity/broker';
import { routerOf, readApiKeysFile, type Closable, type Config, type Logger } from '@celerity/core';
import { createProducerFromConfig } from '@celerity/producer';
import { connectTaskStore } from '@celerity/store';
import { buildApp } from './app.js';
import { createCredentials } from './credentials.js';

export interface RunningApi extends Closable {
  url: string;
}

/** The API process: Redis → RabbitMQ → app → listen. close() drains in reverse order. */
export async function startApi(config: Readonly<Config>, log: Logger): Promise<RunningApi> {
  const router = routerOf(config);
  const { redis, store } = await connectTaskStore(config, { log, failFast: true, name: 'celerity-api' });
  const broker = await connectBrokerFromConfig(config, { queues: router.queues, log, connectionName: 'celerity-api' }).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const producer = createProducerFromConfig(config, { store, broker, log });
  if (!config.API_KEYS) log.warn('API_KEYS is not set: authentication is off (allowed only on a loopback HOST)');

  // keys from API_KEYS_FILE are re-read on SIGHUP (key rotation without a restart)
  const credentials = createCredentials(config.API_KEYS ?? [], config.ADMIN_API_KEYS ?? []);
  const reloadKeys = () => {
    if (!config.API_KEYS_FILE) return log.warn('SIGHUP: nothing to reload (API_KEYS_FILE is not set)');
    try {
      credentials.rotate(readApiKeysFile(config.API_KEYS_FILE));
      log.info('API keys reloaded from API_KEYS_FILE; streams of keys taken out and every watch token are closed');
    } catch (err) {
      log.error({ err }, 'API keys not reloaded; the previous keys stay in force');
    }
  };
  if (credentials.enabled) process.on('SIGHUP', reloadKeys);

  let draining = false;
  const app = await buildApp({ config, log, store, redis, broker, producer, credentials, queues: router.queues.map((q) => q.name), isDraining: () => draining });
  const url = await app.listen({ host: config.HOST, port: config.PORT });
  log.info({ url, docs: `${url}/docs` }, 'api listening');

  return {
    name: 'api',
    url,
    async close() {
      draining = true;
      process.off('SIGHUP', reloadKeys);
      await app.close(); // stops accepting connections, finishes in-flight requests
      await broker.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
