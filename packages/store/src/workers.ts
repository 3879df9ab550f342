import { guard } from './guard.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** What a worker reports about itself on every heartbeat (wire names: it is served as is by GET /workers). */
export interface WorkerHeartbeat {
  id: string;
  host: string;
  pid: number;
  version: string;
  /** the queues it consumes, paused or not */
  queues: string[];
  /** the queues it has stopped consuming (POST /workers/:id/pause) */
  paused_queues: string[];
  /** running: consuming; paused: every queue paused; stopping: shutting down */
  state: 'running' | 'paused' | 'stopping';
  concurrency: number;
  /** ids of the tasks it runs now */
  running: string[];
  /** deliveries it holds unacknowledged per queue (running or waiting for a run slot) */
  unacked: Record<string, number>;
  /** attempts it finished since it started, and how many of them did not succeed */
  processed: number;
  failed: number;
  rss_bytes: number;
  started_at: string;
  last_seen: string;
  /** seconds between its heartbeats: it counts as lost after three missed ones */
  heartbeat_interval: number;
}

export interface WorkerView extends WorkerHeartbeat {
  /** alive, or lost: no heartbeat for three intervals (killed, hung, or cut off) */
  status: 'alive' | 'lost';
}

/** A heartbeat that missed this many intervals means the worker is lost. */
export const MISSED_HEARTBEATS_LOST = 3;
/** How long a worker stays listed (as lost) after its last heartbeat. */
export const LOST_WORKER_KEPT_SECONDS = 300;

export type WorkerControl = { type: 'pause' | 'resume'; worker: string; queues: string[] | null } | { type: 'shutdown'; worker: string };

/**
 * The registry of live workers: each writes its heartbeat (a JSON string that expires
 * LOST_WORKER_KEPT_SECONDS after the last one, and its id in a set scored by time), so every API
 * replica sees every worker. Control requests reach a worker through the control channel it already
 * listens to for cancels.
 */
export function createWorkerRegistry(client: RedisClient, keys: Keys) {
  const view = (beat: WorkerHeartbeat, nowMs: number): WorkerView => ({
    ...beat,
    status: nowMs - Date.parse(beat.last_seen) > MISSED_HEARTBEATS_LOST * beat.heartbeat_interval * 1000 ? 'lost' : 'alive',
  });

  return {
    async beat(heartbeat: WorkerHeartbeat): Promise<void> {
      const ttl = Math.ceil(LOST_WORKER_KEPT_SECONDS + MISSED_HEARTBEATS_LOST * heartbeat.heartbeat_interval);
      await guard(
        client.multi().set(keys.worker(heartbeat.id), JSON.stringify(heartbeat), 'EX', ttl).zadd(keys.workers, Date.parse(heartbeat.last_seen), heartbeat.id).exec(),
      );
    },

    /** A worker that stopped cleanly leaves the list at once. */
    async remove(id: string): Promise<void> {
      await guard(client.multi().del(keys.worker(id)).zrem(keys.workers, id).exec());
    },

    /** Every worker seen within LOST_WORKER_KEPT_SECONDS, alive first, then by id. */
    async list(nowMs = Date.now()): Promise<WorkerView[]> {
      await guard(client.zremrangebyscore(keys.workers, '-inf', nowMs - LOST_WORKER_KEPT_SECONDS * 1000));
      const ids = await guard(client.zrange(keys.workers, 0, -1));
      if (ids.length === 0) return [];
      const texts = await guard(client.mget(...ids.map(keys.worker)));
      const views = texts.flatMap((text) => (text ? [view(JSON.parse(text) as WorkerHeartbeat, nowMs)] : []));
      return views.sort((a, b) => (a.status === b.status ? a.id.localeCompare(b.id) : a.status === 'alive' ? -1 : 1));
    },

    async get(id: string, nowMs = Date.now()): Promise<WorkerView | undefined> {
      const text = await guard(client.get(keys.worker(id)));
      return text ? view(JSON.parse(text) as WorkerHeartbeat, nowMs) : undefined;
    },

    /** Sends a control request on the workers' control channel; the worker it names acts on it. */
    async control(request: WorkerControl): Promise<void> {
      await guard(client.publish(keys.control, JSON.stringify(request)));
    },
  };
}
export type WorkerRegistry = ReturnType<typeof createWorkerRegistry>;
