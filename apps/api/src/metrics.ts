import { HISTOGRAM_BUCKETS_MS, TASK_COUNTERS, addHistogram, newHistogram, type Histogram } from '@celerity/store';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { ClusterReading, ClusterStats } from './cluster-stats.js';

/** The label value that stands for every task name past METRICS_MAX_TASK_NAMES. */
export const OTHER_TASKS = '_other';

type Labels = Record<string, string>;
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

/**
 * A metric whose samples are computed from a cluster reading at scrape time. prom-client's Counter
 * and Histogram keep their values in this process; ours are kept in Redis for every replica, so they
 * are registered as objects with their own get(), which the Registry renders like its own metrics.
 */
function readingMetric(
  registry: Registry,
  stats: ClusterStats,
  name: string,
  type: 'counter' | 'gauge' | 'histogram',
  help: string,
  samples: (reading: ClusterReading) => Sample[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      return { name, help, type, aggregator: 'sum', values: samples(await stats.read()) };
    },
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** Task names kept as labels: the `max` busiest (by tasks submitted); the rest become OTHER_TASKS. */
function taskLabeller(reading: ClusterReading, max: number): (task: string) => string {
  const totals = new Map<string, number>();
  for (const c of reading.parsed.counts.values()) totals.set(c.task, (totals.get(c.task) ?? 0) + c.counts.submitted + c.counts.started);
  const kept = new Set([...totals.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, max).map(([task]) => task));
  return (task) => (kept.has(task) ? task : OTHER_TASKS);
}

function histogramSamples(name: string, groups: Map<string, { labels: Labels; histogram: Histogram }>): Sample[] {
  const out: Sample[] = [];
  for (const { labels, histogram } of groups.values()) {
    let cumulative = 0;
    for (const [i, upper] of HISTOGRAM_BUCKETS_MS.entries()) {
      cumulative += histogram.buckets[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(upper / 1000) }, value: cumulative });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: histogram.count });
    out.push({ metricName: `${name}_sum`, labels, value: histogram.sumMs / 1000 });
    out.push({ metricName: `${name}_count`, labels, value: histogram.count });
  }
  return out;
}

/** Histograms by queue and priority, summed over what else the fields carry (task names). */
function byQueueAndPriority(entries: Iterable<{ queue: string; priority: string; histogram: Histogram }>): Map<string, { labels: Labels; histogram: Histogram }> {
  const groups = new Map<string, { labels: Labels; histogram: Histogram }>();
  for (const e of entries) {
    const key = `${e.queue}|${e.priority}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { labels: { queue: e.queue, priority: e.priority }, histogram: newHistogram() }));
    addHistogram(group.histogram, e.histogram);
  }
  return groups;
}

const COUNTER_HELP: Record<(typeof TASK_COUNTERS)[number], string> = {
  submitted: 'Tasks accepted (records written), by queue and task name',
  started: 'Attempts started by a worker (a retry or a redelivery after a worker died starts again)',
  succeeded: 'Tasks that succeeded',
  failed: 'Tasks that failed for good (retries used up, not retryable, or their workers kept dying)',
  timed_out: 'Tasks stopped by their time limit, for good',
  cancelled: 'Tasks cancelled (DELETE /tasks/:id), whether they were waiting or running',
  expired: 'Tasks not started before their expires time (ended expired, never run)',
  retried: 'Failed attempts scheduled to run again',
  dead_lettered: 'Tasks that ended without success and went to the dead letters (failed + timed out)',
};

/**
 * The API's /metrics: the deployment's task counters, histograms and gauges (from Redis and
 * RabbitMQ, the same from every replica) and this process's own metrics (prom-client defaults).
 */
export function createMetricsRegistry(stats: ClusterStats, options: { maxTaskNames: number }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  for (const counter of TASK_COUNTERS) {
    readingMetric(registry, stats, `celerity_tasks_${counter}_total`, 'counter', COUNTER_HELP[counter], (reading) => {
      const label = taskLabeller(reading, options.maxTaskNames);
      const sums = new Map<string, Sample>();
      for (const c of reading.parsed.counts.values()) {
        const task = label(c.task);
        const key = `${c.queue}|${task}`;
        const sample = sums.get(key) ?? { labels: { queue: c.queue, task }, value: 0 };
        sample.value += c.counts[counter];
        sums.set(key, sample);
      }
      return [...sums.values()];
    });
  }
  readingMetric(registry, stats, 'celerity_task_run_seconds', 'histogram', 'Run time of finished tasks (started -> finished, last attempt), by queue and priority', (reading) =>
    histogramSamples('celerity_task_run_seconds', byQueueAndPriority(reading.parsed.run.values())),
  );
  readingMetric(
    registry,
    stats,
    'celerity_task_wait_seconds',
    'histogram',
    'Queue wait of finished tasks (created, or eta/retry time -> started, last attempt), by queue and priority',
    (reading) => histogramSamples('celerity_task_wait_seconds', byQueueAndPriority(reading.parsed.wait.values())),
  );
  readingMetric(registry, stats, 'celerity_tasks_running', 'gauge', 'Tasks running now, by queue', (reading) =>
    reading.queues.map((queue) => ({ labels: { queue }, value: reading.running.get(queue) ?? 0 })),
  );
  readingMetric(registry, stats, 'celerity_queue_ready_messages', 'gauge', 'Messages waiting in the RabbitMQ queue (not yet delivered), by queue', (reading) =>
    [...reading.broker.entries()].map(([queue, q]) => ({ labels: { queue }, value: q.ready })),
  );
  readingMetric(registry, stats, 'celerity_queue_consumers', 'gauge', 'Consumers of the RabbitMQ queue (one per worker process consuming it), by queue', (reading) =>
    [...reading.broker.entries()].map(([queue, q]) => ({ labels: { queue }, value: q.consumers })),
  );
  readingMetric(registry, stats, 'celerity_queue_unacked_messages', 'gauge', 'Deliveries held unacked by the alive workers (running or waiting for a run slot), by queue, as of their last heartbeats', (reading) =>
    [...reading.unacked.entries()].map(([queue, value]) => ({ labels: { queue }, value })),
  );
  readingMetric(registry, stats, 'celerity_workers', 'gauge', 'Workers by their heartbeats: alive, or lost (three heartbeats missed; listed for 5 minutes)', (reading) => [
    { labels: { status: 'alive' }, value: reading.workers.alive },
    { labels: { status: 'lost' }, value: reading.workers.lost },
  ]);
  const size = (name: string, help: string, pick: (s: ClusterReading['sizes']) => number) =>
    readingMetric(registry, stats, name, 'gauge', help, (reading) => [{ labels: {}, value: pick(reading.sizes) }]);
  size('celerity_tasks_scheduled', 'Tasks waiting for their eta or retry time (and publishes not yet confirmed, for seconds)', (s) => s.scheduled);
  size('celerity_tasks_leased', 'Running tasks acked at start and guarded by a lease (long time limits)', (s) => s.leases);
  size('celerity_callbacks_waiting', 'Webhook deliveries waiting to be sent or retried', (s) => s.callbacks);
  size('celerity_dead_letters', 'Entries in the dead letters (GET /dead-letters)', (s) => s.deadLetters);
  return registry;
}
