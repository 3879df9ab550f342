/**
 * Runs inside a piscina worker thread. Jobs run here so that a job that never yields can still be
 * killed (the pool terminates the thread) while the worker's main thread stays responsive.
 */
import { getHeapStatistics } from 'node:v8';
import { BroadcastChannel, workerData } from 'node:worker_threads';
import { pino, type LevelWithSilent } from 'pino';
import { createJobRegistry, encodeResult, InvalidJobInputError, toErrorPayload, type JobContext, type Logger, type TaskProgress } from '@celerity/core';
import type { AbortReason, ChannelMessage, ExecutionRequest, ExecutionResult, ThreadData } from './execution-protocol.js';

const data = workerData as ThreadData;
const jobs = createJobRegistry(data.jobsRoot);
const log = pino({ level: data.logLevel as LevelWithSilent, base: { service: 'celerity-worker', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
const channel = new BroadcastChannel(data.channelName);
channel.unref();

const running = new Map<string, AbortController>();
/**
 * Aborts that arrived before their task reached this thread (the two travel on different ports).
 * Every thread of the pool hears every abort, so an entry names its attempt: a later attempt of the
 * same task (a retry) landing on this thread must not be aborted by an earlier one's leftover.
 */
const earlyAborts = new Map<string, { reason: AbortReason; attempt: number | undefined }>();

channel.onmessage = (event) => {
  const message = (event as { data: ChannelMessage }).data;
  if (message.type !== 'abort') return;
  const controller = running.get(message.taskId);
  if (controller) controller.abort(abortError(message.reason));
  else {
    earlyAborts.set(message.taskId, { reason: message.reason, attempt: message.attempt });
    setTimeout(() => earlyAborts.delete(message.taskId), 60_000).unref();
  }
};

// A BroadcastChannel does not buffer for listeners that do not exist yet: tell the pool we are
// listening, so it can repeat aborts sent while this thread was still loading.
channel.postMessage({ type: 'ready' } satisfies ChannelMessage);

function heapUsedMb(): number | undefined {
  return data.measureHeap ? Math.round(getHeapStatistics().used_heap_size / 1_048_576) : undefined;
}

function abortError(reason: AbortReason): Error {
  const err = new Error(reason === 'soft_time_limit' ? 'soft time limit exceeded' : `task ${reason}`);
  err.name = reason === 'soft_time_limit' ? 'TimeoutError' : 'AbortError';
  return err;
}

const PROGRESS_POST_MS = 50;

export default async function execute(request: ExecutionRequest): Promise<ExecutionResult> {
  const controller = new AbortController();
  let lastProgress: TaskProgress | undefined;
  let taskLog: Logger | undefined;
  // First report at once, then at most one message per PROGRESS_POST_MS: a job calling progress() in a
  // tight loop must not flood the channel (every thread hears it). The last value always arrives,
  // with the result (lastProgress) if not before.
  let progressTimer: NodeJS.Timeout | undefined;
  let progressUnsent = false;
  const postProgress = () => channel.postMessage({ type: 'progress', taskId: request.taskId, ...lastProgress! } satisfies ChannelMessage);
  running.set(request.taskId, controller);
  const early = earlyAborts.get(request.taskId);
  earlyAborts.delete(request.taskId);
  if (early && (early.attempt === undefined || early.attempt === request.attempt)) controller.abort(abortError(early.reason));
  const ctx: JobContext = {
    taskId: request.taskId,
    attempt: request.attempt,
    traceId: request.traceId,
    signal: controller.signal,
    // created on first use: most jobs never log, and a pino child per task is not free
    get log(): Logger {
      taskLog ??= log.child({ task_id: request.taskId, trace_id: request.traceId, job: request.task, attempt: request.attempt });
      return taskLog;
    },
    progress(percent, message, progressData) {
      const bounded = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
      lastProgress = { percent: bounded, message: message ?? null, data: progressData ?? null };
      if (progressTimer) {
        progressUnsent = true;
        return;
      }
      postProgress();
      progressTimer = setTimeout(function flush() {
        progressTimer = undefined;
        if (!progressUnsent) return;
        progressUnsent = false;
        postProgress();
        progressTimer = setTimeout(flush, PROGRESS_POST_MS);
      }, PROGRESS_POST_MS);
    },
  };
  try {
    const { job } = await jobs.resolve(request.task);
    let input = request.input;
    if (job.input) {
      const parsed = job.input.safeParse(input);
      if (!parsed.success) throw new InvalidJobInputError(`input does not match the job's schema: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      input = parsed.data;
    }
    controller.signal.throwIfAborted(); // aborted while the module loaded: do not start the job at all
    const result = await job.run(input, ctx);
    return { ok: true, resultGzip: encodeResult(result), ...(data.measureHeap && { heapUsedMb: heapUsedMb() }), ...(lastProgress && { lastProgress }) };
  } catch (err) {
    return { ok: false, error: toErrorPayload(err), ...(data.measureHeap && { heapUsedMb: heapUsedMb() }), ...(lastProgress && { lastProgress }) };
  } finally {
    running.delete(request.taskId);
    clearTimeout(progressTimer);
  }
}
