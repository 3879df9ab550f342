import { QueueNotFoundError, TaskMessage, type QueueDefinition } from '@celerity/core';
import { parseStats, type WorkerView } from '@celerity/store';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { QueueListSchema, QueueNameParams, QueuePurgeResultSchema, QueueSchema } from '../schemas/operations.js';
import { problems } from '../schemas/tasks.js';

/** Messages a purge takes off the queue (and whose records it cancels) per round. */
const PURGE_BATCH = 500;

function taskIdOf(body: Buffer): string | undefined {
  try {
    const parsed = TaskMessage.safeParse(JSON.parse(body.toString('utf8')));
    return parsed.success ? parsed.data.id : undefined;
  } catch {
    return undefined;
  }
}

export function queueRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const declared = () => deps.producer.queues; // read per request: the document is rendered without a producer
  const find = (name: string): QueueDefinition => {
    const queue = declared().find((q) => q.name === name);
    if (!queue) throw new QueueNotFoundError(`no queue "${name}"; known: ${declared().map((q) => q.name).join(', ')}`);
    return queue;
  };

  /** What RabbitMQ, the workers' heartbeats and the records say about these queues. */
  async function describe(queues: readonly QueueDefinition[]) {
    const nowMs = Date.now();
    const [brokerStats, workers, scheduled, oldest, lastMinute] = await Promise.all([
      Promise.all(queues.map((q) => (deps.broker.isConnected() ? deps.broker.queueStats(q.name).catch(() => null) : null))),
      deps.store.workers.list(nowMs),
      deps.store.scheduledPerQueue(),
      deps.store.oldestPendingPerQueue(),
      deps.store.stats.raw().then((raw) => deps.store.stats.window(60_000, raw, nowMs)),
    ]);
    const seconds = lastMinute.sinceMs === null ? null : Math.max(1, (nowMs - lastMinute.sinceMs) / 1000);
    const flows = new Map<string, { submitted: number; started: number }>();
    for (const entry of parseStats(lastMinute.raw).counts.values()) {
      const flow = flows.get(entry.queue) ?? { submitted: 0, started: 0 };
      flow.submitted += entry.counts.submitted;
      flow.started += entry.counts.started;
      flows.set(entry.queue, flow);
    }
    const alive = workers.filter((w: WorkerView) => w.status === 'alive');
    return queues.map((q, i) => {
      const since = oldest.get(q.name);
      return {
        name: q.name,
        max_priority: q.max_priority,
        ready: brokerStats[i]?.ready ?? null,
        consumers: brokerStats[i]?.consumers ?? null,
        unacked: alive.reduce((sum, w) => sum + (w.unacked[q.name] ?? 0), 0),
        workers: alive.filter((w) => w.queues.includes(q.name) && !w.paused_queues.includes(q.name)).map((w) => w.id),
        scheduled: scheduled.get(q.name) ?? 0,
        oldest_waiting_seconds: since ? Math.max(0, (nowMs - Date.parse(since)) / 1000) : null,
        in_per_second: seconds === null ? null : (flows.get(q.name)?.submitted ?? 0) / seconds,
        out_per_second: seconds === null ? null : (flows.get(q.name)?.started ?? 0) / seconds,
      };
    });
  }

  return async (app) => {
    app.get(
      '/queues',
      {
        schema: {
          tags: ['queues'],
          summary: 'List the queues with their depth, consumers and waiting tasks',
          response: { 200: QueueListSchema, ...problems(401, 503) },
        },
      },
      async () => ({ items: await describe(declared()) }),
    );

    app.get(
      '/queues/:name',
      {
        schema: { tags: ['queues'], summary: 'One queue', params: QueueNameParams, response: { 200: QueueSchema, ...problems(401, 404, 503) } },
      },
      async (request) => (await describe([find(request.params.name)]))[0]!,
    );

    app.post(
      '/queues/:name/purge',
      {
        schema: {
          tags: ['queues'],
          summary: 'Remove every waiting message from a queue',
          description:
            'Takes the messages waiting in the queue (not those delivered to workers, nor scheduled tasks) off it, in rounds of 500, up to as many as it held when the purge began. The record of each task whose message was removed ends `cancelled` with error.type QUEUE_PURGED, unless it was already finished, so none stays `pending`; its callback is sent like a cancel\'s.',
          params: QueueNameParams,
          response: { 200: QueuePurgeResultSchema, ...problems(401, 403, 404, 503) },
        },
        config: { access: 'admin' },
      },
      async (request) => {
        const queue = find(request.params.name).name;
        let left = (await deps.broker.queueStats(queue)).ready;
        let purged = 0;
        let cancelled = 0;
        while (left > 0) {
          const taken = await deps.broker.takeMessages(queue, Math.min(PURGE_BATCH, left));
          if (taken.bodies.length === 0) {
            await taken.settle(true);
            break;
          }
          try {
            const ids = taken.bodies.map(taskIdOf).filter((id): id is string => id !== undefined);
            cancelled += await deps.store.cancelPurged(ids, queue);
          } catch (err) {
            await taken.settle(false); // the records could not be updated: the messages stay
            throw err;
          }
          await taken.settle(true);
          purged += taken.bodies.length;
          left -= taken.bodies.length;
        }
        request.log.warn({ queue, purged, cancelled }, 'queue purged');
        return { queue, purged, cancelled };
      },
    );
  };
}
