import type { Broker } from '@celerity/broker';
import { parseStats, type ParsedStats, type RawStats, type TaskStore } from '@celerity/store';

/** One reading of the whole deployment: counters from Redis, queue sizes from RabbitMQ. */
export interface ClusterReading {
  atMs: number;
  raw: RawStats;
  parsed: ParsedStats;
  /** the queues this API declared, then any other queue the counters name */
  queues: string[];
  running: Map<string, number>;
  sizes: { scheduled: number; leases: number; callbacks: number; deadLetters: number };
  /** per declared queue; absent while RabbitMQ is unreachable */
  broker: Map<string, { ready: number; consumers: number }>;
  /** workers by their heartbeats: alive, or lost (three heartbeats missed, listed for a while) */
  workers: { alive: number; lost: number };
  /** deliveries held unacked per queue by the alive workers, as of their last heartbeats */
  unacked: Map<string, number>;
}

/** How long one reading serves: the metrics of one scrape (read concurrently) and a burst of requests share it. */
const READING_TTL_MS = 1_000;

/**
 * Reads the counters and sizes every API replica sees alike. Queue sizes come only for the queues
 * this API declared (checkQueue on an unknown queue would close the channel).
 */
export function createClusterStats(deps: { store: TaskStore; broker: Broker; queues: readonly string[] }) {
  let cached: { atMs: number; reading: Promise<ClusterReading> } | undefined;

  async function readNow(): Promise<ClusterReading> {
    const atMs = Date.now();
    const raw = await deps.store.stats.raw();
    const parsed = parseStats(raw);
    const queues = [...new Set([...deps.queues, ...[...parsed.counts.values()].map((c) => c.queue)])];
    const [running, sizes, broker, workerList] = await Promise.all([deps.store.stats.runningCounts(queues), deps.store.stats.sizes(), brokerStats(), deps.store.workers.list(atMs)]);
    const alive = workerList.filter((w) => w.status === 'alive');
    const workers = { alive: alive.length, lost: workerList.length - alive.length };
    const unacked = new Map(queues.map((q) => [q, alive.reduce((sum, w) => sum + (w.unacked[q] ?? 0), 0)]));
    return { atMs, raw, parsed, queues, running, sizes, broker, workers, unacked };
  }

  async function brokerStats(): Promise<Map<string, { ready: number; consumers: number }>> {
    const out = new Map<string, { ready: number; consumers: number }>();
    if (!deps.broker.isConnected()) return out;
    const replies = await Promise.allSettled(deps.queues.map((q) => deps.broker.queueStats(q)));
    for (const [i, reply] of replies.entries()) if (reply.status === 'fulfilled') out.set(deps.queues[i]!, reply.value);
    return out;
  }

  return {
    async read(): Promise<ClusterReading> {
      const now = Date.now();
      if (!cached || now - cached.atMs > READING_TTL_MS) {
        const reading = readNow();
        cached = { atMs: now, reading };
        reading.catch(() => (cached = undefined)); // a failed reading is not served again
      }
      return cached.reading;
    },
  };
}
export type ClusterStats = ReturnType<typeof createClusterStats>;
