import { UnknownQueueError, WorkerLostError, WorkerNotFoundError } from '@celerity/core';
import type { WorkerView } from '@celerity/store';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { WorkerControlBody, WorkerControlResultSchema, WorkerIdParams, WorkerListSchema, WorkerSchema } from '../schemas/operations.js';
import { problems } from '../schemas/tasks.js';

export function workerRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const find = async (id: string): Promise<WorkerView> => {
    const worker = await deps.store.workers.get(id);
    if (!worker) throw new WorkerNotFoundError(`no worker "${id}" (unknown, stopped, or lost more than 5 minutes ago)`);
    return worker;
  };
  /** a control request only reaches a worker that listens: a lost one would never act on it */
  const findAlive = async (id: string): Promise<WorkerView> => {
    const worker = await find(id);
    if (worker.status === 'lost') throw new WorkerLostError(`worker "${id}" sent no heartbeat since ${worker.last_seen}; it cannot act on a request`);
    return worker;
  };

  return async (app) => {
    app.get(
      '/workers',
      {
        schema: {
          tags: ['workers'],
          summary: 'List the workers, alive and lately lost',
          description: 'From their heartbeats in Redis (every WORKER_HEARTBEAT seconds). A worker that missed three is `lost`, and leaves the list 5 minutes after its last one; one that stops cleanly leaves at once.',
          response: { 200: WorkerListSchema, ...problems(401, 503) },
        },
      },
      async () => ({ items: await deps.store.workers.list() }),
    );

    app.get(
      '/workers/:id',
      { schema: { tags: ['workers'], summary: 'One worker', params: WorkerIdParams, response: { 200: WorkerSchema, ...problems(401, 404, 503) } } },
      async (request) => find(request.params.id),
    );

    for (const action of ['pause', 'resume'] as const) {
      app.post(
        `/workers/:id/${action}`,
        {
          schema: {
            tags: ['workers'],
            summary: action === 'pause' ? 'Stop a worker consuming (all or some of its queues)' : 'Start a paused worker consuming again',
            description:
              action === 'pause'
                ? 'Sent through Redis; the worker cancels its consumers: what runs finishes, what it had received and not started goes back to the queue. Its next heartbeat (sent at once) shows paused_queues.'
                : 'Sent through Redis; the worker consumes the queues again. Its next heartbeat (sent at once) shows it.',
            params: WorkerIdParams,
            body: WorkerControlBody.nullish(),
            response: { 202: WorkerControlResultSchema, ...problems(400, 401, 403, 404, 409, 503) },
          },
          config: { access: 'admin' },
        },
        async (request, reply) => {
          const worker = await findAlive(request.params.id);
          const asked = request.body?.queues ?? null;
          const unknown = (asked ?? []).filter((q) => !worker.queues.includes(q));
          if (unknown.length > 0) throw new UnknownQueueError(`worker "${worker.id}" does not consume ${unknown.join(', ')}; it consumes ${worker.queues.join(', ')}`, 'queues');
          await deps.store.workers.control({ type: action, worker: worker.id, queues: asked });
          request.log.info({ worker: worker.id, queues: asked ?? worker.queues }, `worker ${action} requested`);
          return reply.code(202).send({ id: worker.id, requested: action, queues: asked ?? worker.queues, message: `sent; GET /workers/${worker.id} shows when it took effect` });
        },
      );
    }

    app.post(
      '/workers/:id/shutdown',
      {
        schema: {
          tags: ['workers'],
          summary: 'Shut a worker down gracefully, as SIGTERM does',
          description: 'Sent through Redis; the worker stops consuming, lets running tasks finish within WORKER_SHUTDOWN_GRACE, hands the rest back, and its process exits 0 (a `celerity start` process stops whole).',
          params: WorkerIdParams,
          response: { 202: WorkerControlResultSchema, ...problems(400, 401, 403, 404, 409, 503) },
        },
        config: { access: 'admin' },
      },
      async (request, reply) => {
        const worker = await findAlive(request.params.id);
        await deps.store.workers.control({ type: 'shutdown', worker: worker.id });
        request.log.warn({ worker: worker.id }, 'worker shutdown requested');
        return reply.code(202).send({ id: worker.id, requested: 'shutdown' as const, queues: worker.queues, message: 'sent; the worker leaves the list once it has stopped' });
      },
    );
  };
}
