/**
 * The benchmark (issue 3): broker ceiling, end-to-end throughput, ingest, low-load round trip,
 * cost and counted round trips, in one run on this machine. See docs/benchmarks.md.
 *
 *   make bench ARGS="--n 5000"      or      npx tsx bench/run.ts --help
 */
import { createServer } from 'node:net';
import os from 'node:os';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { createKeys } from '@celerity/store';
import { cleanupNamespace } from '@celerity/testkit';
import { measureBrokerCeiling } from './broker-ceiling.js';
import { measureBullmq } from './bullmq.js';
import { createCostMeter, memoryOf, type Measured } from './cost.js';
import { diffWindow, endpointsFromEnv, otherRedisActivity, takeSnapshot, type OwnCommands } from './counters.js';
import { runE2E, type E2EContext } from './e2e.js';
import { measureIngest } from './ingest.js';
import { BATCH_PARALLEL, parseKnobs, SINGLE_IN_FLIGHT, USAGE, type Knobs } from './options.js';
import { CLK_TCK, spawnService, waitForConsumers, waitForHealth, type ServiceProcess } from './processes.js';
import { renderTable, writeResults, type BenchResults, type E2EPhase, type PhaseOutcome } from './report.js';
import { measureRoundTrip } from './round-trip.js';
import { pause, PhaseTimeout } from './util.js';

const AMQP_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** the broker ceiling's own queue, deleted with the namespace's */
const CEILING_QUEUE = 'ceiling';

const progress = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

/** Set on SIGINT/SIGTERM: no further phase starts while the clean-up runs. */
let interrupted = false;

