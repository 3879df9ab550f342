import { AppError, fireSubmission, fireTaskId, IdempotencyConflictError, newTraceId, type Logger, type ScheduleSpec } from '@celerity/core';
import type { Producer } from '@celerity/producer';
import type { TaskStore } from '@celerity/store';

export interface FireDeps {
  store: TaskStore;
  producer: Producer;
  log: Logger;
  now(): number;
}

export type FireOutcome = 'fired' | 'refused' | 'retry';

/**
 * Submits one claimed fire through the producer, as an ordinary task (record, events, callbacks,
 * dead letters). Its task id is derived from the schedule and fire time, and its Idempotency-Key
 * too, so a fire that is tried again (its beat died, or the broker was down) finds the task
 * already there instead of making a second. The key is `beat:<schedule>:<fire time ms>`, apart from
 * clients' keys (`client:…`), so no request can take a fire's key first.
 */
export async function fire(spec: ScheduleSpec, fireAtMs: number, deps: FireDeps): Promise<FireOutcome> {
  const taskId = fireTaskId(spec.name, fireAtMs);
  const fireAt = new Date(fireAtMs);
  const log = deps.log.child({ schedule_id: spec.name, fire_at: fireAt.toISOString(), task_id: taskId });
  const schedules = deps.store.schedules;
  try {
    if (await deps.store.get(taskId)) {
      await schedules.complete(spec.name, fireAtMs, { taskId, firedAt: new Date(deps.now()) });
      log.info('fire already submitted (taken over after its beat stopped)');
      return 'fired';
    }
    const { record, replayed } = await deps.producer.submit(fireSubmission(spec, fireAt), newTraceId(), `beat:${spec.name}:${fireAtMs}`, taskId);
    await schedules.complete(spec.name, fireAtMs, { taskId: record.id, firedAt: new Date(deps.now()) });
    log.info({ replayed, late_ms: deps.now() - fireAtMs, queue: record.queue }, 'schedule fired');
    return 'fired';
  } catch (err) {
    // another beat is submitting this fire right now, or an outage: the claim's lease runs out and it is tried again
    if (err instanceof IdempotencyConflictError || !(err instanceof AppError) || err.retryable) {
      log.warn({ err }, 'fire not submitted; tried again when its claim expires');
      return 'retry';
    }
    // the task itself is refused (a job removed, an input that no longer validates): trying again cannot help
    await schedules.complete(spec.name, fireAtMs, { error: { type: err.code, message: err.message }, firedAt: new Date(deps.now()) });
    log.error({ err, code: err.code }, 'fire refused: its task is not valid');
    return 'refused';
  }
}
