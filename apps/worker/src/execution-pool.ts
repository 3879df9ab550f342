import { Worker } from 'node:worker_threads';
import { WORKER_FAILURE, type ErrorPayload } from '@celerity/core';
import { executionKey, type AbortReason, type ExecutionRequest, type ExecutionResult, type FromThread, type ProgressUpdate, type ThreadData, type ToThread } from './execution-protocol.js';

export interface ExecutionPoolOptions {
  /** WORKER_THREADS: execution threads */
  threads: number;
  /** executions one thread runs at once (async jobs interleave on its event loop) */
  tasksPerThread: number;
  jobsRoot: string;
  logLevel: string;
  /** TASK_RETRY_DELAY and TASK_RETRY_DELAY_MAX in ms, for jobs with retry delays of their own */
  retryDelayMs: number;
  retryDelayMaxMs: number;
  /** WORKER_MAX_TASKS_PER_CHILD: replace a thread once it has run this many tasks */
  maxTasksPerThread?: number | undefined;
  /** WORKER_MAX_MEMORY_PER_CHILD: replace a thread once its heap passes this many MB after a task */
  maxHeapMbPerThread?: number | undefined;
  /** told when a thread is replaced, and why */
  onRecycle?: (reason: 'tasks' | 'memory' | 'killed' | 'crashed') => void;
}

export interface ExecutionPool {
  /** Resolves once every thread is up. */
  ready(): Promise<void>;
  /** Runs a job in a thread. */
  run(request: ExecutionRequest): Promise<ExecutionResult>;
  /**
   * Stops an execution that ignores its signal by terminating its thread: it ends with an error, and
   * the other executions on that thread end `interrupted` (they did not fail; run them again).
   */
  kill(taskId: string, attempt: number): void;
  /** Aborts the job's own signal (cooperative): cancel, soft time limit or shutdown. */
  abort(taskId: string, attempt: number, reason: AbortReason): void;
  onProgress(listener: (update: ProgressUpdate) => void): void;
  /** force: terminate running executions now; otherwise wait for them first */
  close(force: boolean): Promise<void>;
}

interface Execution {
  request: ExecutionRequest;
  resolve(result: ExecutionResult): void;
  thread?: ExecutionThread;
}

interface ExecutionThread {
  worker: Worker;
  running: Map<string, Execution>;
  /** requests to post at the end of this turn, as one message */
  outbox: ExecutionRequest[];
  tasksRun: number;
  /** takes no new executions; replaced once its running ones are done */
  retiring: boolean;
  online: Promise<void>;
}

const interruption = (why: string): ErrorPayload => ({ type: WORKER_FAILURE.EXECUTION_INTERRUPTED, message: why, retryable: true });

/**
 * Execution threads (node:worker_threads), each running several executions at once. Hand-rolled
 * rather than a pool library because of what it must do per execution that pools do per thread:
 * kill one execution's thread and tell its neighbours they were interrupted (not failed), carry
 * aborts to the one thread running an execution, and batch runs, results and progress of one turn
 * into one message each way, so the hop costs a message per batch rather than per task.
 *
 * Recycling (Celery's max-tasks/max-memory-per-child): a thread past its limit takes no new tasks, a
 * replacement starts at once, and the old one is terminated when its last execution is done.
 */
