import { connectBroker, type Broker } from '@celerity/broker';
import { createLogger, createRouter, ScheduleSpec, type Config, type TaskRecord } from '@celerity/core';
import { createProducerFromConfig, type Producer } from '@celerity/producer';
import { createKeys, createRedis, createTaskStore, type Keys, type RedisClient, type ScheduleSource, type TaskStore } from '@celerity/store';
import { cleanupNamespace, testConfig, testNamespace } from '@celerity/testkit';
import { createBeat, type Beat, type BeatOptions } from '../src/beat.js';
import type { Clock } from '../src/ticker.js';

/** A clock the test moves by hand: hours pass in an instant. */
export interface ManualClock extends Clock {
  set(iso: string): void;
  advance(ms: number): void;
}

export function manualClock(startIso: string): ManualClock {
  let nowMs = Date.parse(startIso);
  return {
    now: () => nowMs,
    sleep: async () => undefined,
    set: (iso) => {
      nowMs = Date.parse(iso);
    },
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

export interface BeatHarness {
  config: Readonly<Config>;
  store: TaskStore;
  /** the namespace's key names, for tests that read Redis directly */
  keys: Keys;
  broker: Broker;
  producer: Producer;
  redis: RedisClient;
  clock: ManualClock;
  /** a beat on this namespace (not started: the test calls tick()) */
  beat(options?: BeatOptions, owner?: string): Beat;
  /** writes a schedule as the API would, at the clock's time */
  define(fields: Record<string, unknown>, source?: ScheduleSource): Promise<ScheduleSpec>;
  /** every task the schedule fired, oldest first */
  firedTasks(name: string): Promise<TaskRecord[]>;
  close(): Promise<void>;
}

/** Real RabbitMQ and Redis in a fresh namespace, a producer, and beats on a manual clock. */
export async function startBeatHarness(startIso: string, env: Record<string, string> = {}): Promise<BeatHarness> {
  const ns = testNamespace();
  const config = testConfig(ns, env);
  const log = createLogger({ service: 'test-beat', level: config.LOG_LEVEL });
  const router = createRouter(config.file.queues, config.file.routes);
  const redis = createRedis({ url: config.REDIS_URL, log, failFast: true, name: 'test-beat' });
  await redis.connect();
  const store = createTaskStore(redis, { namespace: ns, resultTtlSeconds: config.RESULT_EXPIRES });
  const broker = await connectBroker({ url: config.RABBITMQ_URL, namespace: ns, queues: router.queues, log });
  const producer = createProducerFromConfig(config, { store, broker, log });
  const clock = manualClock(startIso);
  let beats = 0;

  return {
    config,
    store,
    keys: createKeys(ns),
    broker,
    producer,
    redis,
    clock,
    beat: (options = {}, owner = `beat-${(beats += 1)}`) => createBeat({ store, producer, log, owner }, { clock, ...options }),
    async define(fields, source = 'api') {
      const spec = ScheduleSpec.parse({ task: 'demo.echo', ...fields });
      const now = new Date(clock.now()).toISOString();
      const result = await store.schedules.write({ spec, source, created_at: now, updated_at: now }, 'create', clock.now());
      if (result.kind !== 'ok') throw new Error(`schedule ${spec.name} not created: ${result.kind}`);
      return spec;
    },
    async firedTasks(name) {
      const items: TaskRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ schedule: name, limit: 100, cursor });
        items.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return items.sort((a, b) => a.schedule!.fire_at.localeCompare(b.schedule!.fire_at));
    },
    async close() {
      await broker.close();
      redis.disconnect();
      await cleanupNamespace(ns);
    },
  };
}
