import { connect } from 'node:net';
import { testAmqpUrl, testRedisUrl } from './services.js';

/**
 * vitest globalSetup for integration tests: RabbitMQ and Redis must answer. Without them the run
 * fails with instructions; it never skips.
 */
export default async function globalSetup(): Promise<void> {
  const missing: string[] = [];
  if (!(await reachable(testAmqpUrl(), 5672))) missing.push(`RabbitMQ at ${redact(testAmqpUrl())} (start: rabbitmq-server -detached)`);
  if (!(await reachable(testRedisUrl(), 6379))) missing.push(`Redis at ${redact(testRedisUrl())} (start: redis-server --daemonize yes --save "" --appendonly no)`);
  if (missing.length > 0) {
    throw new Error(
      `Integration tests need real services; not reachable:\n  - ${missing.join('\n  - ')}\n` +
        'Start them locally, run `make up` (Docker), or point RABBITMQ_URL / REDIS_URL at running ones.',
    );
  }
}

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port) || defaultPort, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//');
