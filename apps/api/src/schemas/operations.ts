import { z } from 'zod';

/** HTTP wire shapes of GET /workers and GET /queues (snake_case), also the source of the OpenAPI document. */

export const WorkerSchema = z
  .object({
    id: z.string().describe('host:pid:random, unique per worker'),
    status: z.enum(['alive', 'lost']).describe('lost: no heartbeat for three intervals (killed, hung or cut off); listed for 5 minutes after its last one'),
    state: z.enum(['running', 'paused', 'stopping']).describe('as of its last heartbeat: consuming, every queue paused, or shutting down'),
    host: z.string(),
    pid: z.int(),
    version: z.string(),
    queues: z.array(z.string()).describe('The queues it consumes'),
    paused_queues: z.array(z.string()),
    concurrency: z.int(),
    running: z.array(z.string()).describe('Ids of the tasks it runs now'),
    unacked: z.record(z.string(), z.int()).describe('Deliveries it holds unacknowledged, per queue: running or waiting for a run slot'),
    processed: z.int().describe('Attempts it finished since it started'),
    failed: z.int().describe('Of those, the ones that did not succeed (including attempts retried later)'),
    rss_bytes: z.int(),
    started_at: z.string(),
    last_seen: z.string(),
    heartbeat_interval: z.number().describe('Seconds between its heartbeats (WORKER_HEARTBEAT)'),
  })
  .meta({ id: 'Worker' });

export const WorkerListSchema = z.object({ items: z.array(WorkerSchema) }).meta({ id: 'WorkerList' });

export const WorkerIdParams = z.object({ id: z.string().max(200).describe('Worker id, as GET /workers lists it') });

export const WorkerControlBody = z
  .object({ queues: z.array(z.string().min(1).max(63)).min(1).max(100).optional().describe('Only these of its queues (default: all of them)') })
  .strict()
  .meta({ id: 'WorkerControl' });

export const WorkerControlResultSchema = z
  .object({
    id: z.string(),
    requested: z.enum(['pause', 'resume', 'shutdown']),
    queues: z.array(z.string()).describe('The queues it applies to'),
    message: z.string(),
  })
  .meta({ id: 'WorkerControlResult' });

export const QueueSchema = z
  .object({
    name: z.string(),
    max_priority: z.int(),
    ready: z.int().nullable().describe('Messages waiting in RabbitMQ; null while RabbitMQ is unreachable'),
    unacked: z.int().describe('Messages delivered to live workers and not yet acknowledged (running, or waiting for a run slot), from their heartbeats'),
    consumers: z.int().nullable().describe('Consumers RabbitMQ counts on the queue (a paused worker has none); null while RabbitMQ is unreachable'),
    workers: z.array(z.string()).describe('Live workers that consume it and have not paused it'),
    scheduled: z.int().describe('Tasks bound for it that wait for their eta or a retry (at most the first SCHEDULED_COUNT_LIMIT of the scheduled set are examined)'),
    oldest_waiting_seconds: z
      .number()
      .nullable()
      .describe('Age of the oldest pending task bound for it (since created, or since its eta); null when none was found among the oldest 2 000 tasks kept'),
    in_per_second: z.number().nullable().describe('Tasks submitted to it per second over the last minute (from the counters of GET /stats, since the last minute snapshot taken at least a minute ago, or the oldest one); null before any snapshot'),
    out_per_second: z.number().nullable().describe('Tasks that left it to run (started) per second over the same window'),
  })
  .meta({ id: 'Queue' });

export const QueueListSchema = z.object({ items: z.array(QueueSchema) }).meta({ id: 'QueueList' });

export const QueueNameParams = z.object({ name: z.string().max(63) });

export const QueuePurgeResultSchema = z
  .object({
    queue: z.string(),
    purged: z.int().describe('Messages removed from the queue'),
    cancelled: z.int().describe('Of their tasks, those that were not finished: each is now `cancelled` with error.type QUEUE_PURGED'),
  })
  .meta({ id: 'QueuePurgeResult' });
