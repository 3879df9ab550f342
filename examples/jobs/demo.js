// @ts-check
/**
 * Sample jobs used by the README, the tests and the benchmark. Plain JavaScript (type-checked
 * through JSDoc), so running them needs no TypeScript loader; reports/monthly.ts shows a
 * TypeScript job. Task name = module path under JOBS_ROOT + export name: `demo.echo`, `demo.sleep`, ...
 *
 * @typedef {import('@celerity/core').JobContext} JobContext
 */
import { NonRetryableError, RetryLaterError } from '@celerity/core';

/**
 * Returns its input unchanged.
 * @param {unknown} input
 */
export async function echo(input) {
  return input;
}

/** Does nothing: the benchmark's unit of work. */
export async function noop() {
  return null;
}

/**
 * Sleeps for `ms` milliseconds, stopping early (and throwing) when the task is cancelled or times out.
 * @param {{ ms?: number } | null} input
 * @param {JobContext} ctx
 */
export async function sleep(input, ctx) {
  const ms = input?.ms ?? 1_000;
  const started = Date.now();
  ctx.signal.throwIfAborted(); // an 'abort' listener added after the abort would never fire
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      },
      { once: true },
    );
  });
  return { slept_ms: Date.now() - started };
}

/**
 * Always fails; `retryable: false` marks the error as one that retrying cannot fix, `retry_after_ms`
 * asks for the next attempt after that long (RetryLaterError) instead of the backoff.
 * @param {{ message?: string, retryable?: boolean, retry_after_ms?: number } | null} input
 */
export async function fail(input) {
  const message = input?.message ?? 'this job always fails';
  if (input?.retryable === false) throw new NonRetryableError(message);
  if (input?.retry_after_ms !== undefined) throw new RetryLaterError(message, input.retry_after_ms);
  throw new Error(message);
}

/**
 * Burns CPU for `ms` milliseconds without ever looking at its signal: only terminate or the hard time limit stop it.
 * Reports progress 0 "spinning" as it starts (and yields once, so the report leaves the thread), so a
 * caller can tell it is running.
 * @param {{ ms?: number } | null} input
 * @param {JobContext} ctx
 */
export async function busyLoop(input, ctx) {
  ctx.progress(0, 'spinning');
  await new Promise((resolve) => setTimeout(resolve, 20));
  const ms = input?.ms ?? 60_000;
  const until = Date.now() + ms;
  let spins = 0;
  while (Date.now() < until) spins += 1;
  return { spun_ms: ms, spins };
}

/**
 * Reports progress in `steps` steps of `step_ms` each, then returns a summary.
 * @param {{ steps?: number, step_ms?: number } | null} input
 * @param {JobContext} ctx
 */
export async function countdown(input, ctx) {
  const steps = input?.steps ?? 5;
  const stepMs = input?.step_ms ?? 200;
  for (let i = 1; i <= steps; i += 1) {
    ctx.signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, stepMs));
    ctx.progress(Math.round((i / steps) * 100), `step ${i} of ${steps}`, { step: i });
  }
  ctx.log.info({ steps }, 'countdown finished');
  return { steps };
}

/** Memory this module keeps between tasks: what `leak` piles up (until its thread is replaced). */
const leaked = [];

/**
 * Keeps `mb` megabytes alive after it returns, like a job with a cache that never shrinks; shows
 * WORKER_MAX_MEMORY_PER_CHILD replacing the execution threads.
 * @param {{ mb?: number } | null} input
 */
export async function leak(input) {
  const mb = input?.mb ?? 10;
  leaked.push(Array.from({ length: mb * 1024 * 16 }, (_, i) => ({ i }))); // ~64 bytes per object on the V8 heap
  const { threadId } = await import('node:worker_threads');
  return { retained_chunks: leaked.length, thread_id: threadId };
}

/** Says which execution thread ran it: shows WORKER_MAX_TASKS_PER_CHILD replacing threads. */
export async function whereAmI() {
  const { threadId } = await import('node:worker_threads');
  return { thread_id: threadId };
}

/**
 * Calls progress() `times` times in a tight loop, as a careless job might; shows that progress
 * reports are coalesced on their way to Redis.
 * @param {{ times?: number } | null} input
 * @param {JobContext} ctx
 */
export async function progressFlood(input, ctx) {
  const times = input?.times ?? 100_000;
  for (let i = 1; i <= times; i += 1) ctx.progress((i / times) * 100, `call ${i}`);
  await new Promise((resolve) => setTimeout(resolve, 300)); // lets a throttled report go out before the end
  for (let i = 1; i <= times; i += 1) ctx.progress((i / times) * 100, `again ${i}`);
  return { calls: times * 2 };
}
