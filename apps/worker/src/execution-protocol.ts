import type { ErrorPayload, TaskProgress } from '@celerity/core';

/** What the worker's main thread sends an execution thread for one task. */
export interface ExecutionRequest {
  taskId: string;
  task: string;
  traceId: string;
  attempt: number;
  input: unknown;
  /** for the job's context (ctx.queue, ctx.priority, ctx.metadata) */
  queue: string;
  priority: number;
  metadata: Record<string, unknown> | null;
  /** set when the execution was aborted before it reached the thread (a cancel right after the claim) */
  abortedBy?: AbortReason;
}

/**
 * The result is gzip-encoded in the thread, off the worker's main thread. `lastProgress` travels with
 * the result because progress reports may still be on their way: the final report must not be lost.
 * `interrupted`: the execution never finished because its thread was terminated for ANOTHER task
 * (hard time limit, terminate) or for shutdown; it did not fail and should run again elsewhere.
 */
export type ExecutionResult = ({ ok: true; resultGzip: Uint8Array } | { ok: false; error: ErrorPayload; interrupted?: boolean }) & {
  lastProgress?: TaskProgress;
  /** the thread's V8 heap after the task, for WORKER_MAX_MEMORY_PER_CHILD */
  heapUsedMb?: number;
};

export type AbortReason = 'cancelled' | 'soft_time_limit' | 'shutdown';

export interface ProgressUpdate extends TaskProgress {
  taskId: string;
}

/**
 * Messages between the main thread and one execution thread, on that thread's own port: an abort
 * reaches exactly the thread that runs the execution, and within it the execution it names
 * (task id + attempt). Runs, results and progress reports of one event-loop turn travel as one message.
 */
export type ToThread =
  | { type: 'run'; requests: ExecutionRequest[] }
  | { type: 'abort'; taskId: string; attempt: number; reason: AbortReason };

export type FromThread =
  | { type: 'done'; results: { taskId: string; attempt: number; result: ExecutionResult }[] }
  | { type: 'progress'; updates: ProgressUpdate[] };

export interface ThreadData {
  jobsRoot: string;
  logLevel: string;
  /** measure the heap after each task (only when WORKER_MAX_MEMORY_PER_CHILD is set) */
  measureHeap: boolean;
  /** TASK_RETRY_DELAY / TASK_RETRY_DELAY_MAX in ms: the backoff of a job that sets only one of retryDelay, retryDelayMax */
  retryDelayMs: number;
  retryDelayMaxMs: number;
}

/** One execution: a task id and its attempt, as a map key. */
export const executionKey = (taskId: string, attempt: number): string => `${taskId}#${attempt}`;
