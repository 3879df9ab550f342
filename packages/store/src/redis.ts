import { Redis, ReplyError } from 'ioredis';
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
  // Errors before the first 'ready' are connectRedis()'s to report (one line at start-up, no stack).
  let everReady = false;
  let down = false;
  redis.on('error', (err) => {
    if (everReady && !down) options.log.warn({ err, name: options.name }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (everReady && down) options.log.info({ name: options.name }, 'redis reconnected');
    everReady = true;
    down = false;
  });
  return redis;
}

/**
 * The first connection. ioredis rejects connect() with a bare "Connection is closed" and emits the
 * reason as an 'error' event; this rejects with that reason instead. An error reply during the
 * handshake (WRONGPASS, NOAUTH, "DB index is out of range" — after which ioredis would carry on in
 * database 0) fails the connection too, and the client stops retrying.
 */
export async function connectRedis(redis: Redis): Promise<void> {
  let firstError: unknown;
  let refused: unknown;
  const onError = (err: unknown) => {
    firstError ??= err;
    if (err instanceof ReplyError) refused ??= err;
  };
  redis.on('error', onError);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw refused ?? firstError ?? err;
  } finally {
    redis.off('error', onError);
  }
  if (refused) {
    redis.disconnect();
    throw refused;
  }
}
