/**
 * (1) What RabbitMQ itself does on this machine, with the guarantees the service keeps: persistent
 * messages to a durable priority queue, publisher confirms, consumer with manual ack. Plain
 * amqplib, no Celerity code.
 */
import amqp, { type ConfirmChannel } from 'amqplib';
import { checkTime } from './util.js';

export interface CeilingOptions {
  amqpUrl: string;
  queue: string;
  messages: number;
  messageBytes: number;
  /** unconfirmed publishes in flight at most */
  confirmWindow: number;
  prefetch: number;
  signal: AbortSignal;
  /** called right before the end-to-end run starts and right after its last ack (CPU sampling) */
  aroundEndToEnd?: { before(): void; after(): void };
}

export interface CeilingResult {
  messages: number;
  messageBytes: number;
  confirmWindow: number;
  prefetch: number;
  publishOnly: { seconds: number; perSecond: number; nacked: number };
  endToEnd: { seconds: number; perSecond: number; publishSeconds: number; nacked: number };
}

export async function measureBrokerCeiling(options: CeilingOptions): Promise<CeilingResult> {
  const { queue, messages, signal } = options;
  const publisher = await amqp.connect(options.amqpUrl, { clientProperties: { connection_name: 'celerity-bench-ceiling-publisher' } });
  const consumer = await amqp.connect(options.amqpUrl, { clientProperties: { connection_name: 'celerity-bench-ceiling-consumer' } });
  try {
    const channel = await publisher.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-max-priority': 10, 'x-queue-type': 'classic' } });
    await channel.purgeQueue(queue);
    const body = messageBody(options.messageBytes);

    // publish only: nobody consumes; first publish → last confirm
    const publishOnly = await publishAll(channel, queue, body, messages, options.confirmWindow, signal);
    await channel.purgeQueue(queue);

    // end to end: consumer on its own connection, manual ack one by one; first publish → last ack
    const consumeChannel = await consumer.createChannel();
    await consumeChannel.prefetch(options.prefetch);
    let acked = 0;
    let lastAckAt = 0;
    let onAllAcked: () => void = () => undefined;
    const allAcked = new Promise<void>((resolve) => (onAllAcked = resolve));
    await consumeChannel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        consumeChannel.ack(msg);
        acked += 1;
        if (acked === messages) {
          lastAckAt = performance.now();
          onAllAcked();
        }
      },
      { noAck: false },
    );
    options.aroundEndToEnd?.before();
    const endToEnd = await publishAll(channel, queue, body, messages, options.confirmWindow, signal);
    await Promise.race([allAcked, abortion(signal)]);
    options.aroundEndToEnd?.after();
    checkTime(signal, `broker ceiling: ${acked} of ${messages} acked`);
    const seconds = (lastAckAt - endToEnd.startedAt) / 1000;
    return {
      messages,
      messageBytes: body.length,
      confirmWindow: options.confirmWindow,
      prefetch: options.prefetch,
      publishOnly: { seconds: publishOnly.seconds, perSecond: messages / publishOnly.seconds, nacked: publishOnly.nacked },
      endToEnd: { seconds, perSecond: messages / seconds, publishSeconds: endToEnd.seconds, nacked: endToEnd.nacked },
    };
  } finally {
    await consumer.close().catch(() => undefined);
    await publisher.close().catch(() => undefined);
  }
}

/** A JSON body like the service's messages, padded to `bytes`. */
function messageBody(bytes: number): Buffer {
  const base = { id: '01a2010f-88c6-72dc-96db-025969e6689d', task: 'bench.ceiling', trace_id: '01a2010f88bb702f8321ad66be7a3b59', pad: '' };
  base.pad = 'x'.repeat(Math.max(0, bytes - Buffer.byteLength(JSON.stringify(base))));
  return Buffer.from(JSON.stringify(base));
}

/** Publishes `count` persistent messages, at most `window` unconfirmed, each with its own confirm callback. */
async function publishAll(channel: ConfirmChannel, queue: string, body: Buffer, count: number, window: number, signal: AbortSignal) {
  let inFlight = 0;
  let nacked = 0;
  let wake: (() => void) | undefined;
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  const settled = (): void => {
    inFlight -= 1;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const waitUntil = async (condition: () => boolean, what: string): Promise<void> => {
    while (!condition()) {
      checkTime(signal, what);
      await new Promise<void>((resolve) => (wake = resolve));
    }
    checkTime(signal, what);
  };
  try {
    const startedAt = performance.now();
    for (let i = 0; i < count; i += 1) {
      await waitUntil(() => inFlight < window, `broker ceiling: publishing (${i} of ${count})`);
      inFlight += 1;
      const writable = channel.publish('', queue, body, { persistent: true, priority: 5, contentType: 'application/json', messageId: String(i) }, (err) => {
        if (err) nacked += 1;
        settled();
      });
      if (!writable) await Promise.race([new Promise<void>((resolve) => channel.once('drain', resolve)), abortion(signal)]);
    }
    await waitUntil(() => inFlight === 0, 'broker ceiling: waiting for confirms');
    return { startedAt, seconds: (performance.now() - startedAt) / 1000, nacked };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function abortion(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
