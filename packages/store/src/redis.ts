import { Cluster, Redis, ReplyError, type RedisOptions as IoRedisOptions } from 'ioredis';
import type { Logger } from '@celerity/core';

/**
 * One Redis server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES).
 * The store works the same on both: every key of a namespace shares one hash tag (keys.ts), so its
 * scripts and transactions stay within one slot.
 */
export type RedisClient = Redis | Cluster;

export interface RedisOptions {
  url: string;
  /** Redis Cluster seed nodes (host:port); the url then gives only credentials and TLS */
  clusterNodes?: readonly string[] | undefined;
  log: Logger;
  /**
   * true for the API: a command fails at once while Redis is down (→ 503), nothing queues in memory.
   * false for workers: commands wait for the reconnect, so a finished task's outcome is stored late rather than lost.
   */
  failFast: boolean;
  name: string;
}

// capped exponential backoff; ioredis keeps retrying forever
const reconnectDelay = (attempt: number) => Math.min(50 * 2 ** attempt, 2_000);

export function createRedis(options: RedisOptions): RedisClient {
  // Auto-pipelining (a worker's commands issued in the same tick share one socket write) is off for
  // the API: ioredis runs one auto-pipeline at a time, and one in flight when the connection drops is
  // resent only after the reconnect, so every later command would queue behind it for the whole
  // outage instead of failing at once with a 503.
  const perConnection: IoRedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: options.failFast ? 1 : null,
  };
  const redis: RedisClient = options.clusterNodes?.length
    ? new Cluster(
        options.clusterNodes.map((node) => {
          const at = node.lastIndexOf(':');
          return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
        }),
        {
          lazyConnect: true,
          enableOfflineQueue: !options.failFast,
          enableAutoPipelining: !options.failFast,
          clusterRetryStrategy: reconnectDelay,
          redisOptions: { ...perConnection, ...credentialsOf(options.url) },
        },
      )
    : new Redis(options.url, {
        ...perConnection,
        lazyConnect: true,
        enableOfflineQueue: !options.failFast,
        enableAutoPipelining: !options.failFast,
        retryStrategy: reconnectDelay,
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
export async function connectRedis(redis: RedisClient): Promise<void> {
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

/** The user, password and TLS of a redis:// or rediss:// URL, for the nodes of a cluster. */
function credentialsOf(url: string): Pick<IoRedisOptions, 'username' | 'password' | 'tls'> {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** A second connection for pub/sub (a subscribed connection runs no other commands); it waits out outages and re-subscribes by itself. */
export function subscriberOf(client: RedisClient): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate(undefined, {
      enableOfflineQueue: true,
      enableAutoPipelining: false,
      redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest: null },
    });
  }
  return client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: false });
}
