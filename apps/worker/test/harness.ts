import { Writable } from 'node:stream';
import { connectBroker, type Broker } from '@celerity/broker';
import { createRouter, newTraceId, type Config, type TaskRecord } from '@celerity/core';
import { createProducerFromConfig, type Producer, type SubmitRequest } from '@celerity/producer';
import { createKeys, createRedis, createTaskStore, type Keys, type RedisClient, type TaskStore } from '@celerity/store';
import { cleanupNamespace, testConfig, testNamespace, waitFor } from '@celerity/testkit';
import { pino } from 'pino';
import { startWorker, type RunningWorker, type WorkerOptions } from '@celerity/worker';

export interface WorkerHarness {
  config: Readonly<Config>;
  store: TaskStore;
  /** the namespace's key names, for tests that read Redis directly */
  keys: Keys;
  /** the test's own connection, for reading what the store wrote */
  redis: RedisClient;
  broker: Broker;
  producer: Producer;
  /** every JSON log line the workers wrote */
  logLines: Record<string, unknown>[];
  startWorker(options?: WorkerOptions): Promise<RunningWorker>;
  submit(request: SubmitRequest): Promise<TaskRecord>;
  waitForStatus(id: string, statuses: string[], timeoutMs?: number): Promise<TaskRecord>;
  close(): Promise<void>;
}

/** A producer plus as many real workers as a test starts, on real RabbitMQ and Redis in a fresh namespace. */
export async function startWorkerHarness(env: Record<string, string> = {}): Promise<WorkerHarness> {
  const ns = testNamespace();
  const config = testConfig(ns, { LOG_LEVEL: 'info', ...env });
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const router = createRouter(config.file.queues, config.file.routes);
  const redis: RedisClient = createRedis({ url: config.REDIS_URL, log, failFast: true, name: 'test-producer' });
  await redis.connect();
  const store = createTaskStore(redis, { namespace: ns, resultTtlSeconds: config.RESULT_EXPIRES });
  const broker = await connectBroker({ url: config.RABBITMQ_URL, namespace: ns, queues: router.queues, log });
  const producer = createProducerFromConfig(config, { store, broker, log });
  const workers: RunningWorker[] = [];

  return {
    config,
    store,
    keys: createKeys(ns),
    redis,
    broker,
    producer,
    logLines,
    async startWorker(options = {}) {
      const worker = await startWorker(config, log, options);
      workers.push(worker);
      return worker;
    },
    submit: async (request) => (await producer.submit(request, newTraceId())).record,
    waitForStatus(id, statuses, timeoutMs = 10_000) {
      return waitFor(
        async () => {
          const record = await store.get(id);
          return record && statuses.includes(record.status) ? record : undefined;
        },
        { timeoutMs, what: `task ${id} to reach ${statuses.join('|')}` },
      );
    },
    async close() {
      for (const worker of workers) await worker.close();
      await broker.close();
      redis.disconnect();
      await cleanupNamespace(ns);
    },
  };
}
