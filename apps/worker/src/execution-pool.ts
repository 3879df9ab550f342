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
  channel.onmessage = (event) => {
    const message = (event as { data: ChannelMessage }).data;
    if (message.type === 'progress') progressListener?.(message);
  };

  return {
    run(request, kill) {
      return pool.run(request, { signal: kill }) as Promise<ExecutionResult>;
    },
    abort(taskId, reason) {
      const message: ChannelMessage = { type: 'abort', taskId, reason };
      channel.postMessage(message);
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
