import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Message, type RecoveringChannelModel } from 'amqplib';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs, BrokerUnavailableError, connectOrExplain, type Backoff, type Config, type Logger, type QueueDefinition, TaskMessage } from '@celerity/core';
import { PARKING_QUEUE, parkingQueueDeclaration, physicalQueueName, queueDeclarations } from './topology.js';
import { socketOf, writeTurnsAtOnce } from './amqp-socket.js';

export interface BrokerOptions {
  url: string;
  namespace?: string | undefined;
  queues: readonly QueueDefinition[];
  log: Logger;
  /** a publish not confirmed within this time fails with BrokerUnavailableError */
  publishTimeoutMs?: number;
  /** process-level connection name shown in the management UI */
  connectionName?: string;
}

export interface PublishOptions {
  priority: number;
  messageId: string;
}

export interface Delivery {
  /** logical queue name (without namespace) */
  queue: string;
  body: Buffer;
  redelivered: boolean;
  priority: number;
  /**
   * Acks now, before the handler is done; its outcome is then ignored. For tasks that may outlive
   * RabbitMQ's consumer_timeout, whose channel would otherwise be closed under them: the caller
   * must protect the work some other way (a lease). False when the channel is gone.
   */
  ackNow(): boolean;
}

/** What the consumer decided; the broker carries it out on the delivery's own channel. */
export type Outcome = { kind: 'ack' } | { kind: 'requeue' };

export type DeliveryHandler = (delivery: Delivery) => Promise<Outcome>;

export interface ConsumeOptions {
  queues: readonly string[];
  /** unacknowledged deliveries in flight on this consumer's channel */
  prefetch: number;
  /** failures of the handler in a row after which a message is parked (WORKER_HANDLER_FAILURE_LIMIT); unset: never */
  handlerFailureLimit?: number;
}

/** A message parked after its handler failed `handlerFailureLimit` times in a row. */
export interface ParkedMessage {
  /** the logical queue it was consumed from */
  queue: string;
  body: Buffer;
  /** its message id: the task id */
  messageId: string | undefined;
  failures: number;
  /** the last failure's message */
  lastError: string;
  parkedAt: string;
}

export interface Broker {
  /** Publishes a persistent message to a logical queue and resolves once the broker confirms it. */
  publish(queue: string, body: Buffer, options: PublishOptions): Promise<void>;
  /** Starts consuming; consumers come back by themselves after a reconnect. */
  consume(handler: DeliveryHandler, options: ConsumeOptions): Promise<void>;
  /** Stops taking new deliveries; in-flight ones can still be acked. */
  cancelConsumers(): Promise<void>;
  /**
   * Stops consuming these queues (their in-flight deliveries can still be acked) until
   * resumeQueues(); a reconnect keeps them paused.
   */
  pauseQueues(queues: readonly string[]): Promise<void>;
  resumeQueues(queues: readonly string[]): Promise<void>;
  /**
   * Takes up to `max` ready messages off a queue on a channel of their own, for a purge: settle(true)
   * acks them (gone for good), settle(false) hands them back.
   */
  takeMessages(queue: string, max: number): Promise<{ bodies: Buffer[]; settle(remove: boolean): Promise<void> }>;
  /** Messages in the parking queue (see HANDLER_FAILURE_BACKOFF). */
  parkedCount(): Promise<number>;
  /**
   * Takes up to `max` parked messages, oldest first, on a channel of their own: settle(n) removes the
   * first n (handled) and hands the rest back.
   */
  takeParked(max: number): Promise<{ messages: ParkedMessage[]; settle(handled: number): Promise<void> }>;
  isConnected(): boolean;
  /** Whether the channel consume() opened is open now (also while every queue is paused). */
  isConsuming(): boolean;
  /** Messages waiting in a logical queue (not counting unacked ones). */
  queueDepth(queue: string): Promise<number>;
  /** Messages waiting (ready, not counting unacked ones) and consumers of a logical queue. */
  queueStats(queue: string): Promise<{ ready: number; consumers: number }>;
  close(): Promise<void>;
}

