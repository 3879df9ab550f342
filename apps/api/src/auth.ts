import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '@celerity/core';
import type { WatchTokens } from './watch-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** set when the request came with a watch token instead of an API key: the task ids it may follow */
    watchScope: ReadonlySet<string> | null;
  }
}

/** Paths anyone may read: liveness, readiness and the API documentation. */
const PUBLIC_PATHS = [/^\/health$/, /^\/ready$/, /^\/openapi\.json$/, /^\/docs(\/.*)?$/];
/** Paths a watch token (`?access_token=`) opens, for browsers: the event streams only. */
const WATCH_PATHS = [/^\/tasks\/[^/]+\/events$/, /^\/tasks\/events\/ws$/];

const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * Checks X-API-Key or `Authorization: Bearer <key>` against API_KEYS in constant time. The event
 * streams also take a watch token (`?access_token=`), which limits them to the token's task ids.
 */
export function createApiKeyCheck(apiKeys: readonly string[], watchTokens: WatchTokens): (request: FastifyRequest) => void {
  const known = apiKeys.map(digest);
  return (request) => {
    const path = request.url.split('?', 1)[0] ?? '';
    // a CORS preflight never carries credentials (browsers strip them); it is answered by the CORS plugin
    if (request.method === 'OPTIONS' || PUBLIC_PATHS.some((re) => re.test(path))) return;
    const accessToken = (request.query as Record<string, unknown> | undefined)?.access_token;
    if (typeof accessToken === 'string' && WATCH_PATHS.some((re) => re.test(path))) {
      request.watchScope = watchTokens.verify(accessToken);
      return;
    }
    const header = request.headers['x-api-key'];
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const presented = (typeof header === 'string' ? header : undefined) ?? bearer;
    if (!presented) throw new UnauthorizedError('an API key is required (X-API-Key or Authorization: Bearer)');
    const candidate = digest(presented);
    // compare against every key so the time taken does not reveal which one matched
    const ok = known.reduce((found, key) => timingSafeEqual(key, candidate) || found, false);
    if (!ok) throw new UnauthorizedError('unknown API key');
  };
}
