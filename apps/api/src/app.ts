import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import { newTraceId } from '@celerity/core';
import Fastify, { LogController } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { documentObject, documentRoute } from './openapi-document.js';
import { anonymousCaller, assertPlainTarget, createApiKeyCheck } from './auth.js';
import { createCredentials } from './credentials.js';
import { createStreamRegistry } from './events/stream-registry.js';
import type { ApiDeps } from './deps.js';
import { clientErrorResponse, problem, problemInstance, retryAfterSeconds, sendProblem, toProblem } from './http-errors.js';
import { depthCheckedJsonParser } from './json-body.js';
import { rateLimitOptions, rateLimitsEnabled } from './rate-limits.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { jobRoutes } from './routes/jobs.js';
import { queueRoutes } from './routes/queues.js';
import { workerRoutes } from './routes/workers.js';
import { scheduleRoutes } from './routes/schedules.js';
import { healthRoutes } from './routes/health.js';
import { statsRoutes } from './routes/stats.js';
import { taskEventRoutes } from './routes/task-events.js';
import { taskEventWsRoutes } from './routes/task-events-ws.js';
import { taskRoutes } from './routes/tasks.js';
import { uiRoutes } from './routes/ui.js';
import { createSessionCheck } from './ui-session.js';


const TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const API_VERSION = '0.1.0';

