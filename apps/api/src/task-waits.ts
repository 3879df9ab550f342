import { isFinished, TaskNotFoundError, type TaskRecord } from '@celerity/core';
import type { TaskStore } from '@celerity/store';

/**
 * Long polls (GET /tasks/:id?wait=N, POST /tasks?wait=N): answer as soon as the task is finished, or
 * with its current record after N seconds. A waiter costs a listener on the store's one pub/sub
 * connection per process (store.events.watch, which marks the task watched so its final status is
 * published), a timer and a promise: no Redis reads while it waits. The record is read once before
 * watching, once after (a task that finished in between is not missed), and once at the end. A final
 * event lost while the subscriber reconnected only delays the answer to the end of the wait.
 */
export function createTaskWaits(store: TaskStore) {
  /** wake-ups of the waits under way, so a shutting-down API answers them at once */
  const pending = new Set<() => void>();

  return {
    /** The record once finished, or as it is after `seconds`; TaskNotFoundError for an unknown id. */
    async waitFor(id: string, seconds: number, known?: TaskRecord): Promise<TaskRecord> {
      const first = known ?? (await store.get(id));
      if (!first) throw new TaskNotFoundError(`no task ${id} (unknown, or expired after RESULT_EXPIRES)`);
      if (isFinished(first.status) || seconds <= 0) return first;

      let wake!: () => void;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const unwatch = await store.events.watch(id, (entry) => {
        if (entry.event.type === 'status' && isFinished(entry.event.status)) wake();
      });
      const timer = setTimeout(wake, seconds * 1000);
      pending.add(wake);
      try {
        const now = await store.get(id); // finished between the first read and the watch?
        if (now && isFinished(now.status)) return now;
        await woken;
        return (await store.get(id)) ?? now ?? first;
      } finally {
        clearTimeout(timer);
        pending.delete(wake);
        await unwatch();
      }
    },

    /** Waits under way (for tests and measurements). */
    get size(): number {
      return pending.size;
    },

    /** Answers every wait under way now, with the record as it is (the API is shutting down). */
    releaseAll(): void {
      for (const wake of pending) wake();
    },
  };
}
export type TaskWaits = ReturnType<typeof createTaskWaits>;
