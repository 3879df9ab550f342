/**
 * Runs inside an execution thread. Jobs run here, several at once (async jobs interleave on this
 * thread's event loop), so that a job that never yields can still be killed (the pool terminates the
 * thread) while the worker's main thread stays responsive.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { pino, type LevelWithSilent } from 'pino';
import {
  backoffDelayMs,
  createJobRegistry,
  encodeResult,
  InvalidJobInputError,
  InvalidJobResultError,
  jobRetries,
  RetryLaterError,
  toErrorPayload,
  type ErrorPayload,
  type JobContext,
  type LoadedJob,
  type Logger,
  type TaskProgress,
} from '@celerity/core';
import { executionKey, type AbortReason, type ExecutionRequest, type ExecutionResult, type FromThread, type ProgressUpdate, type ThreadData, type ToThread } from './execution-protocol.js';

const data = workerData as ThreadData;
const port = parentPort!;
const jobs = createJobRegistry(data.jobsRoot);
const log = pino({ level: data.logLevel as LevelWithSilent, base: { service: 'celerity-worker', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });

/** running executions' abort handles, by executionKey */
const running = new Map<string, LazyAbort>();

/**
 * A job's AbortSignal, made on first use: most jobs never read ctx.signal, and an AbortController per
 * task was a measurable share of a short task's cost. An abort that comes first is kept and applied
 * when the signal is made; the first reason wins, as with AbortController.
 */
class LazyAbort {
  private controller: AbortController | undefined;
  private abortedWith: Error | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    if (this.abortedWith) return;
    this.abortedWith = reason;
    this.controller?.abort(reason);
  }

  throwIfAborted(): void {
    if (this.abortedWith) throw this.abortedWith;
  }
}

// Results and progress reports of one turn go back as one message each.
let results: Extract<FromThread, { type: 'done' }>['results'] = [];
let updates: ProgressUpdate[] = [];
let flushScheduled = false;
function flush(): void {
  flushScheduled = false;
  if (updates.length > 0) port.postMessage({ type: 'progress', updates } satisfies FromThread);
  if (results.length > 0) port.postMessage({ type: 'done', results } satisfies FromThread);
  updates = [];
  results = [];
}
function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flush);
}

port.on('message', (message: ToThread) => {
  if (message.type === 'run') {
    for (const request of message.requests) void execute(request);
  } else {
    running.get(executionKey(message.taskId, message.attempt))?.abort(abortError(message.reason));
  }
});

function heapUsedMb(): number | undefined {
  return data.measureHeap ? Math.round(getHeapStatistics().used_heap_size / 1_048_576) : undefined;
}

function abortError(reason: AbortReason): Error {
  const err = new Error(reason === 'soft_time_limit' ? 'soft time limit exceeded' : `task ${reason}`);
  err.name = reason === 'soft_time_limit' ? 'TimeoutError' : 'AbortError';
  return err;
}

const PROGRESS_POST_MS = 50;

/** ctx.retry: one function for every context (nothing made per task). */
function retry(options: { countdown: number; reason?: string }): never {
  throw new RetryLaterError(options.reason ?? `retry requested by the job in ${options.countdown} s`, Math.max(0, options.countdown) * 1000);
}

/**
 * A failure as the job's own retry options see it: not retryable when retryOn does not cover it (a
 * RetryLaterError always is), and with the job's backoff when it sets retryDelay or retryDelayMax.
 * Runs only on a failure of a job that has such options.
 */
function withJobRetryOptions(error: ErrorPayload, thrown: unknown, job: LoadedJob, attempt: number): ErrorPayload {
  if (!error.retryable || error.retry_delay_ms !== undefined) return error;
  if (!jobRetries(job, thrown)) return { ...error, retryable: false };
  if (job.retryDelay === undefined && job.retryDelayMax === undefined) return error;
  const baseMs = (job.retryDelay ?? data.retryDelayMs / 1000) * 1000;
  const maxMs = (job.retryDelayMax ?? Math.max(data.retryDelayMaxMs / 1000, job.retryDelay ?? 0)) * 1000;
  return { ...error, retry_delay_ms: backoffDelayMs(attempt, { baseMs, maxMs, floorMs: baseMs }) };
}

async function execute(request: ExecutionRequest): Promise<void> {
  const key = executionKey(request.taskId, request.attempt);
  const controller = new LazyAbort();
  if (request.abortedBy) controller.abort(abortError(request.abortedBy));
  running.set(key, controller);
  let lastProgress: TaskProgress | undefined;
  let taskLog: Logger | undefined;
  // First report at once, then at most one per PROGRESS_POST_MS: a job calling progress() in a tight
  // loop must not flood the port. The last value always arrives, with the result if not before.
  let progressTimer: NodeJS.Timeout | undefined;
  let progressUnsent = false;
  const postProgress = () => {
    updates.push({ taskId: request.taskId, ...lastProgress! });
    scheduleFlush();
  };
  const ctx: JobContext = {
    taskId: request.taskId,
    attempt: request.attempt,
    traceId: request.traceId,
    get signal(): AbortSignal {
      return controller.signal;
    },
    // created on first use: most jobs never log, and a pino child per task is not free
    get log(): Logger {
      taskLog ??= log.child({ task_id: request.taskId, trace_id: request.traceId, job: request.task, attempt: request.attempt });
      return taskLog;
    },
    metadata: request.metadata,
    queue: request.queue,
    priority: request.priority,
    retry,
    progress(percent, message, progressData) {
      const bounded = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
      lastProgress = { percent: bounded, message: message ?? null, data: progressData ?? null };
      if (progressTimer) {
        progressUnsent = true;
        return;
      }
      postProgress();
      progressTimer = setTimeout(function flushProgress() {
        progressTimer = undefined;
        if (!progressUnsent) return;
        progressUnsent = false;
        postProgress();
        progressTimer = setTimeout(flushProgress, PROGRESS_POST_MS);
      }, PROGRESS_POST_MS);
    },
  };
  let result: ExecutionResult;
  let job: LoadedJob | undefined;
  try {
    ({ job } = await jobs.resolve(request.task));
    let input = request.input;
    if (job.input) {
      const parsed = job.input.safeParse(input);
      if (!parsed.success) throw new InvalidJobInputError(`input does not match the job's schema: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      input = parsed.data;
    }
    controller.throwIfAborted(); // aborted while the module loaded: do not start the job at all
    const output = await job.run(input, ctx);
    if (job.result) {
      const checked = job.result.safeParse(output);
      if (!checked.success) throw new InvalidJobResultError(`the result does not match the job's result schema: ${checked.error.issues[0]?.message ?? 'invalid'}`);
    }
    result = { ok: true, resultGzip: encodeResult(output) };
  } catch (err) {
    const error = toErrorPayload(err, { jobsRoot: data.jobsRoot });
    const hasRetryOptions = job !== undefined && (job.retryOn !== undefined || job.retryDelay !== undefined || job.retryDelayMax !== undefined);
    result = { ok: false, error: hasRetryOptions ? withJobRetryOptions(error, err, job!, request.attempt) : error };
  } finally {
    running.delete(key);
    clearTimeout(progressTimer);
  }
  if (lastProgress) result.lastProgress = lastProgress;
  if (data.measureHeap) result.heapUsedMb = heapUsedMb();
  results.push({ taskId: request.taskId, attempt: request.attempt, result });
  scheduleFlush();
}
