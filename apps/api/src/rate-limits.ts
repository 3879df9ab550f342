import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import { isLoopback, TooManyRequestsError, type Env } from '@celerity/core';
import type { createRedis } from '@celerity/store';
import type { FastifyRequest } from 'fastify';
import { routeAccess } from './auth.js';

type RateLimitSettings = Pick<Env, 'HOST' | 'RATE_LIMIT_ENABLED' | 'RATE_LIMIT_WINDOW' | 'RATE_LIMIT_WRITES' | 'RATE_LIMIT_READS'>;

/**
 * Rate limits unless RATE_LIMIT_ENABLED says otherwise: on for a public HOST, off on loopback, where
 * every caller is a process of the same machine (development, tests, the benchmark) that could take
 * the machine's resources in easier ways, and where auth is off by default too.
 */
export const rateLimitsEnabled = (config: RateLimitSettings) => config.RATE_LIMIT_ENABLED ?? !isLoopback(config.HOST);

/** Reads (GET) and writes (everything else) are counted apart, so polling cannot use up a caller's submits. */
const bucketOf = (request: FastifyRequest) => (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');

/**
 * @fastify/rate-limit's options: fixed-window request limits per caller (API key; watch token; the address when there is no key),
 * reads and writes apart, counted in Redis so every replica shares one count (@fastify/rate-limit's
 * Redis store: one INCR + PEXPIRE script per request). Over the limit: 429 RATE_LIMITED with
 * Retry-After. Public routes (health, docs) and CORS preflights are not counted. While Redis is
 * unreachable requests pass uncounted: the routes that need Redis answer 503 by themselves.
 * Runs after authentication (a route-level hook), so an unknown key costs nothing here (401 first).
 */
export function rateLimitOptions(
  config: RateLimitSettings,
  store: { redis?: ReturnType<typeof createRedis>; keyPrefix: string },
): RateLimitPluginOptions {
  return {
    global: true,
    ...(store.redis ? { redis: store.redis } : {}),
    nameSpace: store.keyPrefix,
    timeWindow: config.RATE_LIMIT_WINDOW * 1000,
    max: (request) => (bucketOf(request) === 'read' ? config.RATE_LIMIT_READS : config.RATE_LIMIT_WRITES),
    keyGenerator: (request) => `${bucketOf(request)}:${request.caller}`,
    allowList: (request) => request.method === 'OPTIONS' || routeAccess(request) === 'public',
    skipOnError: true,
    // Retry-After is set by the plugin; the body is our problem+json, made by the one error handler
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    errorResponseBuilder: (request, context) =>
      new TooManyRequestsError(
        'RATE_LIMITED',
        `more than ${context.max} ${bucketOf(request)} requests in ${config.RATE_LIMIT_WINDOW} s; try again in ${Math.ceil(context.ttl / 1000)} s`,
        Math.ceil(context.ttl / 1000),
      ),
  };
}
