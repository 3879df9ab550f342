import { isKeyCaller } from './auth.js';

/**
 * A client's Idempotency-Key lives in the space of its API key (two keys never see each other's
 * requests), apart from the keys the service uses itself (internalIdempotencyKey). Without API keys
 * (auth off, loopback only) all clients share one space.
 */
export function clientIdempotencyKey(caller: string, key: string): string {
  return `client:${isKeyCaller(caller) ? caller : 'open'}:${key}`;
}

/** An Idempotency-Key of the service's own (a dead-letter retry): no client key can collide with it. */
export const internalIdempotencyKey = (key: string) => `internal:${key}`;
