/** The run's raw numbers (written as JSON) and the Markdown table printed from them. */
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CeilingResult } from './broker-ceiling.js';
import type { BullmqResult } from './bullmq.js';
import type { Cost, memoryOf } from './cost.js';
import type { WindowCounters } from './counters.js';
import type { E2EResult } from './e2e.js';
import type { IngestResult } from './ingest.js';
import { BATCH_PARALLEL, SINGLE_IN_FLIGHT, type Knobs } from './options.js';
import type { RoundTripResult } from './round-trip.js';

export type PhaseOutcome<T> = { status: 'ok'; seconds: number; result: T } | { status: 'timed out' | 'failed' | 'skipped'; seconds: number; error: string };

export type E2EPhase = E2EResult & { cost: Cost; counters: WindowCounters };

export interface BenchResults {
  started_at: string;
  finished_at: string;
  runtime_seconds: number;
  knobs: Knobs;
  environment: {
    node: string;
    cpus: number;
    cpu_model: string;
    clk_tck: number;
    namespace: string;
    redis_version: string;
    loadavg_at_start: number[];
    loadavg_at_end: number[];
  };
  phases: {
    broker_ceiling?: PhaseOutcome<CeilingResult & { cost: Cost }>;
    bullmq?: PhaseOutcome<BullmqResult & { cost: Cost }>;
    start?: PhaseOutcome<{ apiUrl: string }>;
    warmup?: PhaseOutcome<E2EResult>;
    e2e_batch?: PhaseOutcome<E2EPhase>;
    e2e_single?: PhaseOutcome<E2EPhase>;
    ingest?: PhaseOutcome<IngestResult & { cost: Cost }>;
    drain?: PhaseOutcome<{ seconds: number }>;
    round_trip?: PhaseOutcome<RoundTripResult>;
  };
  /** RSS of our processes at checkpoints: after_start (idle, warm), after each phase, end */
  memory: Record<string, ReturnType<typeof memoryOf>>;
  /** warn/error log lines of the processes we started, and how they exited */
  processes: { name: string; pid: number; warnCount: number; errorCount: number; problems: string[]; exitCode: number | null | undefined }[];
  error?: string;
}

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (value: number): string => `${fmt(value, 0)} MiB`;

function ok<T>(outcome: PhaseOutcome<T> | undefined): T | undefined {
  return outcome?.status === 'ok' ? outcome.result : undefined;
}

function why(outcome: PhaseOutcome<unknown> | undefined): string {
  if (!outcome) return 'not run';
  return outcome.status === 'ok' ? '' : `${outcome.status}: ${outcome.error}`;
}

