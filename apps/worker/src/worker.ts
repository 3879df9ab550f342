import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectBrokerFromConfig } from '@celerity/broker';
import { routerOf, UnknownQueueError, type Closable, type Config, type Logger } from '@celerity/core';
import { createProducerFromConfig } from '@celerity/producer';
import { connectTaskStore, type ControlMessage, type WorkerHeartbeat } from '@celerity/store';
import { createExecutionPool } from './execution-pool.js';
import { handleDelivery, type InflightRegistry } from './handle-delivery.js';
import { createPrioritySlots } from './priority-slots.js';
import { createProgressWriter } from './progress-writer.js';
import { startCallbackDispatcher } from './callback-dispatcher.js';
import { startScheduledDispatcher } from './scheduled-dispatcher.js';
import { startParkedDrainer } from './parked-drainer.js';
import { startMetricsServer } from './metrics-server.js';
import { startHeartbeat } from './heartbeat.js';
import { startHealthServer } from './health-server.js';
import { runPeriodically } from './periodic.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Burst mode: how often the worker checks whether its queues are drained, and how many empty checks in a row end it. */
const BURST_CHECK_MS = 250;
const BURST_EMPTY_CHECKS = 2;

export interface WorkerOptions {
  /** logical queues to consume; default WORKER_QUEUES, else every known queue */
  queues?: string[] | undefined;
  /** tasks running at once; default WORKER_CONCURRENCY */
  concurrency?: number | undefined;
  /** execution threads; default WORKER_THREADS (never more than the concurrency) */
  threads?: number | undefined;
  /** port of this worker's process metrics; default WORKER_METRICS_PORT (unset: none; 0: any free port) */
  metricsPort?: number | undefined;
  /** drain the queues, then ask to stop (`celerity worker --burst`) */
  burst?: boolean | undefined;
  /**
   * Called when the worker should stop: a shutdown request from the API (POST /workers/:id/shutdown),
   * or, in burst mode, its queues drained. The process's graceful shutdown, as on SIGTERM; default:
   * close() this worker.
   */
  onStopRequested?: ((reason: 'shutdown requested' | 'queues drained') => void) | undefined;
}

export interface RunningWorker extends Closable {
  name: string;
  queues: string[];
  /** the port its process metrics are served on, when they are */
  metricsPort: number | undefined;
  /** the port of its health endpoint, when WORKER_HEALTH_PORT is set */
  healthPort: number | undefined;
}

/**
 * A worker: consumes its queues with prefetch = concurrency × WORKER_PREFETCH, runs up to
 * `concurrency` tasks at once (highest priority first) spread over the execution threads, stores each
 * outcome, then acks. close() stops consuming, lets running tasks finish within
 * WORKER_SHUTDOWN_GRACE, then interrupts the rest, whose messages go back to the queue.
 */
