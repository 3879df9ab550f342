import type { Backoff } from '@celerity/core';

/**
 * The backoff of webhook retries (for core's backoffDelayMs): retry number `attempt` waits between
 * `base / 2` and `min(max, base × 2^(attempt−1))`. Full jitter because a receiver outage fails many
 * callbacks at once: spreading each retry over the whole window keeps them from coming back as one
 * synchronized wave. The floor because full jitter alone can draw a delay near zero, which would hit
 * a receiver that has just failed again at once.
 */
export function webhookBackoff(retryDelayMs: { base: number; max: number }): Backoff {
  return { baseMs: retryDelayMs.base, maxMs: retryDelayMs.max, floorMs: retryDelayMs.base / 2 };
}
