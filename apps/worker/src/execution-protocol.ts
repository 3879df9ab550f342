import type { ErrorPayload } from '@celerity/core';

/** What the worker's main thread sends an execution thread for one task. */
export interface ExecutionRequest {
  taskId: string;
  task: string;
  traceId: string;
  attempt: number;
  input: unknown;
}

import type { TaskProgress } from '@celerity/core';

/**
 * The result is gzip-encoded in the thread, off the worker's main thread. `lastProgress` travels with the result because progress events use another channel and may
 * arrive after it: the final report must not be lost.
 */
export type ExecutionResult = ({ ok: true; resultGzip: Uint8Array } | { ok: false; error: ErrorPayload }) & {
  lastProgress?: TaskProgress;
  /** the thread's V8 heap after the task, for WORKER_MAX_MEMORY_PER_CHILD */
  heapUsedMb?: number;
};

export type AbortReason = 'cancelled' | 'soft_time_limit' | 'shutdown';

/** Messages on the pool's BroadcastChannel, in both directions. */
export type ChannelMessage =
  /** `attempt` names the execution aborted; without it (a cancel before the claim) any attempt of the task */
  | { type: 'abort'; taskId: string; attempt?: number | undefined; reason: AbortReason }
  | { type: 'ready' }
  | { type: 'progress'; taskId: string; percent: number; message: string | null; data: unknown };

export interface ThreadData {
  jobsRoot: string;
  channelName: string;
  logLevel: string;
  /** measure the heap after each task (only when WORKER_MAX_MEMORY_PER_CHILD is set) */
  measureHeap: boolean;
}
