import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { UnauthorizedError } from '@celerity/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import type { Credentials } from '../credentials.js';
import { problem, sendProblem } from '../http-errors.js';
import { problems } from '../schemas/tasks.js';
import type { SessionCheck, SessionView } from '../ui-session.js';

const SessionSchema = z
  .object({
    auth: z.boolean().describe('false when the API runs without API keys (loopback only): no sign-in needed'),
    role: z.enum(['admin', 'read']).describe('admin: every action; read: reading only'),
    csrf_token: z.string().nullable().describe('Send as X-CSRF-Token with every request of this session that is not a GET'),
    expires_at: z.string().nullable(),
  })
  .meta({ id: 'UiSession' });

const SignInBody = z.object({ api_key: z.string().min(1).max(4096) }).strict().meta({ id: 'UiSignIn' });

/**
 * The dashboard's built files (apps/ui, `npm run build`): index.html and hashed assets. Security
 * headers keep the page to its own origin: no inline script, no framing, requests only to this API.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Where `npm run build` leaves the dashboard: apps/ui/dist, found through the workspace package. */
export function defaultUiDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@celerity/ui/package.json')), 'dist');
}

export function uiRoutes(deps: ApiDeps, credentials: Credentials, sessions: SessionCheck): FastifyPluginAsyncZod {
  const signedOut: SessionView = { auth: false, role: 'admin', csrf_token: null, expires_at: null };
  return async (app) => {
    app.post(
      '/ui/session',
      {
        config: { access: 'public' },
        schema: {
          tags: ['dashboard'],
          summary: 'Sign in to the dashboard',
          description:
            'Exchanges an API key for a session cookie (HttpOnly, SameSite=Strict, UI_SESSION_TTL seconds); the key is not kept in the browser. Requests with the cookie act as that key; those that change something also need X-CSRF-Token. A session of a key that is not an admin key is read-only.',
          body: SignInBody,
          response: { 201: SessionSchema, ...problems(400, 401, 503) },
        },
      },
      async (request, reply) => {
        if (!credentials.enabled) return reply.code(201).send(signedOut);
        return reply.code(201).send(await sessions.open(request, reply, request.body.api_key));
      },
    );

    app.get(
      '/ui/session',
      {
        config: { access: 'public' },
        schema: {
          tags: ['dashboard'],
          summary: "The dashboard session of this request's cookie",
          description: 'With its CSRF token for the page. 401 when not signed in; `auth: false` when the API runs without API keys.',
          response: { 200: SessionSchema, ...problems(401, 503) },
        },
      },
      async (request) => {
        if (!credentials.enabled) return signedOut;
        const session = await sessions.current(request);
        if (!session) throw new UnauthorizedError('not signed in to the dashboard');
        return { auth: true, role: session.role, csrf_token: session.csrf, expires_at: session.expires_at };
      },
    );

    app.delete(
      '/ui/session',
      {
        config: { access: 'public' },
        schema: {
          tags: ['dashboard'],
          summary: 'Sign out of the dashboard',
          description: 'Ends the session on every API replica and clears its cookie (X-CSRF-Token required while the session lasts).',
          response: { 204: z.null().describe('Signed out'), ...problems(403, 503) },
        },
      },
      async (request, reply) => {
        await sessions.close(request, reply);
        return reply.code(204).send(null);
      },
    );

    const root = deps.uiDir ?? defaultUiDir();
    if (!existsSync(`${root}/index.html`)) {
      deps.log.warn({ dir: root }, 'the dashboard is not built (npm run build): /ui answers 503');
      app.get('/ui', { schema: { hide: true }, config: { access: 'public' } }, async (request, reply) =>
        sendProblem(reply, problem(503, 'UI_NOT_BUILT', 'the dashboard is not built: run `npm run build`', { instance: '/ui', trace_id: String(request.id) }), 60),
      );
      return;
    }
    // the files are public (the page itself holds no data); the data routes they call need a session
    await app.register(async (files) => {
      files.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'public' };
        route.schema = { ...route.schema, hide: true };
      });
      await files.register(fastifyStatic, {
        root,
        prefix: '/ui/',
        wildcard: false, // one route per built file, found at start-up; anything else is a 404 problem
        redirect: true, // /ui → /ui/
        preCompressed: true, // index.html.br / .gz written by the build
        cacheControl: false, // set below, per file
        decorateReply: false,
        setHeaders: (res, path) => {
          res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
          res.setHeader('x-content-type-options', 'nosniff');
          res.setHeader('referrer-policy', 'no-referrer');
          // hashed file names never change content; index.html is checked on every load
          res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      });
    });
  };
}
