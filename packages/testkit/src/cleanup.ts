import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { parkingQueueDeclaration } from '@celerity/broker';
import { DEFAULT_QUEUES } from '@celerity/core';
import { namespaceKeyPattern } from '@celerity/store';
import { testAmqpUrl, testRedisUrl } from './services.js';

/** Deletes a test namespace's queues (the parking queue too) and Redis keys. */
export async function cleanupNamespace(namespace: string, extraQueues: readonly string[] = []): Promise<void> {
  const connection = await amqp.connect(testAmqpUrl());
  try {
    const channel = await connection.createChannel();
    for (const queue of [...DEFAULT_QUEUES.map((q) => q.name), ...extraQueues]) await channel.deleteQueue(`${namespace}.${queue}`);
    await channel.deleteQueue(parkingQueueDeclaration(namespace).name);
    await channel.close();
  } finally {
    await connection.close();
  }
  const redis = new Redis(testRedisUrl(), { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', namespaceKeyPattern(namespace), 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
