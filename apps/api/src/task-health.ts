import { z } from 'zod';
import type { Env } from '@celerity/core';
import type { TaskStore } from '@celerity/store';
import type { ClusterReading } from './cluster-stats.js';
import { failureRateOver } from './stats-report.js';

const Level = z.enum(['warning', 'critical']);

export const TaskHealthSchema = z
  .object({
    status: z.enum(['ok', 'warning', 'critical']).describe('the worst level among the reasons; ok without any'),
    at: z.string(),
    reasons: z.array(
      z.object({
        level: Level,
        code: z.enum(['FAILURE_RATE', 'LONG_RUNNING', 'BACKLOG', 'NO_CONSUMER', 'BROKER_UNREACHABLE']),
        message: z.string(),
        queue: z.string().optional(),
        task_ids: z.array(z.string()).optional(),
      }),
    ),
    failure_rate: z.object({
      window_minutes: z.number().int(),
      since: z.string().nullable().describe('where the window starts (later than window_minutes ago while the deployment is younger, or after a reset)'),
      finished: z.number().int(),
      rate: z.number().nullable(),
      warn: z.number(),
      critical: z.number(),
    }),
    long_running: z.array(z.object({ id: z.string(), queue: z.string(), started_at: z.string(), running_seconds: z.number() })).describe(`running longer than HEALTH_LONG_RUNNING, oldest first (at most ${50})`),
    queues: z.record(z.string(), z.object({ ready: z.number().int().nullable(), consumers: z.number().int().nullable(), running: z.number().int() })),
  })
  .meta({ id: 'TaskHealth' });
export type TaskHealth = z.output<typeof TaskHealthSchema>;
type Reason = TaskHealth['reasons'][number];

const LONG_RUNNING_LISTED = 50;
const IDS_IN_MESSAGE = 5;

export type HealthThresholds = Pick<
  Env,
  'HEALTH_FAILURE_WINDOW' | 'HEALTH_FAILURE_MIN_TASKS' | 'HEALTH_FAILURE_WARN' | 'HEALTH_FAILURE_CRIT' | 'HEALTH_LONG_RUNNING' | 'HEALTH_BACKLOG_WARN'
>;

/**
 * GET /health/tasks: ok, warning or critical, with the reasons: the failure rate over the last
 * HEALTH_FAILURE_WINDOW minutes, tasks running longer than HEALTH_LONG_RUNNING, queues whose backlog
 * passes HEALTH_BACKLOG_WARN, and queues with messages that no worker consumes.
 */
export async function taskHealth(store: TaskStore, reading: ClusterReading, t: HealthThresholds): Promise<TaskHealth> {
  const nowMs = reading.atMs;
  const reasons: Reason[] = [];

  const failure = await failureRateOver(store, reading.raw, t.HEALTH_FAILURE_WINDOW, nowMs);
  if (failure.failureRate !== null && failure.finished >= t.HEALTH_FAILURE_MIN_TASKS) {
    const level = failure.failureRate >= t.HEALTH_FAILURE_CRIT ? 'critical' : failure.failureRate >= t.HEALTH_FAILURE_WARN ? 'warning' : null;
    if (level) {
      const limit = level === 'critical' ? t.HEALTH_FAILURE_CRIT : t.HEALTH_FAILURE_WARN;
      reasons.push({
        level,
        code: 'FAILURE_RATE',
        message: `${percent(failure.failureRate)} of the ${failure.finished} tasks finished in the last ${t.HEALTH_FAILURE_WINDOW} min failed or timed out (${level} at ${percent(limit)})`,
      });
    }
  }

  const long = await store.stats.runningSince(reading.queues, nowMs - t.HEALTH_LONG_RUNNING * 1000, LONG_RUNNING_LISTED);
  const longRunning = long.slice(0, LONG_RUNNING_LISTED).map((r) => ({ id: r.id, queue: r.queue, started_at: new Date(r.startedMs).toISOString(), running_seconds: Math.round((nowMs - r.startedMs) / 1000) }));
  if (longRunning.length > 0) {
    const ids = longRunning.map((r) => r.id);
    reasons.push({
      level: 'warning',
      code: 'LONG_RUNNING',
      message: `${ids.length}${ids.length === LONG_RUNNING_LISTED ? '+' : ''} task(s) running longer than ${t.HEALTH_LONG_RUNNING} s: ${ids.slice(0, IDS_IN_MESSAGE).join(', ')}${ids.length > IDS_IN_MESSAGE ? ', …' : ''}`,
      task_ids: ids,
    });
  }

  if (reading.broker.size === 0 && reading.queues.length > 0) {
    reasons.push({ level: 'critical', code: 'BROKER_UNREACHABLE', message: 'RabbitMQ did not answer: queue backlogs and consumers unknown' });
  }
  for (const [queue, q] of reading.broker) {
    if (q.ready > 0 && q.consumers === 0) {
      reasons.push({ level: 'critical', code: 'NO_CONSUMER', queue, message: `queue ${queue} has ${q.ready} message(s) and no worker consuming it` });
    }
    if (q.ready > t.HEALTH_BACKLOG_WARN) {
      reasons.push({ level: 'warning', code: 'BACKLOG', queue, message: `queue ${queue} has ${q.ready} messages waiting (warning above ${t.HEALTH_BACKLOG_WARN})` });
    }
  }

  const status = reasons.some((r) => r.level === 'critical') ? 'critical' : reasons.length > 0 ? 'warning' : 'ok';
  return {
    status,
    at: new Date(nowMs).toISOString(),
    reasons,
    failure_rate: {
      window_minutes: t.HEALTH_FAILURE_WINDOW,
      since: failure.since === null ? null : new Date(failure.since).toISOString(),
      finished: failure.finished,
      rate: failure.failureRate,
      warn: t.HEALTH_FAILURE_WARN,
      critical: t.HEALTH_FAILURE_CRIT,
    },
    long_running: longRunning,
    queues: Object.fromEntries(
      reading.queues.map((queue) => [queue, { ready: reading.broker.get(queue)?.ready ?? null, consumers: reading.broker.get(queue)?.consumers ?? null, running: reading.running.get(queue) ?? 0 }]),
    ),
  };
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
