import type { Logger, TaskProgress } from '@celerity/core';
import type { TaskStore } from '@celerity/store';

/**
 * Coalesces progress reports: a job calling ctx.progress() in a tight loop costs at most one
 * Redis write per task per interval, and the last value always lands.
 */
export function createProgressWriter(store: TaskStore, log: Logger, intervalMs = 200) {
  const pending = new Map<string, TaskProgress>();
  let timer: NodeJS.Timeout | undefined;

  async function write(id: string, progress: TaskProgress): Promise<void> {
    await store.setProgress(id, progress).catch((err: unknown) => log.warn({ err, task_id: id }, 'progress not stored'));
  }

  function flushAll(): void {
    timer = undefined;
    const batch = [...pending];
    pending.clear();
    for (const [id, progress] of batch) void write(id, progress);
  }

  return {
    report(id: string, progress: TaskProgress): void {
      pending.set(id, progress);
      timer ??= setTimeout(flushAll, intervalMs);
    },
    /** Writes a task's last pending report now (before its outcome is stored). */
    async flush(id: string): Promise<void> {
      const progress = pending.get(id);
      if (!progress) return;
      pending.delete(id);
      await write(id, progress);
    },
    close(): void {
      if (timer) clearTimeout(timer);
      pending.clear();
    },
  };
}
export type ProgressWriter = ReturnType<typeof createProgressWriter>;
