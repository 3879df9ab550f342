/**
 * RabbitMQ closes a channel whose delivery stays unacked past consumer_timeout (30 min by default),
 * checked on the channel's tick (1 min by default). These tests lower both for channels opened
 * meanwhile, so a 3-second task outlives the timeout. They change the broker's settings, so they run
 * in the faults project, on its private RabbitMQ, and put the original values back for the next file.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { privateServices } from '@celerity/testkit';
import { startWorkerHarness, type WorkerHarness } from '../harness.js';

const CONSUMER_TIMEOUT_MS = 1_500;

const services = privateServices();

async function rabbitEnv(name: string, value?: number): Promise<number> {
  const expression = value === undefined ? `application:get_env(rabbit, ${name}).` : `application:set_env(rabbit, ${name}, ${value}), application:get_env(rabbit, ${name}).`;
  const out = await services.rabbitmqctl(['eval', expression], 30_000);
  const match = /\{ok,(\d+)\}/.exec(out);
  if (!match) throw new Error(`rabbitmqctl eval: unexpected answer for ${name}: ${out}`);
  return Number(match[1]);
}

let h: WorkerHarness | undefined;
const original: Record<string, number> = {};
beforeAll(async () => {
  original.consumer_timeout = await rabbitEnv('consumer_timeout');
  original.channel_tick_interval = await rabbitEnv('channel_tick_interval');
  await rabbitEnv('consumer_timeout', CONSUMER_TIMEOUT_MS);
  await rabbitEnv('channel_tick_interval', 250);
});
afterAll(async () => {
  // set back, never unset: a channel cannot open without these values
  for (const [name, value] of Object.entries(original)) await rabbitEnv(name, value);
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const channelClosed = (harness: WorkerHarness) => harness.logLines.some((l) => l.msg === 'rabbitmq closed the consumer channel');

describe("RabbitMQ's consumer_timeout (private broker, lowered to 1.5 s)", () => {
  it('a task that outlives it is acked at start and held by a lease: it runs once, and the channel stays open', async () => {
    h = await startWorkerHarness({ BROKER_CONSUMER_TIMEOUT: String(CONSUMER_TIMEOUT_MS / 1000), TASK_LEASE: '1' });
    await h.startWorker({ concurrency: 1 });
    const long = await h.submit({ task: 'demo.sleep', input: { ms: 3_000 }, time_limit: 10 });
    const done = await h.waitForStatus(long.id, ['succeeded'], 15_000);
    expect(done.attempts).toBe(1);
    const next = await h.submit({ task: 'demo.echo', input: 'same channel' });
    expect((await h.waitForStatus(next.id, ['succeeded'])).result).toBe('same channel');
    expect(h.logLines.filter((l) => l.task_id === long.id && l.msg === 'task started')).toEqual([expect.objectContaining({ leased: true })]);
    expect(channelClosed(h)).toBe(false);
  });

  it('without the lease (the worker not told of the lower timeout) the broker closes the channel and the task runs twice; consuming starts again', async () => {
    h = await startWorkerHarness({ BROKER_CONSUMER_TIMEOUT: '1800' });
    await h.startWorker({ concurrency: 2 });
    const long = await h.submit({ task: 'demo.sleep', input: { ms: 3_000 }, time_limit: 10 });
    const done = await h.waitForStatus(long.id, ['succeeded'], 15_000);
    expect(channelClosed(h)).toBe(true);
    expect(done.attempts).toBe(2); // redelivered while the first run was still going
    const next = await h.submit({ task: 'demo.echo', input: 'after the close' });
    expect((await h.waitForStatus(next.id, ['succeeded'])).result).toBe('after the close');
  });
});
