import { afterEach, describe, expect, it } from 'vitest';
import { tcpProxy, testRedisUrl, waitFor, type TcpProxy } from '@celerity/testkit';
import { connectRedis, createRedis, type RedisClient } from '../../src/index.js';
import { log } from './redis-setups.js';

let proxy: TcpProxy | undefined;
let redis: RedisClient | undefined;
afterEach(() => {
  redis?.disconnect();
  proxy?.close();
});

/** Settles with the command's outcome, or 'still waiting' if it has none within `ms`. */
function within<T>(ms: number, command: Promise<T>): Promise<T | Error | 'still waiting'> {
  return Promise.race([command.catch((err: Error) => err), new Promise<'still waiting'>((resolve) => setTimeout(resolve, ms, 'still waiting'))]);
}

describe("the API's Redis connection (failFast)", () => {
  it('fails later commands at once when the connection drops, while a command sent before the drop waits for the reconnect', async () => {
    proxy = await tcpProxy(Number(new URL(testRedisUrl()).port || 6379));
    const url = new URL(testRedisUrl());
    url.host = `127.0.0.1:${proxy.port}`;
    redis = createRedis({ url: url.href, log, failFast: true, name: 'test' });
    await connectRedis(redis);
    expect(await redis.ping()).toBe('PONG');

    proxy.hold(); // what is sent now is in flight when the connection drops
    const inFlight = redis.get('connection-loss:in-flight');
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.cut(true);
    await waitFor(() => (redis!.status !== 'ready' ? true : undefined), { what: 'the client to see the drop' });

    // a command of a later request is refused at once (the API answers 503), not queued behind the one in flight
    const later = await within(1_000, redis.ping());
    expect(later).toBeInstanceOf(Error);
    expect((later as Error).message).toMatch(/enableOfflineQueue/);
    expect(await within(100, inFlight)).toBe('still waiting');

    proxy.restore(); // ioredis resends the command that was in flight once it reconnects
    expect(await within(5_000, inFlight)).toBeNull();
    expect(await redis.ping()).toBe('PONG');
  });
});