/** Runs one phase under its own time limit; a failure or timeout is recorded, not thrown. */
async function phase<T>(name: string, timeoutSeconds: number, body: (signal: AbortSignal) => Promise<T>): Promise<PhaseOutcome<T>> {
  if (interrupted) return { status: 'skipped', seconds: 0, error: 'interrupted' };
  progress(`${name}…`);
  const signal = AbortSignal.timeout(timeoutSeconds * 1000);
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  try {
    const result = await body(signal);
    progress(`${name}: done in ${seconds().toFixed(1)} s`);
    return { status: 'ok', seconds: seconds(), result };
  } catch (err) {
    const timedOut = err instanceof PhaseTimeout || signal.aborted;
    const message = err instanceof PhaseTimeout ? err.what : err instanceof Error ? err.message : String(err);
    progress(`${name}: ${timedOut ? 'TIMED OUT' : 'FAILED'} after ${seconds().toFixed(1)} s: ${message}`);
    return { status: timedOut ? 'timed out' : 'failed', seconds: seconds(), error: message };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseKnobs>;
  try {
    parsed = parseKnobs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const knobs: Knobs = parsed;
  const started = new Date();
  const namespace = `bench${Date.now().toString(36)}`;
  const timeout = knobs.phaseTimeoutSeconds;
  const services: ServiceProcess[] = [];

  const connection = await amqp.connect(AMQP_URL, { clientProperties: { connection_name: 'celerity-bench' } });
  const channel = await connection.createChannel();
  const redis = new Redis(REDIS_URL, { connectionName: 'celerity-bench', lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const benchClientId = Number(await redis.client('ID'));
  const redisVersion = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';

  const results: BenchResults = {
    started_at: started.toISOString(),
    finished_at: '',
    runtime_seconds: 0,
    knobs,
    environment: {
      node: process.version,
      cpus: os.availableParallelism(),
      cpu_model: os.cpus()[0]?.model.trim() ?? 'unknown',
      clk_tck: CLK_TCK,
      namespace,
      redis_version: redisVersion,
      loadavg_at_start: os.loadavg(),
      loadavg_at_end: [],
    },
    phases: {},
    memory: {},
    processes: [],
  };

  let cleanedUp: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleanedUp ??= (async () => {
      for (const service of services) await service.stop();
      await connection.close().catch(() => undefined);
      redis.disconnect();
      await cleanupNamespace(namespace, [CEILING_QUEUE]).catch((err: unknown) => progress(`clean-up of ${namespace} failed: ${String(err)}`));
    })());
  const onSignal = (): void => {
    interrupted = true;
    progress('interrupted: stopping the processes and cleaning up');
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // (1) the broker on its own, before any of our processes run
    results.phases.broker_ceiling = await phase('broker ceiling', timeout, async (signal) => {
      const meter = createCostMeter(undefined, []);
      let cpuBefore = meter.sample();
      let cpuAfter = cpuBefore;
      const ceiling = await measureBrokerCeiling({
        amqpUrl: AMQP_URL,
        queue: `${namespace}.${CEILING_QUEUE}`,
        messages: knobs.ceilingN,
        messageBytes: 300,
        confirmWindow: 500,
        prefetch: 100,
        signal,
        aroundEndToEnd: { before: () => (cpuBefore = meter.sample()), after: () => (cpuAfter = meter.sample()) },
      });
      return { ...ceiling, cost: meter.between(cpuBefore, cpuAfter, ceiling.messages) };
    });

    // (1b) BullMQ on the same Redis, its own prefix: the reference every Celerity figure is read against
    results.phases.bullmq = await phase(`BullMQ reference (${knobs.n} jobs)`, timeout, async (signal) => {
      const meter = createCostMeter(undefined, []);
      let cpuBefore = meter.sample();
      let cpuAfter = cpuBefore;
      const reference = await measureBullmq({
        redisUrl: REDIS_URL,
        prefix: `${namespace}-bullmq`,
        jobs: knobs.n,
        chunk: 1_000,
        concurrency: 50,
        signal,
        around: { before: () => (cpuBefore = meter.sample()), after: () => (cpuAfter = meter.sample()) },
      });
      return { ...reference, cost: meter.between(cpuBefore, cpuAfter, reference.jobs) };
    });

    // the service: one API, --workers workers, at the product's defaults unless a knob says otherwise
    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const common = { NAMESPACE: namespace, LOG_LEVEL: 'warn', RABBITMQ_URL: AMQP_URL, REDIS_URL };
    const api = spawnService('api', ['api'], { ...common, PORT: String(port), BATCH_MAX_SIZE: String(Math.max(500, knobs.batchSize)) });
    services.push(api);
    const workers: ServiceProcess[] = [];
    for (let i = 1; i <= knobs.workers; i += 1) {
      const tuning = {
        ...(knobs.concurrency !== undefined && { WORKER_CONCURRENCY: String(knobs.concurrency) }),
        ...(knobs.prefetch !== undefined && { WORKER_PREFETCH: String(knobs.prefetch) }),
        ...(knobs.threads !== undefined && { WORKER_THREADS: String(knobs.threads) }),
      };
      workers.push(spawnService(`worker-${i}`, ['worker'], { ...common, ...tuning, WORKER_SHUTDOWN_GRACE: '5' }));
    }
    services.push(...workers);
    const defaultQueue = `${namespace}.default`;
    results.phases.start = await phase('start API and workers', 60, async (signal) => {
      await waitForHealth(api, apiUrl, signal);
      await waitForConsumers(async () => (await channel.checkQueue(defaultQueue)).consumerCount, knobs.workers, workers, signal);
      return { apiUrl };
    });
    if (results.phases.start.status !== 'ok') throw new Error(`the service did not start: ${results.phases.start.error}`);
    if (interrupted) throw new Error('interrupted');

    const measured: Measured[] = services.map((s) => ({ name: s.name, pid: s.pid }));
    const cost = createCostMeter(measured[0]!, measured.slice(1));
    const endpoints = endpointsFromEnv(REDIS_URL, AMQP_URL);
    const ctx: E2EContext = {
      apiUrl,
      redis,
      own: {},
      taskKey: createKeys(namespace).task,
      queueDepth: async () => (await channel.checkQueue(defaultQueue)).messageCount,
    };
    const e2eOptions = { n: knobs.n, payloadBytes: knobs.payloadBytes, batchSize: knobs.batchSize, batchParallel: BATCH_PARALLEL, singleInFlight: SINGLE_IN_FLIGHT };

    // not measured: JIT, job modules loaded in every thread, connections warm — both submit paths
    results.phases.warmup = await phase('warm-up', 60, async (signal) => {
      const warm = { ...e2eOptions, n: Math.min(1000, knobs.n), signal };
      await runE2E(ctx, { ...warm, mode: 'batch' });
      return runE2E(ctx, { ...warm, mode: 'single' });
    });
    results.memory.after_warmup = memoryOf(measured);

    // (2), (5), (6): end to end, with CPU and counters across each run
    const e2ePhase = (mode: 'batch' | 'single') =>
      phase(`end to end, ${mode} (${knobs.n} tasks)`, timeout, async (signal): Promise<E2EPhase> => {
        const before = await takeSnapshot(redis, endpoints, measured.map((m) => m.pid));
        const own: OwnCommands = {};
        const cpuBefore = cost.sample();
        const result = await runE2E({ ...ctx, own }, { ...e2eOptions, mode, signal });
        const cpuAfter = cost.sample();
        const after = await takeSnapshot(redis, endpoints, measured.map((m) => m.pid));
        const ourRedisPorts = new Set([...after.sockets.values()].flatMap((s) => [...s.redis.keys()]));
        const others = await otherRedisActivity(redis, ourRedisPorts, benchClientId, Math.ceil((after.at - before.at) / 1000));
        return {
          ...result,
          cost: cost.between(cpuBefore, cpuAfter, result.accepted),
          counters: diffWindow(before, after, measured, result.accepted, own, { clientsActive: others }),
        };
      });
    results.phases.e2e_batch = await e2ePhase('batch');
    results.memory.after_e2e_batch = memoryOf(measured);
    results.phases.e2e_single = await e2ePhase('single');
    results.memory.after_e2e_single = memoryOf(measured);

    // (3) ingest with the workers running, then let them run the backlog before the low-load phase
    results.phases.ingest = await phase(`ingest (${knobs.clients} clients, ${knobs.durationSeconds} s)`, knobs.durationSeconds + 30, async (signal) => {
      const cpuBefore = cost.sample();
      const ingest = await measureIngest({ apiUrl, clients: knobs.clients, durationSeconds: knobs.durationSeconds, payloadBytes: knobs.payloadBytes, signal });
      return { ...ingest, cost: cost.between(cpuBefore, cost.sample(), ingest.accepted) };
    });
    results.memory.after_ingest = memoryOf(measured);
    results.phases.drain = await phase('run the ingest backlog', timeout, async (signal) => {
      const started = performance.now();
      while ((await ctx.queueDepth()) > 0) await pause(100, signal, 'backlog still queued');
      await pause(200, signal, 'last deliveries'); // at most prefetch × workers still running
      return { seconds: (performance.now() - started) / 1000 };
    });

    // (4) one task at a time
    results.phases.round_trip =
      results.phases.drain.status === 'ok'
        ? await phase(`round trip (${knobs.roundTrips} sequential)`, timeout, (signal) =>
            measureRoundTrip({ apiUrl, rounds: knobs.roundTrips, payloadBytes: knobs.payloadBytes, pollIntervalMs: 1, redis, taskKey: ctx.taskKey, signal }),
          )
        : { status: 'skipped', seconds: 0, error: 'the ingest backlog was not run in time, so the load would not be low' };
  } catch (err) {
    results.error = err instanceof Error ? err.message : String(err);
    progress(`stopped: ${results.error}`);
  } finally {
    results.memory.end = memoryOf(services.map((s) => ({ name: s.name, pid: s.pid })));
    progress('stopping the processes and cleaning up…');
    await cleanUp();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  results.processes = services.map((s) => ({ name: s.name, pid: s.pid, warnCount: s.warnCount, errorCount: s.errorCount, problems: s.problems, exitCode: s.exitCode() }));
  const finished = new Date();
  results.finished_at = finished.toISOString();
  results.runtime_seconds = (finished.getTime() - started.getTime()) / 1000;
  results.environment.loadavg_at_end = os.loadavg();
  const path = writeResults(results, started);
  process.stdout.write(`${renderTable(results)}\n\nRaw numbers: ${path}\n`);
  if (results.error) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