export function createExecutionPool(options: ExecutionPoolOptions): ExecutionPool {
  const threadData: ThreadData = {
    jobsRoot: options.jobsRoot,
    logLevel: options.logLevel,
    measureHeap: options.maxHeapMbPerThread !== undefined,
    retryDelayMs: options.retryDelayMs,
    retryDelayMaxMs: options.retryDelayMaxMs,
  };
  const threads = new Set<ExecutionThread>();
  /** executions waiting for room in a thread (only while a replacement thread starts) */
  const waiting: Execution[] = [];
  const byKey = new Map<string, Execution>();
  let progressListener: ((update: ProgressUpdate) => void) | undefined;
  let closing = false;

  function startThread(): ExecutionThread {
    const worker = new Worker(new URL('./execution-thread.js', import.meta.url), { workerData: threadData });
    const thread: ExecutionThread = {
      worker,
      running: new Map(),
      outbox: [],
      tasksRun: 0,
      retiring: false,
      online: new Promise((resolve) => worker.once('online', () => resolve())),
    };
    worker.on('message', (message: FromThread) => {
      if (message.type === 'progress') {
        for (const update of message.updates) progressListener?.(update);
        return;
      }
      for (const { taskId, attempt, result } of message.results) {
        const key = executionKey(taskId, attempt);
        const execution = thread.running.get(key);
        if (!execution) continue;
        thread.running.delete(key);
        thread.tasksRun += 1;
        settle(execution, result);
        if (!thread.retiring && options.maxHeapMbPerThread !== undefined && (result.heapUsedMb ?? 0) > options.maxHeapMbPerThread) retire(thread, 'memory');
        else if (!thread.retiring && options.maxTasksPerThread !== undefined && thread.tasksRun >= options.maxTasksPerThread) retire(thread, 'tasks');
      }
      if (thread.retiring && thread.running.size === 0) void stopThread(thread);
      dispatchWaiting();
    });
    // a thread that dies on its own (a job crashed it): its executions failed; a new thread takes over
    worker.on('error', (err) => endThread(thread, { ok: false, error: { type: WORKER_FAILURE.EXECUTION_THREAD_CRASHED, message: `the execution thread crashed: ${err.message}`, retryable: true } }, 'crashed'));
    worker.on('exit', () => endThread(thread, { ok: false, error: { type: WORKER_FAILURE.EXECUTION_THREAD_CRASHED, message: 'the execution thread exited', retryable: true } }, 'crashed'));
    threads.add(thread);
    return thread;
  }

  function settle(execution: Execution, result: ExecutionResult): void {
    const key = executionKey(execution.request.taskId, execution.request.attempt);
    if (byKey.get(key) === execution) byKey.delete(key);
    execution.resolve(result);
  }

  /** The thread is gone: whatever still ran there ends with `result`; a replacement starts unless closing. */
  function endThread(thread: ExecutionThread, result: ExecutionResult, reason: 'killed' | 'crashed'): void {
    if (!threads.delete(thread)) return;
    for (const execution of thread.running.values()) settle(execution, result); // the outbox's are among them
    thread.running.clear();
    thread.outbox = [];
    if (closing) return;
    if (!thread.retiring) {
      options.onRecycle?.(reason);
      startThread();
    }
    dispatchWaiting();
  }

  function retire(thread: ExecutionThread, reason: 'tasks' | 'memory'): void {
    thread.retiring = true;
    options.onRecycle?.(reason);
    startThread();
  }

  async function stopThread(thread: ExecutionThread): Promise<void> {
    threads.delete(thread);
    await thread.worker.terminate();
  }

  /** The thread with the most room, or undefined when all are full. */
  function pickThread(): ExecutionThread | undefined {
    let best: ExecutionThread | undefined;
    for (const thread of threads) {
      if (thread.retiring || thread.running.size >= options.tasksPerThread) continue;
      if (!best || thread.running.size < best.running.size) best = thread;
    }
    return best;
  }

  function assign(execution: Execution, thread: ExecutionThread): void {
    execution.thread = thread;
    thread.running.set(executionKey(execution.request.taskId, execution.request.attempt), execution);
    thread.outbox.push(execution.request);
    if (thread.outbox.length === 1) {
      setImmediate(() => {
        if (thread.outbox.length === 0) return;
        const requests = thread.outbox;
        thread.outbox = [];
        thread.worker.postMessage({ type: 'run', requests } satisfies ToThread);
      });
    }
  }

  function dispatchWaiting(): void {
    while (waiting.length > 0) {
      const thread = pickThread();
      if (!thread) return;
      assign(waiting.shift()!, thread);
    }
  }

  for (let i = 0; i < options.threads; i += 1) startThread();

  return {
    async ready() {
      await Promise.all([...threads].map((t) => t.online));
    },

    run(request) {
      return new Promise<ExecutionResult>((resolve) => {
        const execution: Execution = { request, resolve };
        byKey.set(executionKey(request.taskId, request.attempt), execution);
        const thread = pickThread();
        if (thread) assign(execution, thread);
        else waiting.push(execution);
      });
    },

    kill(taskId, attempt) {
      const execution = byKey.get(executionKey(taskId, attempt));
      if (!execution) return;
      const killed: ExecutionResult = { ok: false, error: { type: 'AbortError', message: 'execution terminated', retryable: false } };
      const thread = execution.thread;
      if (!thread) {
        waiting.splice(waiting.indexOf(execution), 1); // never started: nothing else to stop
        return settle(execution, killed);
      }
      if (!threads.has(thread)) return;
      // this execution failed (killed); its neighbours were only interrupted
      thread.running.delete(executionKey(taskId, attempt));
      settle(execution, killed);
      endThread(thread, { ok: false, interrupted: true, error: interruption('its execution thread was terminated to stop another task') }, 'killed');
      void thread.worker.terminate();
    },

    abort(taskId, attempt, reason) {
      const execution = byKey.get(executionKey(taskId, attempt));
      if (!execution) return;
      const thread = execution.thread;
      if (!thread || thread.outbox.includes(execution.request)) {
        execution.request.abortedBy ??= reason; // not posted yet: it starts aborted
        return;
      }
      thread.worker.postMessage({ type: 'abort', taskId, attempt, reason } satisfies ToThread);
    },

    onProgress(listener) {
      progressListener = listener;
    },

    async close(force) {
      closing = true;
      if (!force) {
        while ([...threads].some((t) => t.running.size > 0)) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const execution of waiting.splice(0)) settle(execution, { ok: false, interrupted: true, error: interruption('the worker shut down') });
      const all = [...threads];
      for (const thread of all) endThread(thread, { ok: false, interrupted: true, error: interruption('the worker shut down') }, 'killed');
      await Promise.all(all.map((t) => t.worker.terminate()));
    },
  };
}
