/**
 * Delay before webhook retry number `attempt` (1 = the first retry): exponential backoff with full
 * jitter, `random() * min(maxMs, baseMs * 2^(attempt-1))`, but never below `baseMs / 2` (and never
 * above maxMs, should maxMs be set below that).
 *
 * Full jitter because a receiver outage fails many callbacks at once: spreading each retry over the
 * whole window keeps them from coming back as one synchronized wave. The floor because full jitter
 * alone can draw a delay near zero, which would hit a receiver that has just failed again at once.
 */
export function webhookRetryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  if (!(baseMs >= 0) || !(maxMs >= 0)) throw new RangeError(`baseMs and maxMs must be >= 0, got ${baseMs} and ${maxMs}`);
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  const floor = Math.min(baseMs / 2, ceiling);
  return Math.max(floor, random() * ceiling);
}
