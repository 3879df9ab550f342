import { loadConfig, type Config } from '@celerity/core';
import { testAmqpUrl, testRedisUrl } from './services.js';

/** A validated Config for one test: real services, its own namespace, quiet logs, small limits. */
export function testConfig(namespace: string, overrides: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({
    RABBITMQ_URL: testAmqpUrl(),
    REDIS_URL: testRedisUrl(),
    NAMESPACE: namespace,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WORKER_CONCURRENCY: '2',
    WORKER_SHUTDOWN_GRACE: '5',
    JOBS_ROOT: new URL('../../../examples/jobs', import.meta.url).pathname,
    ...overrides,
  });
}