/**
 * A delivery whose handler threw (Redis answering LOADING or BUSY, say) is held for a backoff and then
 * put back, so it cannot come back at broker speed: the delay's ceiling doubles with the failures of
 * that message (0.2 s, 0.4 s, … 10 s, jittered), and from the HANDLER_FAILURES_BEFORE_ALERT-th on
 * each failure is logged as an error. The failures are counted on the message itself, durably: it
 * goes back as a copy carrying the count in a header (FAILURES_HEADER), published on the confirm
 * channel, and the original is acked only once the copy is confirmed (if the copy cannot be
 * published, the original is requeued, uncounted). After `handlerFailureLimit` failures in a row the
 * copy goes to the parking queue instead (PARKING_QUEUE, in RabbitMQ, so parking needs no Redis);
 * the worker moves parked messages to the dead letters once Redis answers again.
 */
export const HANDLER_FAILURE_BACKOFF: Backoff = { baseMs: 200, maxMs: 10_000, floorMs: 100 };
export const HANDLER_FAILURES_BEFORE_ALERT = 10;
/** headers of a message put back after a failure: the failures in a row; for a parked one also why and from where */
export const FAILURES_HEADER = 'x-celerity-handler-failures';
const LAST_ERROR_HEADER = 'x-celerity-last-error';
const QUEUE_HEADER = 'x-celerity-queue';
const PARKED_AT_HEADER = 'x-celerity-parked-at';

/** An error's message with its causes' ('Redis is unavailable: BUSY Redis is busy running a script …'). */
function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && parts.length < 4; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(': ');
}

