import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '@celerity/core';
import type { UiSession, UiSessions } from '@celerity/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Credentials } from './credentials.js';

/**
 * The dashboard's sign-in: an API key given once is exchanged for a random session id in an HttpOnly,
 * SameSite=Strict cookie, so the page never holds the key (nor anything a script could steal and
 * replay). The session stands for the key that opened it: same caller id, same limits, and it ends
 * when that key is rotated out. Requests that change something must also carry X-CSRF-Token, the
 * session's second secret, which only a page of this origin can read (GET /ui/session); SameSite=Strict
 * already keeps the cookie off cross-site requests, the header makes that not the only defence.
 */
export const SESSION_COOKIE = 'celerity_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export type SessionRole = UiSession['role'];

/**
 * admin: every action; read: reading only. Without ADMIN_API_KEYS every key is an admin key here;
 * with them, only those are (Credentials.isAdmin). The one place a session's role is decided, at each request, so a key
 * that loses admin rights loses them in open sessions too.
 */
export function roleOf(credentials: Credentials, caller: string): SessionRole {
  return !credentials.adminEnabled || credentials.isAdmin(caller) ? 'admin' : 'read';
}

export const hasSessionCookie = (request: FastifyRequest) => typeof request.cookies?.[SESSION_COOKIE] === 'string';

const sameSecret = (presented: string, expected: string) => {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
};

export interface SessionCheck {
  /** For a request with the session cookie and no API key: sets request.caller, or throws 401/403. */
  authenticate(request: FastifyRequest): Promise<void>;
  /** Signs in with an API key: stores a session and sets its cookie. */
  open(request: FastifyRequest, reply: FastifyReply, apiKey: string): Promise<SessionView>;
  /** The session of this request's cookie, or undefined (none, expired, signed out, key rotated out). */
  current(request: FastifyRequest): Promise<UiSession | undefined>;
  /** Signs out: forgets the session (everywhere) and clears the cookie. */
  close(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export interface SessionView {
  auth: boolean;
  role: SessionRole;
  csrf_token: string | null;
  expires_at: string | null;
}

/** `store` is read when a request comes (the OpenAPI renderer builds the routes without one). */
export function createSessionCheck(credentials: Credentials, store: { readonly uiSessions: UiSessions }, ttlSeconds: number): SessionCheck {
  const cookieOptions = (request: FastifyRequest) =>
    ({ httpOnly: true, sameSite: 'strict', path: '/', secure: request.protocol === 'https' }) as const;

  async function current(request: FastifyRequest): Promise<UiSession | undefined> {
    const token = request.cookies?.[SESSION_COOKIE];
    if (typeof token !== 'string' || token.length === 0 || token.length > 100) return undefined;
    const session = await store.uiSessions.get(token);
    if (!session) return undefined;
    if (!credentials.isCurrent(session.caller)) {
      await store.uiSessions.delete(token); // its key was rotated out
      return undefined;
    }
    return { ...session, role: roleOf(credentials, session.caller) };
  }

  function assertCsrf(request: FastifyRequest, session: UiSession): void {
    const presented = request.headers[CSRF_HEADER];
    if (typeof presented !== 'string' || !sameSecret(presented, session.csrf)) {
      throw new ForbiddenError(`${CSRF_HEADER} is missing or wrong: a dashboard session changes nothing without the token GET /ui/session gives`);
    }
  }

  return {
    current,
    async authenticate(request) {
      const session = await current(request);
      if (!session) throw new UnauthorizedError('the dashboard session has ended (signed out, expired or its key rotated out): sign in again');
      if (!SAFE_METHODS.has(request.method)) {
        assertCsrf(request, session);
        if (session.role !== 'admin') throw new ForbiddenError('this dashboard session is read-only: sign in with an admin key to act');
      }
      request.caller = session.caller;
    },
    async open(request, reply, apiKey) {
      const caller = credentials.identify(apiKey);
      if (!caller) throw new UnauthorizedError('unknown API key');
      const token = randomBytes(32).toString('base64url');
      const now = new Date();
      const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
      const session: UiSession = {
        caller,
        role: roleOf(credentials, caller),
        csrf: randomBytes(32).toString('base64url'),
        created_at: now.toISOString(),
        expires_at: expiresAt.toISOString(),
      };
      await store.uiSessions.create(token, session, ttlSeconds);
      reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions(request), expires: expiresAt });
      request.log.info({ caller, role: session.role }, 'dashboard session opened');
      return { auth: true, role: session.role, csrf_token: session.csrf, expires_at: session.expires_at };
    },
    async close(request, reply) {
      const token = request.cookies?.[SESSION_COOKIE];
      const session = await current(request);
      if (session && typeof token === 'string') {
        assertCsrf(request, session);
        await store.uiSessions.delete(token);
        request.log.info({ caller: session.caller }, 'dashboard session closed');
      }
      reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    },
  };
}
