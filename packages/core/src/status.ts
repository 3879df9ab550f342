/** Task statuses (DESIGN.md "Status"). A finished task never changes again. */
export const TASK_STATUSES = ['pending', 'scheduled', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'expired'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const FINISHED_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'];

export function isFinished(status: TaskStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

/**
 * The allowed edges of the status machine. `running → running` is a redelivery after a worker died;
 * `running → pending` is a worker shutting down and handing the task back to its queue.
 * `expired`: a task with `expires` that had not started by then (a worker refuses to start it).
 * `pending → failed`: its delivery could not be handled WORKER_HANDLER_FAILURE_LIMIT times in a row
 * (Redis answering errors, a bug): the message was parked and the task is dead-lettered.
 */
const TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ['running', 'scheduled', 'cancelled', 'expired', 'failed'],
  scheduled: ['pending', 'running', 'cancelled', 'expired'],
  running: ['running', 'pending', 'scheduled', 'succeeded', 'failed', 'timed_out', 'cancelled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  expired: [],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}
