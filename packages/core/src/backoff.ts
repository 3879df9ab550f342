/**
 * The one backoff of the service (task retries, webhook retries, deliveries whose handler failed):
 * exponential with jitter. Try number `attempt` (1 = the first retry) waits a random time between a
 * floor and `min(maxMs, baseMs × 2^(attempt−1))`, so many things that failed together come back
 * spread out instead of as one wave; the floor keeps a draw near zero from hitting the failing party
 * again at once. The floor is clamped to the ceiling, so no delay exceeds `maxMs`. Pure: the random
 * source comes in as a parameter.
 */
export interface Backoff {
  /** the first retry's ceiling; doubles with each attempt */
  baseMs: number;
  /** no delay is longer */
  maxMs: number;
  /** no delay is shorter (up to the ceiling) */
  floorMs: number;
}

export function backoffDelayMs(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  const { baseMs, maxMs, floorMs } = backoff;
  if (!(baseMs >= 0) || !(maxMs >= 0) || !(floorMs >= 0)) throw new RangeError(`baseMs, maxMs and floorMs must be >= 0, got ${baseMs}, ${maxMs}, ${floorMs}`);
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  const floor = Math.min(floorMs, ceiling);
  return Math.round(floor + random() * (ceiling - floor));
}
