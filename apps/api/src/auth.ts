import type { FastifyRequest } from 'fastify';
import { ForbiddenError, MalformedRequestError, UnauthorizedError } from '@celerity/core';
import { tokenCallerId, type Credentials } from './credentials.js';
import { hasSessionCookie, type SessionCheck } from './ui-session.js';

/**
 * Who may call a route, declared on the route itself (`config: { access }`) and read from the route
 * the router matched, never from the raw URL: the router and a string match can disagree about where
 * a path ends (`?`, `#`, encodings), and such a disagreement must not open a route.
 * - `key`: an API key (the default for every route, including unknown ones);
 * - `admin`: an admin key (ADMIN_API_KEYS): purges, stats reset, worker control;
 * - `watch`: an API key, or a watch token (`?access_token=`) limited to its task ids;
 * - `public`: anyone (liveness, readiness, the API documentation).
 */
export type RouteAccess = 'key' | 'admin' | 'watch' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** set when the request came with a watch token instead of an API key: the task ids it may follow */
    watchScope: ReadonlySet<string> | null;
    /** when that watch token expires (ms since the epoch); open streams close then */
    watchExpiresAt: number | null;
    /**
     * Who is asking, for limits and scoping: `key:<hash>` (an API key), `token:<hash>` (a watch token),
     * or `ip:<address>` (no credential: auth off, or a public route)
     */
    caller: string;
  }
}

/** The access level of the route this request will run; unknown routes (404) need a key. */
export function routeAccess(request: FastifyRequest): RouteAccess {
  return request.routeOptions.config?.access ?? 'key';
}

/**
 * Refuses a request target the router and a reader could read differently: a fragment (`#`) never
 * belongs in one (browsers strip it), yet the router ends the path there.
 */
export function assertPlainTarget(request: FastifyRequest): void {
  if (request.raw.url?.includes('#')) throw new MalformedRequestError('a request target must not contain "#"');
}

/** The caller of a request before any credential is checked: its address. */
export function anonymousCaller(request: FastifyRequest): void {
  request.caller = `ip:${request.ip}`;
}

/** Whether the caller presented an API key (and so has its own Idempotency-Key space, limits, ...). */
export const isKeyCaller = (caller: string) => caller.startsWith('key:');

/**
 * Checks X-API-Key or `Authorization: Bearer <key>` against API_KEYS in constant time. Routes with
 * `watch` access also take a watch token (`?access_token=`), which limits them to the token's task ids.
 * Without a key, the dashboard's session cookie stands for the key that signed in (ui-session.ts).
 */
export function createApiKeyCheck(credentials: Credentials, sessions: SessionCheck): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const access = routeAccess(request);
    // a CORS preflight never carries credentials (browsers strip them); it is answered by the CORS plugin
    if (request.method === 'OPTIONS' || access === 'public') return;
    const accessToken = (request.query as Record<string, unknown> | undefined)?.access_token;
    if (accessToken !== undefined && access === 'watch') {
      if (typeof accessToken !== 'string') throw new UnauthorizedError('access_token must be given once');
      const { ids, expiresAt } = credentials.watchTokens().verifyClaims(accessToken);
      request.watchScope = ids;
      request.watchExpiresAt = expiresAt;
      request.caller = tokenCallerId(accessToken);
      return;
    }
    const header = request.headers['x-api-key'];
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const presented = (typeof header === 'string' ? header : undefined) ?? bearer;
    if (!presented && hasSessionCookie(request)) {
      await sessions.authenticate(request);
    } else {
      if (!presented) throw new UnauthorizedError('an API key is required (X-API-Key or Authorization: Bearer)');
      const caller = credentials.identify(presented);
      if (!caller) throw new UnauthorizedError('unknown API key');
      request.caller = caller;
    }
    // by key or by a dashboard session signed in with one: admin routes need an admin key
    if (access === 'admin' && !credentials.isAdmin(request.caller)) {
      throw new ForbiddenError(
        credentials.adminEnabled ? 'this route needs an admin key (ADMIN_API_KEYS), not an ordinary API key' : 'this route needs an admin key, and none is configured (set ADMIN_API_KEYS)',
      );
    }
  };
}