export function renderTable(r: BenchResults): string {
  const k = r.knobs;
  const rows: [string, string, string][] = [];
  const add = (figure: string, value: string, notes: string): void => void rows.push([figure, value, notes]);

  const ceiling = ok(r.phases.broker_ceiling);
  add(
    'Broker ceiling, end to end',
    ceiling ? `${fmt(ceiling.endToEnd.perSecond)} msg/s` : 'n/a',
    ceiling
      ? `plain amqplib: ${fmt(ceiling.messages)} persistent ${ceiling.messageBytes}-byte messages, priority queue, confirms (window ${ceiling.confirmWindow}), 1 consumer, prefetch ${ceiling.prefetch}, manual ack; first publish → last ack`
      : why(r.phases.broker_ceiling),
  );
  add('Broker ceiling, publish only', ceiling ? `${fmt(ceiling.publishOnly.perSecond)} msg/s` : 'n/a', ceiling ? 'same messages, confirmed, nobody consuming' : '');
  if (ceiling) {
    add(
      'CPU s per 1 000 messages, broker ceiling',
      `RabbitMQ ${fmt(ceiling.cost.rabbitmq?.perThousandTasks, 2)}, client ${fmt(ceiling.cost.bench.perThousandTasks, 2)}`,
      `end-to-end part; client = the amqplib producer and consumer (one process); machine busy ${fmt(ceiling.cost.machine.busyCores, 2)} of ${ceiling.cost.machine.cores} cores`,
    );
  }

  const bull = ok(r.phases.bullmq);
  const bullStack = bull ? (bull.cost.redis?.perThousandTasks ?? 0) + bull.cost.bench.perThousandTasks : undefined;
  add(
    'BullMQ reference, end to end',
    bull ? `${fmt(bull.perSecond)} jobs/s` : 'n/a',
    bull
      ? `BullMQ ${bull.bullmqVersion} on the same Redis: ${fmt(bull.jobs)} no-op jobs, addBulk of ${fmt(bull.chunk)}, 1 Worker × concurrency ${bull.concurrency}, completed jobs kept; first add → last completed; CPU s per 1 000 jobs ${fmt(bullStack, 2)} (Redis ${fmt(bull.cost.redis?.perThousandTasks, 2)}, BullMQ's process ${fmt(bull.cost.bench.perThousandTasks, 2)})`
      : why(r.phases.bullmq),
  );

  const ceilingRate = ceiling?.endToEnd.perSecond;
  const bullRate = bull?.perSecond;
  const ratios = (perSecond: number): string =>
    `**${fmt(bullRate ? perSecond / bullRate : Number.NaN, 2)}× BullMQ**, ${fmt(ceilingRate ? (perSecond / ceilingRate) * 100 : Number.NaN)}% of the broker ceiling`;
  const tuning =
    k.concurrency === undefined && k.prefetch === undefined && k.threads === undefined
      ? 'service defaults'
      : `WORKER_CONCURRENCY ${k.concurrency ?? 'default'}, WORKER_THREADS ${k.threads ?? 'default'}, WORKER_PREFETCH ${k.prefetch ?? 'default'}`;
  const workerSetup = `${k.workers} worker${k.workers > 1 ? 's' : ''}, ${tuning}`;
  for (const [mode, outcome] of [
    ['batch', r.phases.e2e_batch],
    ['single', r.phases.e2e_single],
  ] as const) {
    const e = ok(outcome);
    const how = mode === 'batch' ? `POST /tasks/batch of ${k.batchSize}, ${BATCH_PARALLEL} in flight` : `single POST /tasks, ${SINGLE_IN_FLIGHT} in flight`;
    add(
      `End to end, ${mode === 'batch' ? 'batch endpoint' : 'single POSTs'}`,
      e ? `${fmt(e.perSecond)} tasks/s` : 'n/a',
      e
        ? `${ratios(e.perSecond)}; ${fmt(e.statuses.succeeded ?? 0)} demo.noop${k.payloadBytes ? ` (${k.payloadBytes}-byte input)` : ''}, ${how}; all accepted after ${fmt(e.submitSeconds, 1)} s; ${workerSetup}${e.refused ? `; ${fmt(e.refused)} refused: ${e.refusals.join('; ')}` : ''}`
        : why(outcome),
    );
  }

  const ingest = ok(r.phases.ingest);
  add(
    'Ingest, POST /tasks',
    ingest ? `${fmt(ingest.perSecond)} req/s` : 'n/a',
    ingest
      ? `${ingest.clients} clients, ${fmt(ingest.durationSeconds, 0)} s, autocannon, workers running; latency p50 ${fmt(ingest.latencyMs.p50)} ms, p99 ${fmt(ingest.latencyMs.p99)} ms${ingest.refused + ingest.errors ? `; ${ingest.refused} non-2xx, ${ingest.errors} errors` : ''}`
      : why(r.phases.ingest),
  );
  if (ingest) add('Ingest latency p50 / p99', `${fmt(ingest.latencyMs.p50)} / ${fmt(ingest.latencyMs.p99)} ms`, `autocannon, whole milliseconds; backlog run in ${fmt(ok(r.phases.drain)?.seconds, 1)} s after`);

  const rt = ok(r.phases.round_trip);
  add(
    'Round trip p50 / p95 / p99 (poll)',
    rt ? `${fmt(rt.clientMs.p50, 1)} / ${fmt(rt.clientMs.p95, 1)} / ${fmt(rt.clientMs.p99, 1)} ms` : 'n/a',
    rt
      ? `${rt.completed} sequential: POST one demo.noop, then GET /tasks/:id every ~${rt.pollIntervalMs} ms until final (${fmt(rt.pollsPerRound, 1)} GETs per task); the POST alone p50 ${fmt(rt.submitMs.p50, 1)} ms`
      : why(r.phases.round_trip),
  );
  if (rt) {
    add(
      'Server-side created → finished p50',
      `${fmt(rt.serverMs.createdToFinished.p50, 1)} ms`,
      `from the records (ms timestamps): created → started p50 ${fmt(rt.serverMs.createdToStarted.p50, 1)} ms, started → finished p50 ${fmt(rt.serverMs.startedToFinished.p50, 1)} ms; p99 created → finished ${fmt(rt.serverMs.createdToFinished.p99, 1)} ms`,
    );
  }

  const memory = (checkpoint: string, name: 'api' | 'worker') => {
    const list = (r.memory[checkpoint] ?? []).filter((m) => (name === 'api' ? m.name === 'api' : m.name.startsWith('worker')));
    return list.length ? { peak: Math.max(...list.map((m) => m.peakRssMiB)), rss: Math.max(...list.map((m) => m.rssMiB)) } : undefined;
  };
  for (const name of ['api', 'worker'] as const) {
    const end = memory('end', name);
    const idle = memory('after_warmup', name);
    const checkpoints = ['after_warmup', 'after_e2e_batch', 'after_e2e_single', 'after_ingest']
      .map((c) => [c, memory(c, name)] as const)
      .filter(([, m]) => m)
      .map(([c, m]) => `${c.replace('after_', 'after ').replaceAll('_', ' ')} ${fmt(m!.peak)}`);
    add(
      `Peak RSS, ${name}`,
      end ? mib(end.peak) : 'n/a',
      `VmHWM at the end of the run${name === 'worker' ? `, execution threads included${k.workers > 1 ? `, largest of ${k.workers} processes` : ''}` : ''}; RSS idle after warm-up ${fmt(idle?.rss)} MiB, at the end ${fmt(end?.rss)} MiB; peak so far ${checkpoints.join(', ')} MiB`,
    );
  }

  const batch = ok(r.phases.e2e_batch);
  const single = ok(r.phases.e2e_single);
  const both = (pick: (c: Cost) => number | undefined, digits = 2): string => `${fmt(batch && pick(batch.cost), digits)} / ${fmt(single && pick(single.cost), digits)}`;
  add('CPU s per 1 000 tasks, API (batch / single)', both((c) => c.api.perThousandTasks), 'utime + stime from /proc/<pid>/stat over the e2e run');
  add('CPU s per 1 000 tasks, worker (batch / single)', both((c) => c.workers.perThousandTasks), `all ${k.workers} worker process(es), execution threads included`);
  const busy = (e: E2EPhase | undefined, pick: (c: Cost) => number): number | undefined => (e ? (pick(e.cost) / e.seconds) * 100 : undefined);
  add(
    'Main thread busy, API / worker (batch)',
    `${fmt(busy(batch, (c) => c.api.mainThreadCpuSeconds))}% / ${fmt(busy(batch, (c) => c.workers.mainThreadCpuSeconds / k.workers))}%`,
    `event-loop thread CPU (/proc/<pid>/task/<pid>/stat) ÷ e2e time; single POSTs: ${fmt(busy(single, (c) => c.api.mainThreadCpuSeconds))}% / ${fmt(busy(single, (c) => c.workers.mainThreadCpuSeconds / k.workers))}%${k.workers > 1 ? '; worker: mean over processes' : ''}`,
  );
  const stack = (c: Cost): number => c.api.perThousandTasks + c.workers.perThousandTasks + (c.rabbitmq?.perThousandTasks ?? 0) + (c.redis?.perThousandTasks ?? 0);
  const ceilingStack = ceiling ? (ceiling.cost.rabbitmq?.perThousandTasks ?? 0) + ceiling.cost.bench.perThousandTasks : undefined;
  add(
    'CPU s per 1 000 tasks, whole stack (batch / single)',
    both(stack),
    `API + workers + RabbitMQ + Redis (CPU s per 1 000 tasks = CPU ms per task); BullMQ needs ${fmt(bullStack, 2)} (Redis + its process) per 1 000 jobs, the batch path ${fmt(bullStack && batch ? stack(batch.cost) / bullStack : Number.NaN, 1)}× that; the broker ceiling needs ${fmt(ceilingStack, 2)} (RabbitMQ + its client) per 1 000 messages`,
  );
  add(
    'CPU s per 1 000 tasks, RabbitMQ / Redis (batch)',
    `${fmt(batch?.cost.rabbitmq?.perThousandTasks, 2)} / ${fmt(batch?.cost.redis?.perThousandTasks, 2)}`,
    batch
      ? `single POSTs: ${fmt(single?.cost.rabbitmq?.perThousandTasks, 2)} / ${fmt(single?.cost.redis?.perThousandTasks, 2)}; bench itself ${both((c) => c.bench.perThousandTasks)}; machine busy ${both((c) => c.machine.busyCores, 2)} of ${batch.cost.machine.cores} cores, of which ${both((c) => Math.max(0, c.machine.unaccountedCpuSeconds), 1)} CPU s outside the processes above`
      : '',
  );

  const counted = (phase: E2EPhase | undefined) => phase?.counters;
  const b = counted(batch);
  const s = counted(single);
  const breakdown = (c: WindowCounters): string =>
    Object.entries(c.redisCommandsPerTask)
      .sort((x, y) => y[1] - x[1])
      .map(([name, v]) => `${name} ${fmt(v, 2)}`)
      .join(', ');
  add(
    'Redis commands per task (batch / single)',
    `${fmt(b?.redisCommandsPerTaskTotal, 2)} / ${fmt(s?.redisCommandsPerTaskTotal, 2)}`,
    b
      ? `INFO commandstats deltas, incl. commands run inside Lua; batch: ${breakdown(b)}${s ? `; single: ${breakdown(s)}` : ''}${b.redisExclusive && s?.redisExclusive !== false ? '' : ' — **other Redis clients were active, counts include them**'}`
      : why(r.phases.e2e_batch),
  );
  const proc = (c: WindowCounters | undefined, name: 'api' | 'worker') => {
    const list = c?.processes.filter((p) => (name === 'api' ? p.name === 'api' : p.name.startsWith('worker'))) ?? [];
    if (list.length === 0) return undefined;
    const total = (pick: (p: (typeof list)[number]) => number): number => list.reduce((sum, p) => sum + pick(p), 0);
    return {
      names: list.map((p) => p.raw.amqp?.name ?? '?').join(', '),
      redisWrites: total((p) => p.redisWritesPerTask), redisReads: total((p) => p.redisReadsPerTask), amqpRecv: total((p) => p.amqpRecvPerTask), amqpSend: total((p) => p.amqpSendPerTask),
    };
  };
  for (const name of ['api', 'worker'] as const) {
    const pb = proc(b, name);
    const ps = proc(s, name);
    add(
      `Redis round trips per task, ${name} (batch / single)`,
      `${fmt(pb?.redisWrites, 2)} / ${fmt(ps?.redisWrites, 2)}`,
      `TCP segments with data sent to Redis (ss -ti data_segs_out): one per flushed command or pipeline; replies: ${fmt(pb?.redisReads, 2)} / ${fmt(ps?.redisReads, 2)}`,
    );
    add(
      `AMQP packets per task, ${name} (batch / single)`,
      `in ${fmt(pb?.amqpRecv, 2)} / ${fmt(ps?.amqpRecv, 2)}, out ${fmt(pb?.amqpSend, 2)} / ${fmt(ps?.amqpSend, 2)}`,
      `rabbitmqctl list_connections recv_cnt / send_cnt of ${pb?.names ?? ps?.names ?? 'n/a'}: packets the broker received from / sent to the connection; one packet may carry several AMQP frames`,
    );
  }

  const lines = [
    `| figure | value | notes |`,
    `|---|---|---|`,
    ...rows.map((row) => `| ${row.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`),
    '',
    `Run ${r.started_at} (${fmt(r.runtime_seconds)} s), node ${r.environment.node}, ${r.environment.cpus} CPUs (${r.environment.cpu_model}), Redis ${r.environment.redis_version}; knobs: ${knobLine(k)}.`,
  ];
  const problems = r.processes.filter((p) => p.errorCount > 0 || p.exitCode !== 0);
  for (const p of problems) lines.push(`- ${p.name} (pid ${p.pid}): ${p.errorCount} error lines, ${p.warnCount} warnings, exit ${p.exitCode}; last: ${p.problems.at(-1) ?? ''}`);
  if (r.error) lines.push(`- run stopped early: ${r.error}`);
  return lines.join('\n');
}

