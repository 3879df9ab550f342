import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, DEFAULT_QUEUES } from '@celerity/core';
import { cleanupNamespace, testAmqpUrl, testNamespace, waitFor } from '@celerity/testkit';
import { connectBroker, type Broker } from '../../src/index.js';

const log = createLogger({ service: 'test', level: 'silent' });
const message = (n: number) => Buffer.from(JSON.stringify({ n }));

describe('broker (real RabbitMQ)', () => {
  let ns: string;
  let broker: Broker;

  beforeEach(async () => {
    ns = testNamespace();
    broker = await connectBroker({ url: testAmqpUrl(), namespace: ns, queues: DEFAULT_QUEUES, log });
  });
  afterEach(async () => {
    await broker.close();
    await cleanupNamespace(ns);
  });

  it('declares the four queues durable, under the namespace, with their x-max-priority', async () => {
    const connection = await amqp.connect(testAmqpUrl());
    try {
      for (const q of DEFAULT_QUEUES) {
        // re-asserting with the same arguments succeeds; with a different x-max-priority the broker refuses (406)
        const same = await connection.createChannel();
        const ok = await same.assertQueue(`${ns}.${q.name}`, { durable: true, arguments: { 'x-max-priority': q.max_priority, 'x-queue-type': 'classic' } });
        expect(ok.queue).toBe(`${ns}.${q.name}`);
        await same.close();
        const different = await connection.createChannel();
        different.on('error', () => undefined);
        await expect(
          different.assertQueue(`${ns}.${q.name}`, { durable: true, arguments: { 'x-max-priority': q.max_priority === 10 ? 1 : 10, 'x-queue-type': 'classic' } }),
        ).rejects.toThrow(/PRECONDITION_FAILED/);
      }
    } finally {
      await connection.close();
    }
  });

  it('resolves publish only after the broker confirmed, and the message is then in the queue', async () => {
    await broker.publish('default', message(1), { priority: 5, messageId: 'm1' });
    expect(await broker.queueDepth('default')).toBe(1);
  });

  it('delivers a waiting higher-priority message first', async () => {
    for (const [n, priority] of [[1, 1], [2, 1], [3, 9], [4, 5]] as const) await broker.publish('default', message(n), { priority, messageId: `m${n}` });
    const seen: number[] = [];
    await broker.consume(
      async (delivery) => {
        seen.push((JSON.parse(delivery.body.toString()) as { n: number }).n);
        return { kind: 'ack' };
      },
      { queues: ['default'], prefetch: 1 },
    );
    await waitFor(() => (seen.length === 4 ? true : undefined), { what: 'four deliveries' });
    expect(seen).toEqual([3, 4, 1, 2]);
  });

  it('pauses consuming one queue (no new deliveries, the consumer gone) and resumes it, the other queue untouched', async () => {
    const seen: string[] = [];
    await broker.consume(
      async (delivery) => {
        seen.push(`${delivery.queue}:${(JSON.parse(delivery.body.toString()) as { n: number }).n}`);
        return { kind: 'ack' };
      },
      { queues: ['default', 'low_priority'], prefetch: 10 },
    );
    await broker.pauseQueues(['default']);
    expect(await broker.queueStats('default')).toEqual({ ready: 0, consumers: 0 });
    expect((await broker.queueStats('low_priority')).consumers).toBe(1);
    await broker.publish('default', message(1), { priority: 5, messageId: 'd1' });
    await broker.publish('low_priority', message(2), { priority: 1, messageId: 'l2' });
    await waitFor(() => (seen.includes('low_priority:2') ? true : undefined), { what: 'the other queue consumed' });
    expect(await broker.queueStats('default')).toEqual({ ready: 1, consumers: 0 });
    expect(seen).toEqual(['low_priority:2']);
    await broker.resumeQueues(['default']);
    await waitFor(() => (seen.includes('default:1') ? true : undefined), { what: 'the paused queue consumed after resume' });
    expect((await broker.queueStats('default')).consumers).toBe(1);
  });

  it('takes ready messages off a queue for a purge: settle(false) hands them back, settle(true) removes them', async () => {
    for (const n of [1, 2, 3]) await broker.publish('default', message(n), { priority: 5, messageId: `p${n}` });
    const first = await broker.takeMessages('default', 2);
    expect(first.bodies.map((b) => (JSON.parse(b.toString()) as { n: number }).n)).toEqual([1, 2]);
    await first.settle(false);
    await waitFor(async () => ((await broker.queueDepth('default')) === 3 ? true : undefined), { what: 'messages handed back' });
    const all = await broker.takeMessages('default', 100);
    expect(all.bodies).toHaveLength(3);
    await all.settle(true);
    expect(await broker.queueDepth('default')).toBe(0);
    const none = await broker.takeMessages('default', 100);
    expect(none.bodies).toEqual([]);
    await none.settle(true);
  });

  it('requeues when the handler asks, and the message comes back marked redelivered', async () => {
    await broker.publish('high_priority', message(7), { priority: 9, messageId: 'm7' });
    const deliveries: boolean[] = [];
    await broker.consume(
      async (delivery) => {
        deliveries.push(delivery.redelivered);
        return deliveries.length === 1 ? { kind: 'requeue' } : { kind: 'ack' };
      },
      { queues: ['high_priority'], prefetch: 1 },
    );
    await waitFor(() => (deliveries.length === 2 ? true : undefined), { what: 'redelivery' });
    expect(deliveries).toEqual([false, true]);
    await waitFor(async () => ((await broker.queueDepth('high_priority')) === 0 ? true : undefined), { what: 'empty queue' });
  });

  it('backs off before putting back a delivery whose handler threw, longer with each failure, and keeps the message', async () => {
    await broker.publish('default', message(1), { priority: 5, messageId: 'flaky' });
    const calls: number[] = [];
    const redelivered: boolean[] = [];
    await broker.consume(
      async (delivery) => {
        calls.push(performance.now());
        redelivered.push(delivery.redelivered);
        if (calls.length <= 4) throw new Error('Redis answered BUSY'); // as the store's guard would
        return { kind: 'ack' };
      },
      { queues: ['default'], prefetch: 1, handlerFailureLimit: 5 },
    );
    await waitFor(() => (calls.length === 5 ? true : undefined), { timeoutMs: 15_000, what: 'the fifth try' });
    const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
    // never at broker speed: every try waits at least the floor (100 ms); without the backoff the gaps are ~1 ms
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(95);
    await waitFor(async () => ((await broker.queueDepth('default')) === 0 ? true : undefined), { what: 'the ack' });
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toHaveLength(5); // acked once it worked: not delivered again
    expect(redelivered).toEqual([false, true, true, true, true]); // a copy put back stands for a redelivery
    expect(await broker.parkedCount()).toBe(0); // four failures of a limit of five: never parked
  });

  it('parks a message whose handler failed handlerFailureLimit times in a row (counted on the message, not before), with its queue, count and last error', async () => {
    await broker.publish('default', message(1), { priority: 7, messageId: 'poison' });
    await broker.publish('default', message(2), { priority: 5, messageId: 'fine' });
    const tries: { id: string; parkedBefore: number }[] = [];
    await broker.consume(
      async (delivery) => {
        const n = (JSON.parse(delivery.body.toString()) as { n: number }).n;
        tries.push({ id: `m${n}`, parkedBefore: await broker.parkedCount() });
        if (n === 1) throw new Error('Redis answered LOADING');
        return { kind: 'ack' };
      },
      { queues: ['default'], prefetch: 1, handlerFailureLimit: 3 },
    );
    await waitFor(async () => ((await broker.parkedCount()) === 1 ? true : undefined), { timeoutMs: 15_000, what: 'the message parked' });
    await new Promise((r) => setTimeout(r, 500));
    const poisonTries = tries.filter((t) => t.id === 'm1');
    expect(poisonTries).toHaveLength(3); // three failures, then parked: not tried a fourth time
    expect(poisonTries.every((t) => t.parkedBefore === 0)).toBe(true); // not parked before the third failure
    expect(tries.filter((t) => t.id === 'm2')).toHaveLength(1); // the other message ran once
    expect(await broker.queueDepth('default')).toBe(0); // moved, not copied: nothing left behind

    const first = await broker.takeParked(10);
    expect(first.messages).toHaveLength(1);
    expect(first.messages[0]).toMatchObject({ queue: 'default', messageId: 'poison', failures: 3, lastError: 'Redis answered LOADING' });
    expect((JSON.parse(first.messages[0]!.body.toString()) as { n: number }).n).toBe(1);
    await first.settle(0); // not handled: it stays parked
    await waitFor(async () => ((await broker.parkedCount()) === 1 ? true : undefined), { what: 'handed back' });
    const second = await broker.takeParked(10);
    expect(second.messages.map((m) => m.messageId)).toEqual(['poison']);
    await second.settle(1);
    expect(await broker.parkedCount()).toBe(0);
  });

  it('publishes through back-pressure (more at once than the channel buffers: the rest wait for drain): every message confirmed and queued', async () => {
    // amqplib buffers 1 024 frames a channel; 3 000 publishes in one turn fill it
    await Promise.all(Array.from({ length: 3_000 }, (_, i) => broker.publish('low_priority', message(i), { priority: 1, messageId: `m-${i}` })));
    expect(await broker.queueDepth('low_priority')).toBe(3_000);
  });

  it('fails a publish with BROKER_UNAVAILABLE once the connection is closed', async () => {
    await broker.close();
    await expect(broker.publish('default', message(1), { priority: 1, messageId: 'x' })).rejects.toMatchObject({ code: 'BROKER_UNAVAILABLE' });
  });
});
