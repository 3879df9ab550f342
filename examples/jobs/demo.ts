/**
 * Sample jobs used by the README, the tests and the benchmark.
 * Task name = module path under JOBS_ROOT + export name: `demo.echo`, `demo.sleep`, ...
 */
import { NonRetryableError, type JobContext } from '@celerity/core';

/** Returns its input unchanged. */
export async function echo(input: unknown): Promise<unknown> {
  return input;
}

/** Does nothing: the benchmark's unit of work. */
export async function noop(): Promise<null> {
  return null;
}

/** Sleeps for `ms` milliseconds, stopping early (and throwing) when the task is cancelled or times out. */
export async function sleep(input: { ms?: number } | null, ctx: JobContext): Promise<{ slept_ms: number }> {
  const ms = input?.ms ?? 1_000;
  const started = Date.now();
  ctx.signal.throwIfAborted(); // an 'abort' listener added after the abort would never fire
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(ctx.signal.reason);
    }, { once: true });
  });
  return { slept_ms: Date.now() - started };
}

/** Always fails; `retryable: false` marks the error as one that retrying cannot fix. */
export async function fail(input: { message?: string; retryable?: boolean } | null): Promise<never> {
  const message = input?.message ?? 'this job always fails';
  if (input?.retryable === false) throw new NonRetryableError(message);
  throw new Error(message);
}

/** Burns CPU for `ms` milliseconds without ever looking at its signal: only terminate or the hard time limit stop it. */
export function busyLoop(input: { ms?: number } | null): { spun_ms: number } {
  const ms = input?.ms ?? 60_000;
  const until = Date.now() + ms;
  let spins = 0;
  while (Date.now() < until) spins += 1;
  return { spun_ms: ms + (spins % 1) };
}

/** Reports progress in `steps` steps of `step_ms` each, then returns a summary. */
export async function countdown(input: { steps?: number; step_ms?: number } | null, ctx: JobContext): Promise<{ steps: number }> {
  const steps = input?.steps ?? 5;
  const stepMs = input?.step_ms ?? 200;
  for (let i = 1; i <= steps; i += 1) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
    ctx.progress(Math.round((i / steps) * 100), `step ${i} of ${steps}`, { step: i });
  }
  ctx.log.info({ steps }, 'countdown finished');
  return { steps };
}