/** Builds the Fastify app without listening, so tests use inject() and main.ts owns the process. */
export async function buildApp(deps: ApiDeps) {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: config.BODY_LIMIT,
    // a client must send its whole request within HTTP_REQUEST_TIMEOUT (a slow trickle gets a 408);
    // node checks the deadline every connectionsCheckingInterval, so it holds to about a second
    requestTimeout: config.HTTP_REQUEST_TIMEOUT * 1000,
    connectionTimeout: config.HTTP_CONNECTION_TIMEOUT * 1000,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT * 1000,
    http: { headersTimeout: Math.min(config.HTTP_REQUEST_TIMEOUT, 60) * 1000, connectionsCheckingInterval: 1_000 },
    // request logs carry trace_id; the routes log what matters, so per-request access logs are off
    logController: new LogController({ requestIdLogLabel: 'trace_id', disableRequestLogging: true }),
    requestIdHeader: false,
    // X-Trace-Id from the caller when it looks sane, else a new one; it follows the task to the worker
    genReqId: (req) => {
      const incoming = req.headers['x-trace-id'];
      return typeof incoming === 'string' && TRACE_ID.test(incoming) ? incoming : newTraceId();
    },
    ajv: { customOptions: { coerceTypes: false } },
    // what fails before routing is problem+json too: an undecodable path (400), a path parameter
    // over maxParamLength (414), and what the HTTP parser refuses (400, 408, 431)
    frameworkErrors: (err, request, reply) => {
      const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : err.code === 'FST_ERR_BAD_URL' ? 400 : 500;
      const detail = status === 414 ? 'a path segment is too long' : status === 400 ? 'the path is not a valid URL (bad percent-encoding)' : 'internal error';
      const code = status === 414 ? 'URI_TOO_LONG' : status === 400 ? 'MALFORMED_REQUEST' : 'INTERNAL';
      return sendProblem(reply, problem(status, code, detail, { instance: problemInstance(request), trace_id: String(request.id) }));
    },
    clientErrorHandler: (err, socket) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || socket.destroyed) return;
      if (socket.writable) socket.write(clientErrorResponse(err as NodeJS.ErrnoException));
      socket.destroy(err);
    },
  }).withTypeProvider<ZodTypeProvider>();

  // connections past the cap are closed as they arrive, before they cost a parser or a request
  app.server.maxConnections = config.HTTP_MAX_CONNECTIONS;
  const jsonParser = depthCheckedJsonParser(app.getDefaultJsonParser('error', 'error') as Parameters<typeof depthCheckedJsonParser>[0], config.BODY_MAX_DEPTH);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => jsonParser(request, body as string, done));
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // before any plugin is registered: a plugin's context keeps the error handler it was created with,
  // and the documentation's routes must answer problem+json like the others
  app.setErrorHandler((err, request, reply) => {
    const body = toProblem(err, request);
    if (body.status >= 500) request.log.error({ err, code: body.code }, 'request failed');
    // a refusal caused by something of ours (a job module that does not load) carries that cause for the operator
    else request.log.info({ code: body.code, status: body.status, ...(err instanceof Error && err.cause ? { err } : {}) }, 'request refused');
    return sendProblem(reply, body, retryAfterSeconds(err, body.status));
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${problemInstance(request)}: the API's routes are listed at /docs (Swagger UI) and /openapi.json`, {
        instance: problemInstance(request),
        trace_id: String(request.id),
      }),
    ),
  );

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Celerity',
        version: API_VERSION,
        description: [
          'Task queue over RabbitMQ priority queues with results in Redis. Errors are RFC 9457 `application/problem+json` with a stable `code`.',
          '',
          'Try it: **POST /tasks** with the `echo` example, then **GET /tasks/{id}** with the id it answered. The examples use the sample jobs of `examples/jobs` (the default JOBS_ROOT).',
          'With API_KEYS set, press **Authorize** and give one key; the open routes (health, readiness) need none.',
          '',
          'Not listed as an operation, because a browser page cannot try it here: `GET /tasks/events/ws`, one WebSocket that follows many tasks (send `{"type":"subscribe","ids":[…]}`; see the README).',
          '',
          'This document: [/openapi.json](/openapi.json).',
        ].join('\n'),
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
          watchToken: { type: 'apiKey', in: 'query', name: 'access_token', description: 'A watch token from POST /events/tokens: the event streams of the tasks it names' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
      tags: [
        { name: 'tasks', description: 'Submit, inspect and cancel tasks' },
        { name: 'events', description: 'Follow status and progress changes as they happen (SSE, WebSocket)' },
        { name: 'jobs', description: 'The job registry: the task names you can submit, their input schemas and limits' },
        { name: 'schedules', description: 'Periodic tasks (beat): cron or interval, each fire time fired once' },
        { name: 'dead letters', description: 'Tasks that ended without success, and messages that were not tasks' },
        { name: 'queues', description: 'Depth, consumers and waiting tasks of each queue; purge (admin)' },
        { name: 'workers', description: 'Workers from their heartbeats; pause, resume and shut down (admin)' },
        { name: 'ops', description: 'Health, readiness, metrics and statistics' },
        { name: 'dashboard', description: 'Sign-in for the dashboard at /ui: an API key exchanged for an HttpOnly session cookie' },
      ],
    },
    transform: documentRoute,
    transformObject: documentObject, // puts schemas with .meta({ id }) under components, then openapi-document.ts

  });
  // the documentation is public; its routes come from a plugin, so they are marked as they are added
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) route.config = { ...route.config, access: 'public' };
  });
  // the UI loads (and links) the document at /openapi.json, the address the README and clients use
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { urls: [{ url: '/openapi.json', name: 'Celerity API (/openapi.json)' }] } });
  await app.register(fastifyWebsocket, {
    options: { maxPayload: 128 * 1024 }, // a subscribe of 1000 ids fits easily
    // a client that vanishes mid-frame is routine, not an error of ours
    errorHandler: (err, socket, request) => {
      request.log.info({ err }, 'websocket error');
      socket.terminate();
    },
  });

  // browser front ends on other origins (dashboards, progress bars); before auth, so preflights pass
  const corsOrigins = deps.config.CORS_ORIGINS ?? [];
  if (corsOrigins.length > 0) {
    await app.register(fastifyCors, {
      origin: corsOrigins.includes('*') ? '*' : corsOrigins,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['content-type', 'x-api-key', 'authorization', 'idempotency-key', 'x-trace-id', 'last-event-id'],
      exposedHeaders: ['location', 'x-trace-id', 'retry-after', 'idempotent-replayed'],
      maxAge: 600,
    });
  }

  const credentials = deps.credentials ?? createCredentials(config.API_KEYS ?? [], config.ADMIN_API_KEYS ?? []);
  app.decorateRequest('watchScope', null);
  app.decorateRequest('watchExpiresAt', null);
  app.decorateRequest('caller', '');
  app.addHook('onRequest', async (request) => {
    assertPlainTarget(request);
    anonymousCaller(request);
  });
  // the dashboard's session cookie is read by the auth check, so the cookie parser comes first
  await app.register(fastifyCookie);
  const sessions = createSessionCheck(credentials, deps.store, config.UI_SESSION_TTL);
  if (credentials.enabled) {
    const check = createApiKeyCheck(credentials, sessions);
    app.addHook('onRequest', async (request) => check(request));
  }
  // after the auth hook: the limits are counted per authenticated caller
  if (rateLimitsEnabled(config)) {
    await app.register(fastifyRateLimit, rateLimitOptions(config, { ...(deps.redis ? { redis: deps.redis } : {}), keyPrefix: deps.store.rateLimitPrefix }));
  }
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-trace-id', String(request.id));
  });

  await app.register(healthRoutes(deps, deps.isDraining ?? (() => false)));
  await app.register(taskRoutes(deps));
  const streams = createStreamRegistry({ maxStreams: config.EVENTS_MAX_STREAMS, maxSubscriptions: config.EVENTS_MAX_SUBSCRIPTIONS }, credentials);
  await app.register(taskEventRoutes(deps, credentials, streams));
  await app.register(taskEventWsRoutes(deps, streams));
  await app.register(deadLetterRoutes(deps));
  await app.register(scheduleRoutes(deps));
  await app.register(jobRoutes(deps));
  await app.register(statsRoutes(deps));
  await app.register(uiRoutes(deps, credentials, sessions));
  await app.register(queueRoutes(deps));
  await app.register(workerRoutes(deps));
  // the store's event subscriber connection is opened on the first watch; it must not outlive the app
  app.addHook('onClose', async () => deps.store.events.close());
  app.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());

  return app;
}
export type { ApiDeps } from './deps.js';
export type App = Awaited<ReturnType<typeof buildApp>>;
