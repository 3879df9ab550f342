import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { AbortReason, ChannelMessage, ExecutionRequest, ExecutionResult, ThreadData } from './execution-protocol.js';

export interface ExecutionPoolOptions {
  threads: number;
  jobsRoot: string;
  logLevel: string;
}

export interface ExecutionPool {
  /** Resolves once every thread has loaded and listens for aborts. */
  ready(): Promise<void>;
  /** Runs a job in a thread. `kill` aborting terminates that thread (the pool replaces it). */
  run(request: ExecutionRequest, kill: AbortSignal): Promise<ExecutionResult>;
  /** Aborts the job's own signal (cooperative): cancel or soft time limit. */
  abort(taskId: string, reason: AbortReason): void;
  onProgress(listener: (update: Extract<ChannelMessage, { type: 'progress' }>) => void): void;
  close(): Promise<void>;
}

/**
 * Jobs run in a piscina pool of worker threads, one task per thread at a time: a job that ignores
 * its signal can be killed without taking the worker down, and the dispatch costs tens of µs.
 */
export function createExecutionPool(options: ExecutionPoolOptions): ExecutionPool {
  const channelName = `celerity-exec-${randomUUID()}`;
  const threadData: ThreadData = { jobsRoot: options.jobsRoot, channelName, logLevel: options.logLevel };
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
  let progressListener: ((update: Extract<ChannelMessage, { type: 'progress' }>) => void) | undefined;
  /** aborts of tasks still in flight, repeated whenever a (replacement) thread comes up */
  const requestedAborts = new Map<string, AbortReason>();
  let readyThreads = 0;
  let onAllReady: (() => void) | undefined;
  const allReady = new Promise<void>((resolve) => (onAllReady = resolve));
  channel.onmessage = (event) => {
    const message = (event as { data: ChannelMessage }).data;
    if (message.type === 'progress') progressListener?.(message);
    else if (message.type === 'ready') {
      readyThreads += 1;
      if (readyThreads >= options.threads) onAllReady?.();
      for (const [taskId, reason] of requestedAborts) channel.postMessage({ type: 'abort', taskId, reason } satisfies ChannelMessage);
    }
  };

  return {
    ready: () => allReady,
    run(request, kill) {
      const running = pool.run(request, { signal: kill }) as Promise<ExecutionResult>;
      return running.finally(() => requestedAborts.delete(request.taskId));
    },
    abort(taskId, reason) {
      requestedAborts.set(taskId, reason);
      channel.postMessage({ type: 'abort', taskId, reason } satisfies ChannelMessage);
    },
    onProgress(listener) {
      progressListener = listener;
    },
    async close() {
      channel.close();
      await pool.close({ force: true });
    },
  };
}
