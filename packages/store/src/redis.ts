import { Redis } from 'ioredis';
import type { Logger } from '@celerity/core';

export interface RedisOptions {
  url: string;
  log: Logger;
  /**
   * true for the API: a command fails at once while Redis is down (→ 503), nothing queues in memory.
   * false for workers: commands wait for the reconnect, so a finished task's outcome is stored late rather than lost.
   */
  failFast: boolean;
  name: string;
}

export function createRedis(options: RedisOptions): Redis {
  const redis = new Redis(options.url, {
    connectionName: options.name,
    lazyConnect: true,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.failFast ? 1 : null,
    // commands issued in the same tick by concurrent requests/tasks share one socket write
    enableAutoPipelining: true,
    // capped exponential backoff; ioredis keeps retrying forever
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
  });
  let down = false;
  redis.on('error', (err) => {
    if (!down) options.log.warn({ err, name: options.name }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) options.log.info({ name: options.name }, 'redis reconnected');
    down = false;
  });
  return redis;
}