export async function startWorker(config: Readonly<Config>, log: Logger, options: WorkerOptions = {}): Promise<RunningWorker> {
  const router = routerOf(config);
  const known = router.queues.map((q) => q.name);
  const queues = options.queues ?? config.WORKER_QUEUES ?? known;
  const unknown = queues.filter((q) => !known.includes(q));
  if (unknown.length > 0) throw new UnknownQueueError(`unknown queue(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const concurrency = options.concurrency ?? config.WORKER_CONCURRENCY;
  const threads = Math.min(options.threads ?? config.WORKER_THREADS, concurrency);
  const prefetch = concurrency * config.WORKER_PREFETCH;
  // unique even for several workers in one process (`celerity start`, tests)
  const workerName = `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;

  const { redis, store } = await connectTaskStore(config, { log, failFast: false, name: 'celerity-worker' });
  const broker = await connectBrokerFromConfig(config, { queues: router.queues, log, connectionName: `celerity-worker:${workerName}` }).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const pool = createExecutionPool({
    threads,
    tasksPerThread: Math.ceil(concurrency / threads),
    jobsRoot: config.jobsRoot,
    logLevel: config.LOG_LEVEL,
    retryDelayMs: config.TASK_RETRY_DELAY * 1000,
    retryDelayMaxMs: config.TASK_RETRY_DELAY_MAX * 1000,
    maxTasksPerThread: config.WORKER_MAX_TASKS_PER_CHILD,
    maxHeapMbPerThread: config.WORKER_MAX_MEMORY_PER_CHILD,
    onRecycle: (reason) => log.info({ reason }, 'execution threads replaced'),
  });
  await pool.ready();
  const progress = createProgressWriter(store, log);
  pool.onProgress((u) => progress.report(u.taskId, { percent: u.percent, message: u.message, data: u.data }));

  const inflight: InflightRegistry = new Map();
  let stopping = false;
  const startedAt = new Date().toISOString();
  const slots = createPrioritySlots(concurrency);
  const deliveries = { active: 0 };
  /** deliveries held unacked, per queue */
  const held = new Map<string, number>(queues.map((q) => [q, 0]));
  const counts = { processed: 0, failed: 0 };
  const paused = new Set<string>();
  let stopRequested = false;
  const requestStop = (reason: 'shutdown requested' | 'queues drained') => {
    if (stopRequested) return;
    stopRequested = true;
    log.info({ reason }, 'worker stopping');
    if (options.onStopRequested) options.onStopRequested(reason);
    else void worker.close();
  };

  const describe = (): WorkerHeartbeat => ({
    id: workerName,
    host: hostname(),
    pid: process.pid,
    version: VERSION,
    queues,
    paused_queues: queues.filter((q) => paused.has(q)),
    state: stopping ? 'stopping' : paused.size === queues.length ? 'paused' : 'running',
    concurrency,
    running: [...inflight.keys()],
    unacked: Object.fromEntries(held),
    processed: counts.processed,
    failed: counts.failed,
    rss_bytes: process.memoryUsage.rss(),
    started_at: startedAt,
    last_seen: new Date().toISOString(),
    heartbeat_interval: config.WORKER_HEARTBEAT,
  });

  const heartbeat = startHeartbeat({ registry: store.workers, intervalSeconds: config.WORKER_HEARTBEAT, describe, log });

  /** Pause and resume stop and start consuming (what runs finishes; what waits for a slot goes back). */
  async function onControl(message: Exclude<ControlMessage, { type: 'cancel' }>): Promise<void> {
    if (message.type === 'shutdown') return requestStop('shutdown requested');
    const targets = (message.queues ?? queues).filter((q) => queues.includes(q));
    if (message.type === 'pause') {
      for (const q of targets) paused.add(q);
      await broker.pauseQueues(targets);
      slots.callOffWaiting(new Set(targets));
      log.info({ queues: targets }, 'consuming paused');
    } else {
      for (const q of targets) paused.delete(q);
      if (!stopping) await broker.resumeQueues(targets);
      log.info({ queues: targets }, 'consuming resumed');
    }
    await heartbeat.beatNow();
  }
  const control = await store.subscribeControl((message) => {
    if (message.type === 'cancel') inflight.get(message.id)?.cancel(message.terminate);
    else if (message.worker === workerName) onControl(message).catch((err: unknown) => log.error({ err, control: message.type }, 'control request failed'));
  });
  const deps = {
    store,
    pool,
    slots,
    progress,
    inflight,
    log,
    workerName,
    limits: { timeLimit: config.TASK_TIME_LIMIT, softTimeLimit: config.TASK_SOFT_TIME_LIMIT },
    retryPolicy: { baseDelayMs: config.TASK_RETRY_DELAY * 1000, maxDelayMs: config.TASK_RETRY_DELAY_MAX * 1000 },
    ackTimeouts: { consumerTimeoutMs: config.BROKER_CONSUMER_TIMEOUT * 1000, leaseMs: config.TASK_LEASE * 1000 },
    isStopping: () => stopping,
    counts,
  };
  await broker.consume(
    async (delivery) => {
      deliveries.active += 1;
      held.set(delivery.queue, (held.get(delivery.queue) ?? 0) + 1);
      try {
        return await handleDelivery(delivery, deps);
      } finally {
        deliveries.active -= 1;
        held.set(delivery.queue, (held.get(delivery.queue) ?? 1) - 1);
      }
    },
    { queues, prefetch, handlerFailureLimit: config.WORKER_HANDLER_FAILURE_LIMIT },
  );
  await heartbeat.ready;
  const health =
    config.WORKER_HEALTH_PORT === undefined ? undefined : await startHealthServer({ port: config.WORKER_HEALTH_PORT, host: config.WORKER_HEALTH_HOST, isConsuming: () => broker.isConsuming(), log });
  let emptyChecks = 0;
  const burst = options.burst
    ? runPeriodically(
        BURST_CHECK_MS,
        async () => {
          const consumed = queues.filter((q) => !paused.has(q));
          const ready = await Promise.all(consumed.map(async (q) => (await broker.queueStats(q)).ready));
          emptyChecks = deliveries.active === 0 && ready.every((n) => n === 0) ? emptyChecks + 1 : 0;
          if (emptyChecks >= BURST_EMPTY_CHECKS) requestStop('queues drained');
        },
        (err) => log.warn({ err }, 'burst: could not read the queues; trying again'),
      )
    : undefined;
  const dispatcher = startScheduledDispatcher({ store, broker, producer: createProducerFromConfig(config, { store, broker, log }), log, owner: workerName });
  const parkedDrainer = startParkedDrainer({ store, broker, log });
  if (!config.WEBHOOK_SECRET) log.warn('WEBHOOK_SECRET is not set: task callbacks are sent unsigned');
  const callbacks = startCallbackDispatcher({
    store,
    log,
    secret: config.WEBHOOK_SECRET,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    timeoutMs: config.WEBHOOK_TIMEOUT * 1000,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    retryDelayMs: { base: config.WEBHOOK_RETRY_DELAY * 1000, max: config.WEBHOOK_RETRY_DELAY_MAX * 1000 },
  });
  const metricsPort = options.metricsPort ?? config.WORKER_METRICS_PORT;
  const metrics =
    metricsPort === undefined ? undefined : await startMetricsServer({ host: config.WORKER_METRICS_HOST, port: metricsPort, worker: workerName, slots, concurrency, log });
  log.info({ worker: workerName, queues, concurrency, threads, prefetch }, 'worker started');

  let closing: Promise<void> | undefined;
  const worker: RunningWorker = {
    name: workerName,
    queues,
    metricsPort: metrics?.port,
    healthPort: health?.port,
    close() {
      closing ??= (async () => {
        stopping = true;
        stopRequested = true;
        await burst?.close();
        await heartbeat.beatNow(); // shows `stopping` while it drains
        await dispatcher.close();
        await parkedDrainer.close();
        await callbacks.close();
        await broker.cancelConsumers();
        slots.callOffWaiting(); // prefetched, not started: back to the queue for other workers
        const deadline = Date.now() + config.WORKER_SHUTDOWN_GRACE * 1000;
        while (deliveries.active > 0 && Date.now() < deadline) await sleep(50);
        if (inflight.size > 0) {
          log.warn({ running: inflight.size }, 'shutdown grace over; interrupting running tasks so they run elsewhere');
          for (const execution of inflight.values()) execution.shutdown();
          const hardDeadline = Date.now() + 2_000;
          while (deliveries.active > 0 && Date.now() < hardDeadline) await sleep(50);
        }
        progress.close();
        await control.close();
        await heartbeat.close();
        await health?.close();
        await pool.close(true);
        await broker.close(); // unacked deliveries go back to their queues
        await redis.quit().catch(() => redis.disconnect());
        await metrics?.close();
      })();
      return closing;
    },
  };
  return worker;
}