/** The failures in a row a message carries (0 for one never put back). */
function failuresOf(msg: Message): number {
  const n = Number(msg.properties.headers?.[FAILURES_HEADER] ?? 0);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

interface ConsumerRegistration {
  handler: DeliveryHandler;
  options: ConsumeOptions;
}

/** Connects (retrying until the broker answers at start-up is the caller's choice) and asserts the topology. */
export async function connectBroker(options: BrokerOptions): Promise<Broker> {
  const { log, namespace } = options;
  const publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
  const declarations = queueDeclarations(namespace, options.queues);
  const logicalByPhysical = new Map(declarations.map((d) => [d.name, d.logicalName]));
  const parking = parkingQueueDeclaration(namespace);

  let publishChannel: ConfirmChannel | undefined;
  let consumeChannel: Channel | undefined;
  let consumeSettler: Settler | undefined;
  let consumer: ConsumerRegistration | undefined;
  /** consumer tag per logical queue consumed now */
  let consumerTags = new Map<string, string>();
  /** logical queues not to consume (pauseQueues), also across reconnects */
  const paused = new Set<string>();
  let currentModel: ChannelModel | undefined;
  let closing = false;
  /** set while the publish channel's buffer is full: later publishes wait for its 'drain' */
  let drained: Promise<unknown> | undefined;

  async function startConsuming(model: ChannelModel, registration: ConsumerRegistration): Promise<void> {
    const channel = await model.createChannel();
    await channel.prefetch(registration.options.prefetch);
    const settler = createSettler(channel, log);
    consumeChannel = channel;
    consumerTags = new Map();
    // The broker can close this channel alone, the connection staying up (e.g. a delivery left unacked
    // past consumer_timeout): its deliveries go back to the queue, and consuming starts again here.
    channel.on('error', (err: Error) => log.warn({ err }, 'rabbitmq closed the consumer channel'));
    channel.on('close', () => {
      if (consumeChannel !== channel) return;
      consumeChannel = undefined;
      if (closing || consumer !== registration || currentModel !== model) return; // shutdown, or a reconnect restarts it
      setTimeout(() => {
        if (consumer === registration && currentModel === model && !consumeChannel) {
          startConsuming(model, registration).catch((err: unknown) => log.error({ err }, 'could not restart consuming; waiting for a reconnect'));
        }
      }, 200);
    });
    consumeSettler = settler;
    for (const queue of registration.options.queues) if (!paused.has(queue)) await consumeQueue(channel, settler, registration, queue);
    log.info({ queues: registration.options.queues, paused: [...paused], prefetch: registration.options.prefetch }, 'consumer started');
  }

  async function consumeQueue(channel: Channel, settler: Settler, registration: ConsumerRegistration, queue: string): Promise<void> {
    const { consumerTag } = await channel.consume(physicalQueueName(namespace, queue), (msg) => {
      if (msg) void deliver(channel, settler, registration, msg);
    });
    consumerTags.set(queue, consumerTag);
  }

  async function deliver(channel: Channel, settler: Settler, registration: ConsumerRegistration, msg: ConsumeMessage): Promise<void> {
    settler.received(msg);
    let settled = false;
    const failures = msg.properties.headers ? failuresOf(msg) : 0;
    const delivery: Delivery = {
      queue: logicalByPhysical.get(msg.fields.routingKey) ?? msg.fields.routingKey,
      body: msg.content,
      // a copy put back after a failure stands for a redelivery of the original (its task may be `running`)
      redelivered: msg.fields.redelivered || failures > 0,
      priority: msg.properties.priority ?? 0,
      ackNow() {
        if (settled) return true;
        if (channel !== consumeChannel) return false;
        settled = true;
        settler.settle(msg, 'ack');
        return true;
      },
    };
    let outcome: Outcome;
    try {
      outcome = await registration.handler(delivery);
    } catch (err) {
      // The handler owns its errors; reaching here is a bug or an infrastructure fault (see HANDLER_FAILURE_BACKOFF).
      await putBack(channel, settler, msg, { queue: delivery.queue, failures: failures + 1, err, limit: registration.options.handlerFailureLimit ?? Infinity, settled: () => settled });
      return;
    }
    if (settled) return;
    if (channel !== consumeChannel) return; // the channel died: the broker redelivers the message itself
    settler.settle(msg, outcome.kind);
  }

  /**
   * After a backoff, a copy of the message carrying its failures goes back to its queue (or, at the
   * limit, to the parking queue at once), and the original is acked once the copy is confirmed. Nothing
   * is lost on the way: if the copy cannot be published the original is requeued; if the channel dies
   * first the broker redelivers the original; if it dies between the confirm and the ack both come
   * back, and the claim script runs the task once.
   */
  async function putBack(
    channel: Channel,
    settler: Settler,
    msg: ConsumeMessage,
    f: { queue: string; failures: number; err: unknown; limit: number; settled: () => boolean },
  ): Promise<void> {
    const taskId = msg.properties.messageId as string | undefined;
    const parking = f.failures >= f.limit;
    const delayMs = parking ? 0 : backoffDelayMs(Math.min(f.failures, HANDLER_FAILURES_BEFORE_ALERT), HANDLER_FAILURE_BACKOFF);
    const fields = { err: f.err, task_id: taskId, queue: f.queue, failures: f.failures, limit: f.limit, delay_ms: delayMs };
    if (!parking && f.failures >= HANDLER_FAILURES_BEFORE_ALERT) log.error(fields, 'delivery handler keeps failing; putting the message back after the longest backoff');
    else if (!parking) log.warn(fields, 'delivery handler threw; putting the message back after a backoff');
    await sleep(delayMs);
    if (f.settled()) return; // acked at start: its lease in Redis brings the task back
    if (channel !== consumeChannel) return; // the channel died: the broker redelivers the original itself
    const lastError = describeError(f.err);
    const headers: Record<string, unknown> = { ...msg.properties.headers, [FAILURES_HEADER]: f.failures };
    if (parking) Object.assign(headers, { [LAST_ERROR_HEADER]: lastError.slice(0, 1_000), [QUEUE_HEADER]: f.queue, [PARKED_AT_HEADER]: new Date().toISOString() });
    try {
      await confirmPublish(parking ? physicalQueueName(namespace, PARKING_QUEUE) : msg.fields.routingKey, msg.content, {
        persistent: true,
        priority: msg.properties.priority as number | undefined,
        messageId: taskId,
        contentType: msg.properties.contentType as string | undefined,
        headers,
      });
    } catch (publishErr) {
      log.warn({ err: publishErr, task_id: taskId }, 'could not put the message back with its failure count; requeueing it uncounted');
      if (channel === consumeChannel) settler.settle(msg, 'requeue');
      return;
    }
    if (parking) log.error(fields, 'delivery handler failed WORKER_HANDLER_FAILURE_LIMIT times in a row: message parked; its task is failed and dead-lettered once Redis answers');
    if (channel === consumeChannel) settler.settle(msg, 'ack');
  }

  /** Publishes on the confirm channel and resolves once the broker confirms (within publishTimeoutMs). */
  async function confirmPublish(physicalQueue: string, body: Buffer, properties: amqp.Options.Publish): Promise<void> {
    // back-pressure: while the channel's buffer is full, wait for it to drain (within the timeout)
    if (drained) {
      const waited = await Promise.race([drained.then(() => true), sleep(publishTimeoutMs, false, { ref: false })]);
      if (!waited) throw new BrokerUnavailableError(`RabbitMQ did not take more messages within ${publishTimeoutMs} ms`);
    }
    const channel = publishChannel;
    if (!channel) throw new BrokerUnavailableError('RabbitMQ is not connected');
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BrokerUnavailableError(`RabbitMQ did not confirm within ${publishTimeoutMs} ms`)), publishTimeoutMs);
      try {
        const writable = channel.publish('', physicalQueue, body, properties, (err) => {
          clearTimeout(timer);
          if (err) reject(new BrokerUnavailableError('RabbitMQ refused the message', { cause: err }));
          else resolve();
        });
        if (!writable && !drained) {
          // the message is buffered; later ones wait. A closed channel ends the wait too (they then fail fast).
          drained = Promise.race([once(channel, 'drain'), once(channel, 'close')])
            .catch(() => undefined)
            .finally(() => (drained = undefined));
        }
      } catch (err) {
        clearTimeout(timer);
        reject(new BrokerUnavailableError('RabbitMQ publish failed', { cause: err }));
      }
    });
  }

  /**
   * Takes up to `max` messages off a queue (basic.get, unacked) on a channel of its own, which the
   * caller settles and closes; whatever is not acked goes back to the queue when it closes.
   */
  async function takeOff(physicalQueue: string, max: number): Promise<{ channel: Channel; taken: Message[] }> {
    const model = currentModel;
    if (!model) throw new BrokerUnavailableError('RabbitMQ is not connected');
    const channel = await model.createChannel();
    channel.on('error', (err: Error) => log.warn({ err, queue: physicalQueue }, 'rabbitmq closed the channel taking messages off a queue'));
    const taken: Message[] = [];
    try {
      while (taken.length < max) {
        const msg = await channel.get(physicalQueue, { noAck: false });
        if (msg === false) break;
        taken.push(msg);
      }
    } catch (err) {
      await channel.close().catch(() => undefined); // whatever was taken goes back to the queue
      throw new BrokerUnavailableError(`RabbitMQ failed while taking messages off ${physicalQueue}`, { cause: err });
    }
    return { channel, taken };
  }

  const connection: RecoveringChannelModel = await amqp.connect(options.url, {
    clientProperties: { connection_name: options.connectionName ?? `celerity:${process.pid}` },
    recovery: {
      initialDelay: 200,
      maxDelay: 5_000,
      initialMaxRetries: 0,
      maxRetries: Infinity,
      async setup(model: ChannelModel) {
        currentModel = model;
        // a turn's frames (a batch's publishes, the acks of tasks that finished together) in one write
        const socket = socketOf(model);
        if (socket) writeTurnsAtOnce(socket);
        else log.debug('amqplib connection socket not found: frames are written one by one');
        const channel = await model.createConfirmChannel();
        for (const d of declarations) await channel.assertQueue(d.name, d.options);
        await channel.assertQueue(parking.name, parking.options);
        publishChannel = channel;
        channel.on('close', () => {
          if (publishChannel === channel) publishChannel = undefined;
        });
        if (consumer) await startConsuming(model, consumer);
      },
    },
  });
  log.info('rabbitmq connected');
  connection.on('connect', () => log.info('rabbitmq reconnected'));
  connection.on('disconnect', (err: Error) => {
    publishChannel = undefined;
    consumeChannel = undefined;
    currentModel = undefined;
    if (!closing) log.warn({ err }, 'rabbitmq connection lost; reconnecting');
  });
  connection.on('reconnect-scheduled', (info: { attempt: number; delay: number }) => log.info(info, 'rabbitmq reconnect scheduled'));
  connection.on('error', (err: Error) => log.warn({ err }, 'rabbitmq connection error'));
  connection.on('blocked', (reason: string) => log.warn({ reason }, 'rabbitmq blocked publishing'));
  connection.on('unblocked', () => log.info('rabbitmq unblocked publishing'));

  return {
    publish(queue, body, opts) {
      return confirmPublish(physicalQueueName(namespace, queue), body, {
        persistent: true,
        priority: opts.priority,
        messageId: opts.messageId,
        contentType: 'application/json',
        // no headers table: the trace id travels in the body, and every property costs the broker and
        // both clients a little per message (only a message put back after a failure carries headers)
      });
    },

    async consume(handler, consumeOptions) {
      if (consumer) throw new Error('consume() was already called on this broker connection');
      consumer = { handler, options: consumeOptions };
      if (currentModel) await startConsuming(currentModel, consumer);
    },

    async cancelConsumers() {
      const channel = consumeChannel;
      consumer = undefined;
      if (!channel) return;
      for (const tag of consumerTags.values()) await channel.cancel(tag).catch(() => undefined);
      consumerTags = new Map();
    },

    async pauseQueues(queues) {
      for (const queue of queues) {
        paused.add(queue);
        const tag = consumerTags.get(queue);
        consumerTags.delete(queue);
        if (tag && consumeChannel) await consumeChannel.cancel(tag).catch(() => undefined);
      }
    },

    async resumeQueues(queues) {
      for (const queue of queues) {
        paused.delete(queue);
        const channel = consumeChannel;
        if (channel && consumer && consumeSettler && consumer.options.queues.includes(queue) && !consumerTags.has(queue)) {
          await consumeQueue(channel, consumeSettler, consumer, queue);
        }
      }
    },

    async takeMessages(queue, max) {
      const { channel, taken } = await takeOff(physicalQueueName(namespace, queue), max);
      return {
        bodies: taken.map((m) => m.content),
        async settle(remove) {
          const last = taken.at(-1);
          if (last && remove) channel.ack(last, true);
          else if (last) channel.nack(last, true, true);
          await channel.close().catch(() => undefined);
        },
      };
    },

    async parkedCount() {
      const channel = publishChannel;
      if (!channel) throw new BrokerUnavailableError('RabbitMQ is not connected');
      return (await channel.checkQueue(parking.name)).messageCount;
    },

    async takeParked(max) {
      const { channel, taken } = await takeOff(parking.name, max);
      const header = (msg: Message, name: string) => {
        const value: unknown = msg.properties.headers?.[name];
        return value === undefined || value === null ? '' : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
      };
      return {
        messages: taken.map((msg) => ({
          queue: header(msg, QUEUE_HEADER),
          body: msg.content,
          messageId: msg.properties.messageId as string | undefined,
          failures: failuresOf(msg),
          lastError: header(msg, LAST_ERROR_HEADER),
          parkedAt: header(msg, PARKED_AT_HEADER),
        })),
        async settle(handled) {
          const done = taken[Math.min(handled, taken.length) - 1];
          if (done) channel.ack(done, true);
          if (handled < taken.length) channel.nack(taken.at(-1)!, true, true);
          await channel.close().catch(() => undefined);
        },
      };
    },

    isConnected() {
      return publishChannel !== undefined;
    },

    isConsuming() {
      return consumeChannel !== undefined;
    },

    async queueDepth(queue) {
      const channel = publishChannel;
      if (!channel) throw new BrokerUnavailableError('RabbitMQ is not connected');
      const { messageCount } = await channel.checkQueue(physicalQueueName(namespace, queue));
      return messageCount;
    },

    async queueStats(queue) {
      const channel = publishChannel;
      if (!channel) throw new BrokerUnavailableError('RabbitMQ is not connected');
      const { messageCount, consumerCount } = await channel.checkQueue(physicalQueueName(namespace, queue));
      return { ready: messageCount, consumers: consumerCount };
    },

    async close() {
      if (closing) return;
      closing = true;
      await connection.close().catch((err: unknown) => log.warn({ err }, 'rabbitmq close failed'));
    },
  };
}

