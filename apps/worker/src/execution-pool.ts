import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { AbortReason, ChannelMessage, ExecutionRequest, ExecutionResult, ThreadData } from './execution-protocol.js';

export interface ExecutionPoolOptions {
  threads: number;
  jobsRoot: string;
  logLevel: string;
  /** WORKER_MAX_TASKS_PER_CHILD: replace the threads after about this many tasks each */
  maxTasksPerThread?: number | undefined;
  /** WORKER_MAX_MEMORY_PER_CHILD: replace the threads once one's heap passes this many MB after a task */
  maxHeapMbPerThread?: number | undefined;
  /** told when the threads are replaced, and why */
  onRecycle?: (reason: 'tasks' | 'memory') => void;
}

export interface ExecutionPool {
  /** Resolves once every thread has loaded and listens for aborts. */
  ready(): Promise<void>;
  /** Runs a job in a thread. `kill` aborting terminates that thread (the pool replaces it). */
  run(request: ExecutionRequest, kill: AbortSignal): Promise<ExecutionResult>;
  /** Aborts the job's own signal (cooperative): cancel or soft time limit. */
  /** `attempt`: the execution to abort, when known (a cancel can come before the claim) */
  abort(taskId: string, reason: AbortReason, attempt?: number): void;
  onProgress(listener: (update: Extract<ChannelMessage, { type: 'progress' }>) => void): void;
  close(): Promise<void>;
}

/**
 * Jobs run in a piscina pool of worker threads, one task per thread at a time: a job that ignores
 * its signal can be killed without taking the worker down, and the dispatch costs tens of µs.
 *
 * Recycling (Celery's max-tasks/max-memory-per-child): piscina cannot retire one thread after a
 * task, so the pool is replaced as a whole — a new set of threads takes new tasks while the old
 * set finishes what it runs and closes. Tasks per thread are therefore counted per pool
 * (tasks ÷ threads), and memory is each thread's V8 heap as reported with its result.
 */
export function createExecutionPool(options: ExecutionPoolOptions): ExecutionPool {
  type ThreadPool = ReturnType<typeof createThreadPool>;
  let progressListener: ((update: Extract<ChannelMessage, { type: 'progress' }>) => void) | undefined;
  const onProgress = (update: Extract<ChannelMessage, { type: 'progress' }>) => progressListener?.(update);
  let current: ThreadPool = createThreadPool(options, onProgress);
  let started = 0;
  /** which pool runs each task, so an abort reaches a retired pool's thread too */
  const poolOf = new Map<string, ThreadPool>();
  const retiring = new Set<Promise<void>>();

  function recycle(reason: 'tasks' | 'memory'): void {
    const old = current;
    current = createThreadPool(options, onProgress);
    started = 0;
    options.onRecycle?.(reason);
    const closing = old.close(false).finally(() => retiring.delete(closing));
    retiring.add(closing);
  }

  return {
    ready: () => current.ready(),
    async run(request, kill) {
      const pool = current;
      started += 1;
      poolOf.set(request.taskId, pool);
      try {
        const result = await pool.run(request, kill);
        if (pool === current) {
          if (options.maxHeapMbPerThread !== undefined && (result.heapUsedMb ?? 0) > options.maxHeapMbPerThread) recycle('memory');
          else if (options.maxTasksPerThread !== undefined && started >= options.maxTasksPerThread * options.threads) recycle('tasks');
        }
        return result;
      } finally {
        poolOf.delete(request.taskId);
      }
    },
    abort(taskId, reason, attempt) {
      (poolOf.get(taskId) ?? current).abort(taskId, reason, attempt);
    },
    onProgress(listener) {
      progressListener = listener;
    },
    async close() {
      await Promise.all([current.close(true), ...retiring]);
    },
  };
}

function createThreadPool(options: ExecutionPoolOptions, onProgress: (update: Extract<ChannelMessage, { type: 'progress' }>) => void) {
  const channelName = `celerity-exec-${randomUUID()}`;
  const threadData: ThreadData = { jobsRoot: options.jobsRoot, channelName, logLevel: options.logLevel, measureHeap: options.maxHeapMbPerThread !== undefined };
  const pool = new Piscina({
    filename: new URL('./execution-thread.js', import.meta.url).href,
    minThreads: options.threads,
    maxThreads: options.threads,
    concurrentTasksPerWorker: 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData: threadData,
  });
  const channel = new BroadcastChannel(channelName);
  channel.unref();
  /** aborts of tasks still in flight, repeated whenever a (replacement) thread comes up */
  const requestedAborts = new Map<string, { reason: AbortReason; attempt: number | undefined }>();
  let readyThreads = 0;
  let onAllReady: (() => void) | undefined;
  const allReady = new Promise<void>((resolve) => (onAllReady = resolve));
  channel.onmessage = (event) => {
    const message = (event as { data: ChannelMessage }).data;
    if (message.type === 'progress') onProgress(message);
    else if (message.type === 'ready') {
      readyThreads += 1;
      if (readyThreads >= options.threads) onAllReady?.();
      for (const [taskId, { reason, attempt }] of requestedAborts) channel.postMessage({ type: 'abort', taskId, attempt, reason } satisfies ChannelMessage);
    }
  };

  return {
    ready: () => allReady,
    run(request: ExecutionRequest, kill: AbortSignal): Promise<ExecutionResult> {
      const running = pool.run(request, { signal: kill }) as Promise<ExecutionResult>;
      return running.finally(() => requestedAborts.delete(request.taskId));
    },
    abort(taskId: string, reason: AbortReason, attempt: number | undefined): void {
      requestedAborts.set(taskId, { reason, attempt });
      channel.postMessage({ type: 'abort', taskId, attempt, reason } satisfies ChannelMessage);
    },
    /** force: stop running tasks now; otherwise let them finish first */
    async close(force: boolean): Promise<void> {
      await pool.close({ force });
      channel.close();
    },
  };
}
