import { guard } from './guard.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** Idempotency-Key reservations: a key stands for the first request's fingerprint and its task id until it expires. */
export function createIdempotencyKeys(client: RedisClient, keys: Keys) {
  return {
    /**
     * Reserves an Idempotency-Key for a new task: null when reserved now, else what it already
     * stands for (the fingerprint of the first request and its task id).
     */
    async reserve(key: string, fingerprint: string, taskId: string, ttlSeconds: number): Promise<{ fingerprint: string; taskId: string } | null> {
      const value = `${fingerprint} ${taskId}`;
      const reply = await guard(client.set(keys.idempotency(key), value, 'EX', ttlSeconds, 'NX', 'GET'));
      if (reply === null) return null;
      const [storedFingerprint = '', storedTaskId = ''] = reply.split(' ');
      return { fingerprint: storedFingerprint, taskId: storedTaskId };
    },

    /** Frees a reserved key (its request was refused), so it may be used again. */
    async release(key: string): Promise<void> {
      await guard(client.del(keys.idempotency(key)));
    },
  };
}
export type IdempotencyKeys = ReturnType<typeof createIdempotencyKeys>;