/** The broker as the configuration describes it; an unreachable broker at start-up is one clear line. */
export function connectBrokerFromConfig(
  config: Pick<Config, 'RABBITMQ_URL' | 'NAMESPACE' | 'PUBLISH_TIMEOUT_MS'>,
  options: { queues: readonly QueueDefinition[]; log: Logger; connectionName: string },
): Promise<Broker> {
  return connectOrExplain('RabbitMQ', config.RABBITMQ_URL, () =>
    connectBroker({ url: config.RABBITMQ_URL, namespace: config.NAMESPACE, publishTimeoutMs: config.PUBLISH_TIMEOUT_MS, ...options }),
  );
}

type Settler = ReturnType<typeof createSettler>;

/**
 * Acks and requeues of one consumer channel, sent once per event-loop turn: the outcomes decided in
 * the same turn go out together, and the longest run of acks at the low end of the unsettled
 * deliveries goes as ONE ack with `multiple` (it acks every delivery up to its tag). A worker that
 * finishes tasks in batches then costs the broker one frame per batch instead of one per task.
 */
function createSettler(channel: Channel, log: Logger) {
  /** deliveries not yet settled, in delivery-tag order (tags only grow on a channel) */
  const unsettled = new Map<number, ConsumeMessage>();
  const decided = new Map<number, Outcome['kind']>();
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    try {
      let lowAcks: ConsumeMessage | undefined;
      for (const [tag, msg] of unsettled) {
        if (decided.get(tag) !== 'ack') break;
        lowAcks = msg;
      }
      if (lowAcks) channel.ack(lowAcks, true);
      for (const [tag, kind] of decided) {
        const msg = unsettled.get(tag)!;
        unsettled.delete(tag);
        if (lowAcks && tag <= lowAcks.fields.deliveryTag) continue;
        if (kind === 'ack') channel.ack(msg);
        else channel.nack(msg, false, true);
      }
    } catch (err) {
      log.warn({ err }, 'could not settle deliveries; the broker will redeliver them');
    }
    decided.clear();
  }

  return {
    received(msg: ConsumeMessage): void {
      unsettled.set(msg.fields.deliveryTag, msg);
    },
    settle(msg: ConsumeMessage, kind: Outcome['kind']): void {
      decided.set(msg.fields.deliveryTag, kind);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}

/** What a task's message is made from: the wire format ({id, task, trace_id}) has this one home. */
export interface TaskToPublish {
  id: string;
  task: string;
  trace_id: string;
  queue: string;
  priority: number;
}

/** A task's message read back from its body, or undefined when the body is not one (malformed). */
export function readTaskMessage(body: Buffer): TaskMessage | undefined {
  try {
    const parsed = TaskMessage.safeParse(JSON.parse(body.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Publishes a task's message to its queue (producer at submit, worker when a scheduled task is due). */
export function publishTask(broker: Broker, t: TaskToPublish): Promise<void> {
  const message: TaskMessage = { id: t.id, task: t.task, trace_id: t.trace_id };
  return broker.publish(t.queue, Buffer.from(JSON.stringify(message)), { priority: t.priority, messageId: t.id });
}
