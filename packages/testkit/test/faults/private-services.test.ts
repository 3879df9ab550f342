/** The faults project's own services: private, reachable, and what the test process is pointed at. */
import { Redis } from 'ioredis';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { privateServices, testAmqpUrl, testRedisUrl } from '../../src/index.js';

const services = privateServices();

describe('private services of the faults project', () => {
  it('point the test process at themselves, on ports of their own', () => {
    expect(testAmqpUrl()).toBe(services.info.amqpUrl);
    expect(testRedisUrl()).toBe(services.info.redisUrl);
    expect(new URL(services.info.amqpUrl).port).not.toBe('5672');
    expect(new URL(services.info.redisUrl).port).not.toBe('6379');
  });

  it('answer: an AMQP connection opens, Redis PINGs, and rabbitmqctl reaches the private node by its own name', async () => {
    const connection = await amqp.connect(services.info.amqpUrl);
    await connection.close();
    const redis = new Redis(services.info.redisUrl, { lazyConnect: true });
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
    const node = (await services.rabbitmqctl(['eval', 'node().'])).trim().replace(/^'|'$/g, ''); // an Erlang atom, quoted
    if (services.info.rabbitmqctl.kind === 'local') expect(node).toBe(services.info.rabbitmqctl.nodeName);
    expect(node).toMatch(/@/);
  });
});