export function knobLine(k: Knobs): string {
  return `--n ${k.n} --ceiling-n ${k.ceilingN}${k.concurrency === undefined ? '' : ` --concurrency ${k.concurrency}`}${k.prefetch === undefined ? '' : ` --prefetch ${k.prefetch}`}${k.threads === undefined ? '' : ` --threads ${k.threads}`} --workers ${k.workers} --payload-bytes ${k.payloadBytes} --batch-size ${k.batchSize} --clients ${k.clients} --duration ${k.durationSeconds} --round-trips ${k.roundTrips}`;
}

/** bench/results/<YYYY-MM-DD-HHMM>.json (local time), never overwriting an earlier run. */
export function writeResults(r: BenchResults, started: Date): string {
  const pad = (v: number): string => String(v).padStart(2, '0');
  const stamp = `${started.getFullYear()}-${pad(started.getMonth() + 1)}-${pad(started.getDate())}-${pad(started.getHours())}${pad(started.getMinutes())}`;
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  let path = `${dir}${stamp}.json`;
  for (let i = 2; existsSync(path); i += 1) path = `${dir}${stamp}-${i}.json`;
  writeFileSync(path, `${JSON.stringify(r, (_key, value: unknown) => (value instanceof Map ? Object.fromEntries(value) : value), 2)}\n`);
  return path;
}
