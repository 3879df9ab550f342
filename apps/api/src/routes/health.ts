import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { problem, sendProblem } from '../http-errors.js';
import { problems } from '../schemas/tasks.js';

const Readiness = z.object({ status: z.literal('ready'), rabbitmq: z.literal('up'), redis: z.literal('up') });

export function healthRoutes(deps: ApiDeps, isDraining: () => boolean): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/health',
      { config: { access: 'public' }, schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: z.object({ status: z.literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/ready',
      {
        config: { access: 'public' },
        schema: {
          tags: ['ops'],
          summary: 'Readiness: RabbitMQ and Redis reachable, not shutting down',
          response: { 200: Readiness.describe('Ready: RabbitMQ and Redis answer'), ...problems(503) },
        },
      },
      async (_request, reply) => {
        if (isDraining()) return sendProblem(reply, problem(503, 'SHUTTING_DOWN', 'the API is shutting down'));
        const redisUp = await deps.store.ping().then(
          () => true,
          () => false,
        );
        const rabbitUp = deps.broker.isConnected();
        if (!redisUp || !rabbitUp) {
          const down = [rabbitUp ? null : 'RabbitMQ', redisUp ? null : 'Redis'].filter(Boolean).join(' and ');
          return sendProblem(reply, problem(503, rabbitUp ? 'STORE_UNAVAILABLE' : 'BROKER_UNAVAILABLE', `${down} unreachable`));
        }
        return { status: 'ready' as const, rabbitmq: 'up' as const, redis: 'up' as const };
      },
    );
  };
}
