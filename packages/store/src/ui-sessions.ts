import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.js';
import { guard } from './guard.js';
import type { Keys } from './keys.js';

/** What a dashboard session stands for: the API key it was opened with (by caller id, never the key itself). */
export interface UiSession {
  /** `key:<hash>` of the API key that signed in */
  caller: string;
  role: 'admin' | 'read';
  /** sent back by the page in X-CSRF-Token on every request that changes something */
  csrf: string;
  created_at: string;
  expires_at: string;
}

/**
 * Dashboard sessions in Redis, so every API replica knows them and signing out ends them everywhere.
 * A session is found by the SHA-256 of its cookie value: a reader of Redis cannot replay one.
 */
export function createUiSessions(client: RedisClient, keys: Keys) {
  const keyOf = (token: string) => keys.uiSession(createHash('sha256').update(token).digest('hex'));
  return {
    async create(token: string, session: UiSession, ttlSeconds: number): Promise<void> {
      await guard(client.set(keyOf(token), JSON.stringify(session), 'EX', Math.max(1, Math.ceil(ttlSeconds))));
    },
    async get(token: string): Promise<UiSession | undefined> {
      const raw = await guard(client.get(keyOf(token)));
      return raw ? (JSON.parse(raw) as UiSession) : undefined;
    },
    /** true when it was there */
    async delete(token: string): Promise<boolean> {
      return (await guard(client.del(keyOf(token)))) === 1;
    },
  };
}
export type UiSessions = ReturnType<typeof createUiSessions>;
