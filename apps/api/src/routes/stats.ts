import { DEFAULT_QUEUES } from '@celerity/core';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { createClusterStats } from '../cluster-stats.js';
import { createMetricsRegistry } from '../metrics.js';
import { StatsHistoryQuery, StatsHistorySchema, StatsSchema, statsHistory, statsReport } from '../stats-report.js';
import { TaskHealthSchema, taskHealth } from '../task-health.js';
import { problems } from '../schemas/tasks.js';

/** How often each API process takes the minute snapshot of the counters (once a minute per deployment) and trims finished lists. */
const HOUSEKEEPING_MS = 20_000;

/**
 * GET /metrics (Prometheus text), GET /stats and DELETE /stats (JSON), GET /health/tasks; the
 * counters are kept in Redis by the status-change scripts, so every replica answers the same.
 */
export function statsRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const cluster = createClusterStats({ store: deps.store, broker: deps.broker, queues: deps.queues ?? DEFAULT_QUEUES.map((q) => q.name) });
    const registry = createMetricsRegistry(cluster, { maxTaskNames: deps.config.METRICS_MAX_TASK_NAMES });

    // one snapshot a minute for the windows of /stats and /health/tasks (whichever replica comes
    // first takes it), and expired tasks out of the finished lists; both skipped while Redis is down
    const housekeeping = async () => {
      try {
        await deps.store.stats.snapshot();
        await deps.store.stats.trimFinished();
      } catch (err) {
        app.log.debug({ err }, 'stats snapshot or trim skipped; next time');
      }
    };
    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      void housekeeping();
      timer = setInterval(() => void housekeeping(), HOUSEKEEPING_MS).unref();
    });
    app.addHook('onClose', async () => clearInterval(timer));

    app.get(
      '/metrics',
      {
        schema: {
          tags: ['ops'],
          summary: 'Prometheus metrics: task counters, run and wait histograms, queue gauges, and this process',
          description:
            'Text exposition format 0.0.4. The task metrics are the deployment\'s (kept in Redis), the same from every replica; process_* and nodejs_* are this API process\'s. Every metric is described in docs/operations.md.',
          response: { 200: z.string().describe('Prometheus text format (text/plain; version=0.0.4)'), ...problems(401, 503) },
        },
      },
      async (_request, reply) => {
        const text = await registry.metrics();
        return reply.type(registry.contentType).send(text);
      },
    );

    app.get(
      '/stats',
      {
        schema: {
          tags: ['ops'],
          summary: 'Task statistics as JSON: totals and rates over the last minute, hour and day, per queue and per task name',
          description: 'The numbers /metrics exports, for people and dashboards. `total` counts since the last DELETE /stats; windows come from snapshots taken once a minute.',
          response: { 200: StatsSchema, ...problems(401, 503) },
        },
      },
      async () => statsReport(deps.store, await cluster.read()),
    );

    app.get(
      '/stats/history',
      {
        schema: {
          tags: ['ops'],
          summary: 'Task rates minute by minute over the last hour: submitted, succeeded, failed per second',
          description:
            'From the minute snapshots of the counters (taken once a minute by whichever API replica comes first): one interval per pair of neighbouring snapshots, oldest first, the last one up to now. A deployment younger than `minutes` has fewer points. Optionally for one queue or task name.',
          querystring: StatsHistoryQuery,
          response: { 200: StatsHistorySchema, ...problems(400, 401, 503) },
        },
      },
      async (request) => statsHistory(deps.store, request.query),
    );

    app.delete(
      '/stats',
      {
        schema: {
          tags: ['ops'],
          summary: 'Reset the statistics: GET /stats counts from now',
          description: 'GET /stats and GET /health/tasks count from the reset; /metrics does not change (Prometheus counters only go up; use increase() or rate()).',
          response: { 200: z.object({ reset_at: z.string() }), ...problems(401, 403, 503) },
        },
        config: { access: 'admin' },
      },
      async () => {
        const nowMs = Date.now();
        await deps.store.stats.reset(nowMs);
        return { reset_at: new Date(nowMs).toISOString() };
      },
    );

    app.get(
      '/health/tasks',
      {
        schema: {
          tags: ['ops'],
          summary: 'Task health: ok, warning or critical, with the reasons',
          description:
            'Failure rate over the last HEALTH_FAILURE_WINDOW minutes against HEALTH_FAILURE_WARN / HEALTH_FAILURE_CRIT, tasks running longer than HEALTH_LONG_RUNNING, queue backlogs above HEALTH_BACKLOG_WARN, queues with messages and no consumer. The report is a 200 whatever its status (alert on `status`); a 503 means Redis did not answer.',
          response: { 200: TaskHealthSchema, ...problems(401, 503) },
        },
      },
      async () => taskHealth(deps.store, await cluster.read(), deps.config),
    );
  };
}
