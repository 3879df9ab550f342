import type { Logger, TaskProgress } from '@celerity/core';
import type { TaskStore } from '@celerity/store';

/**
 * Coalesces progress reports: a job calling ctx.progress() in a tight loop costs at most one
 * Redis write per task per interval, and the last value always lands.
 */
export function createProgressWriter(store: TaskStore, log: Logger, intervalMs = 200) {
  const pending = new Map<string, TaskProgress>();
  /** tasks whose final progress is written: late events for them are ignored */
  const settled = new Set<string>();
  /** what was last stored per task, so the final report that repeats it costs no second write and event */
  const written = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;

  async function write(id: string, progress: TaskProgress): Promise<void> {
    const text = JSON.stringify(progress);
    if (written.get(id) === text) return;
    await store.setProgress(id, progress).then(
      () => written.set(id, text),
      (err: unknown) => log.warn({ err, task_id: id }, 'progress not stored'),
    );
  }

  function flushAll(): void {
    timer = undefined;
    const batch = [...pending];
    pending.clear();
    for (const [id, progress] of batch) void write(id, progress);
  }

  return {
    report(id: string, progress: TaskProgress): void {
      if (settled.has(id)) return;
      pending.set(id, progress);
      timer ??= setTimeout(flushAll, intervalMs);
    },
    /** Writes a task's final report now (before its outcome is stored) and ignores any later event for it. */
    async settle(id: string, last: TaskProgress | undefined): Promise<void> {
      settled.add(id);
      const progress = last ?? pending.get(id);
      pending.delete(id);
      if (progress) await write(id, progress);
    },
    /** The outcome is stored: a still later event is refused by Redis (the task is no longer running). */
    forget(id: string): void {
      settled.delete(id);
      written.delete(id);
    },
    close(): void {
      if (timer) clearTimeout(timer);
      pending.clear();
      settled.clear();
      written.clear();
    },
  };
}
export type ProgressWriter = ReturnType<typeof createProgressWriter>;
