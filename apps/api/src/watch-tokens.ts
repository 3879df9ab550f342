import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '@celerity/core';

/**
 * Watch tokens let a browser follow tasks (SSE, WebSocket) without holding an API key: EventSource
 * and the browser WebSocket cannot send headers, and an API key must not reach a browser anyway. A
 * backend that has the key asks for a token scoped to some task ids, valid for minutes, and hands it
 * to the page, which passes it as `?access_token=`.
 *
 * A token is `v1.<payload>.<signature>`: the payload (base64url JSON `{ids, exp}`) signed with
 * HMAC-SHA256. The key is derived from API_KEYS, so every replica with the same keys accepts the same
 * tokens and rotating the keys revokes them; with no API_KEYS (auth off) it is random per process.
 */
export interface WatchTokens {
  issue(taskIds: readonly string[], ttlSeconds: number, now?: Date): { token: string; expires_at: string };
  /** The task ids the token allows; throws UnauthorizedError for a bad or expired token. */
  verify(token: string, now?: Date): ReadonlySet<string>;
  /** verify(), with the moment the token expires (ms since the epoch) */
  verifyClaims(token: string, now?: Date): { ids: ReadonlySet<string>; expiresAt: number };
}

/** `v1.<payload>.<signature>`, both base64url without padding; a SHA-256 HMAC is 43 characters. */
const TOKEN_FORMAT = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

export function createWatchTokens(apiKeys: readonly string[]): WatchTokens {
  const key =
    apiKeys.length > 0
      ? createHash('sha256').update(`celerity watch token\0${[...apiKeys].sort().join('\n')}`).digest()
      : randomBytes(32);
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest();

  return {
    issue(taskIds, ttlSeconds, now = new Date()) {
      const exp = Math.floor(now.getTime() / 1000) + ttlSeconds;
      const payload = Buffer.from(JSON.stringify({ ids: taskIds, exp })).toString('base64url');
      return { token: `v1.${payload}.${sign(payload).toString('base64url')}`, expires_at: new Date(exp * 1000).toISOString() };
    },

    verify: (token, now = new Date()) => verifyClaims(token, now).ids,
    verifyClaims,
  };

  function verifyClaims(token: string, now = new Date()): { ids: ReadonlySet<string>; expiresAt: number } {
    // one spelling only: base64url without padding, the signature exactly one HMAC-SHA256 long
    const parts = TOKEN_FORMAT.exec(token);
    if (!parts) throw new UnauthorizedError('malformed access_token');
    const [, payload = '', signature = ''] = parts;
    const presented = Buffer.from(signature, 'base64url');
    if (presented.toString('base64url') !== signature || !timingSafeEqual(presented, sign(payload))) {
      throw new UnauthorizedError('invalid access_token');
    }
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { ids: string[]; exp: number };
    if (claims.exp * 1000 <= now.getTime()) throw new UnauthorizedError('access_token expired; ask for a new one (POST /events/tokens)');
    return { ids: new Set(claims.ids), expiresAt: claims.exp * 1000 };
  }
}
