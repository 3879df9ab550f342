/**
 * The BullMQ reference row: what a modern Redis-only queue does with the same no-op work on the same
 * machine and Redis, so every Celerity figure can be read as a ratio to it. Plain BullMQ at its
 * defaults (completed jobs kept, as Celerity keeps finished records): addBulk in chunks, one Worker
 * with a concurrency of 50, an async no-op processor.
 * Runs in the bench process under its own prefix, and obliterates its queue afterwards.
 */
import { readFileSync } from 'node:fs';
import { Queue, Worker } from 'bullmq';
import { checkTime } from './util.js';

export interface BullmqResult {
  jobs: number;
  chunk: number;
  concurrency: number;
  /** first addBulk → last job completed */
  seconds: number;
  perSecond: number;
  bullmqVersion: string;
}

export async function measureBullmq(options: {
  redisUrl: string;
  prefix: string;
  jobs: number;
  chunk: number;
  concurrency: number;
  signal: AbortSignal;
  around?: { before(): void; after(): void };
}): Promise<BullmqResult> {
  const url = new URL(options.redisUrl);
  const connection = {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number(url.pathname.slice(1) || 0),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    maxRetriesPerRequest: null,
  };
  const name = 'reference';
  const queue = new Queue(name, { connection, prefix: options.prefix });
  let completed = 0;
  let onAllDone: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (onAllDone = resolve));
  const worker = new Worker(name, async () => undefined, { connection, prefix: options.prefix, concurrency: options.concurrency, autorun: false });
  worker.on('completed', () => {
    completed += 1;
    if (completed === options.jobs) onAllDone();
  });
  try {
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    void worker.run();
    options.around?.before();
    const started = performance.now();
    for (let sent = 0; sent < options.jobs; sent += options.chunk) {
      checkTime(options.signal, 'BullMQ addBulk');
      const size = Math.min(options.chunk, options.jobs - sent);
      await queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: 'noop', data: { i: sent + i } })));
    }
    const timeout = new Promise<never>((_, reject) => options.signal.addEventListener('abort', () => reject(new Error('BullMQ jobs still running')), { once: true }));
    await Promise.race([allDone, timeout]);
    const seconds = (performance.now() - started) / 1000;
    options.around?.after();
    const { version } = JSON.parse(readFileSync(new URL('../node_modules/bullmq/package.json', import.meta.url), 'utf8')) as { version: string };
    return { jobs: options.jobs, chunk: options.chunk, concurrency: options.concurrency, seconds, perSecond: options.jobs / seconds, bullmqVersion: version };
  } finally {
    await worker.close(true).catch(() => undefined);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
}
