import fc from 'fast-check';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolveHost } from '@celerity/webhook';
import { startApiHarness, type ApiHarness } from '../harness.js';

/**
 * Generated requests against every route of the OpenAPI document, on the real app (Redis, RabbitMQ):
 * - nothing answers 5xx (healthy services: no 503 either);
 * - every error is problem+json with a status equal to the HTTP status;
 * - nothing the route's own schemas refuse is answered 2xx (the schemas are read back from the
 *   route that ran, so a route added later is covered without touching this file).
 * Bounded: a fixed number of runs per route and a time limit per property (2 cores, a fast suite).
 */

const RUNS_PER_ROUTE = 50;
const TIME_LIMIT_MS = 5_000;

type RouteSchema = { body?: z.ZodType; querystring?: z.ZodType; params?: z.ZodType; headers?: z.ZodType };
interface Seen {
  schema: RouteSchema | undefined;
  body: unknown;
  query: unknown;
  params: unknown;
  headers: Record<string, unknown>;
}

let h: ApiHarness;
let lastSeen: Seen | undefined;
let knownTaskId: string;
/** read through a function: the hook assigns it behind TypeScript's back */
const lastRequest = (): Seen | undefined => lastSeen;
let schemaChecks = 0;
const statuses = new Map<string, Set<number>>();
const tally = (method: string, path: string, status: number) => {
  const key = `${method} ${path}`;
  statuses.set(key, (statuses.get(key) ?? new Set()).add(status));
};
const noDns: ResolveHost = async (hostname) => {
  throw Object.assign(new Error(`queryA ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

beforeAll(async () => {
  h = await startApiHarness({ API_KEYS: 'prop-key' }, { resolveCallbackHost: noDns });
  // what the route that ran was given, after parsing (before validation), and its schemas
  h.app.addHook('preValidation', async (request: FastifyRequest) => {
    lastSeen = {
      schema: request.routeOptions.schema as RouteSchema | undefined,
      body: request.body,
      query: request.query,
      params: request.params,
      headers: request.headers,
    };
  });
  const res = await h.app.inject({ method: 'POST', url: '/tasks', payload: { task: 'demo.echo' }, headers: { 'x-api-key': 'prop-key' } });
  knownTaskId = res.json().id;
});
afterAll(async () => {
  await h?.close();
});

const operations = (): Array<{ method: string; path: string }> => {
  const doc = h.app.swagger() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
};

// --- generators ---------------------------------------------------------------------------------
const taskId = fc.oneof(fc.uuid({ version: 7 }), fc.constant('01a20000-0000-7000-8000-000000000000'), fc.constant('not-an-id'));
const segment = fc.oneof(
  taskId,
  fc.string({ maxLength: 40 }),
  fc.constantFrom('..', '%2e%2e', '%00', '%E0%A4%A', 'a'.repeat(150), 'nightly', 'dl-1', '😀'),
);
const jsonish = fc.jsonValue({ maxDepth: 4 });
const taskLike = fc.record(
  {
    task: fc.oneof(fc.constantFrom('demo.echo', 'demo.noop', 'demo.missing', '../etc.passwd', 'node:fs.readFile', ''), fc.string({ maxLength: 30 })),
    input: jsonish,
    queue: fc.oneof(fc.constantFrom('default', 'high_priority', 'nope'), fc.string({ maxLength: 70 })),
    priority: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.double(), fc.string()),
    countdown: fc.oneof(fc.double({ min: -10, max: 4e7, noNaN: true }), fc.string()),
    eta: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 30 })),
    max_retries: fc.oneof(fc.integer({ min: -2, max: 200 }), fc.constant(null)),
    time_limit: fc.oneof(fc.double({ noNaN: true }), fc.constant(0)),
    callback_url: fc.oneof(fc.webUrl(), fc.constantFrom('http://127.0.0.1/x', 'https://93.184.216.34:8443/x', 'ftp://x', 'http://[::1]/'), fc.string()),
    metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), jsonish, { maxKeys: 3 }), jsonish),
  },
  { requiredKeys: [] },
);
/** mostly valid submissions, so the accepting paths run too */
const validTask = fc.record(
  {
    task: fc.constantFrom('demo.echo', 'demo.noop'),
    input: jsonish,
    priority: fc.integer({ min: 0, max: 10 }),
    countdown: fc.integer({ min: 0, max: 100 }),
    metadata: fc.dictionary(fc.string({ maxLength: 10 }), jsonish, { maxKeys: 3 }),
  },
  { requiredKeys: ['task'] },
);
const pollution = fc.constantFrom('{"task":"demo.echo","__proto__":{"polluted":true}}', '{"task":"demo.echo","constructor":{"prototype":{"polluted":true}}}');
const body = fc.oneof(
  { weight: 3, arbitrary: taskLike },
  { weight: 3, arbitrary: validTask },
  { weight: 1, arbitrary: fc.record({ tasks: fc.array(validTask, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ tasks: fc.oneof(fc.array(taskLike, { maxLength: 5 }), jsonish) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ task_ids: fc.array(taskId, { maxLength: 3 }), ttl_seconds: fc.integer({ min: -1, max: 100_000 }) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ name: fc.string({ maxLength: 20 }), cron: fc.constantFrom('* * * * *', 'bad', '0 0 31 2 *'), every: fc.integer(), task: fc.constant('demo.echo') }, { requiredKeys: [] }) },
  { weight: 2, arbitrary: jsonish },
);
const rawBody = fc.oneof(
  { weight: 6, arbitrary: body.map((b) => ({ payload: JSON.stringify(b) ?? 'null', contentType: 'application/json' })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => ({ payload: s, contentType: 'application/json' })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => ({ payload: s, contentType: fc.sample(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''), 1)[0]! })) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 100, max: 20_000 }).map((depth) => ({ payload: `{"task":"demo.echo","input":${'['.repeat(depth)}${']'.repeat(depth)}}`, contentType: 'application/json' })),
  },
  { weight: 1, arbitrary: pollution.map((payload) => ({ payload, contentType: 'application/json' })) },
);
const queryValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: -5, max: 2_000 }).map(String), fc.constantFrom('true', 'false', 'full', 'summary', 'pending', 'default', '0'));
const query = fc.dictionary(
  fc.oneof(fc.constantFrom('limit', 'cursor', 'status', 'queue', 'task', 'view', 'terminate', 'last_event_id', 'access_token', 'schedule', 'reason'), fc.string({ maxLength: 8 })),
  fc.oneof(queryValue, fc.array(queryValue, { minLength: 2, maxLength: 2 })),
  { maxKeys: 4 },
);
const headers = fc.record(
  {
    'idempotency-key': fc.oneof(fc.string({ maxLength: 30 }), fc.constant('x'.repeat(300))),
    'x-trace-id': fc.string({ maxLength: 200 }),
    'last-event-id': fc.oneof(fc.nat().map(String), fc.string({ maxLength: 70 })),
    authorization: fc.oneof(fc.constant('Bearer prop-key'), fc.string({ maxLength: 30 })),
  },
  { requiredKeys: [] },
);
const credential = fc.constantFrom<Record<string, string>>({ 'x-api-key': 'prop-key' }, { 'x-api-key': 'prop-key' }, { 'x-api-key': 'prop-key' }, { 'x-api-key': 'prop-key' }, {}, { 'x-api-key': 'wrong' });

const request = (path: string) =>
  fc.record({
    segments: fc.array(segment, { minLength: 2, maxLength: 2 }),
    useKnownId: fc.boolean(),
    query,
    headers,
    credential,
    body: rawBody,
  }).map((r) => {
    let i = 0;
    const url = path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = name === 'id' && r.useKnownId && !path.endsWith('/events') ? knownTaskId : r.segments[i++ % 2]!;
      return /%/.test(value) ? value : encodeURIComponent(value);
    });
    return { ...r, url };
  });

function wellFormed(path: string) {
  return {
    segments: ['nightly', 'nightly'],
    useKnownId: !path.endsWith('/events'), // a stream of a known task would never end
    query: {},
    headers: {},
    credential: { 'x-api-key': 'prop-key' },
    body: { payload: JSON.stringify({ task: 'demo.echo', input: { n: 1 } }), contentType: 'application/json' },
    url: path.replace('{id}', path.endsWith('/events') ? 'nightly' : knownTaskId).replace('{name}', 'nightly'),
  };
}

function toQueryString(q: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(q)) for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

describe('every route, generated requests', () => {
  it('covers every route of the OpenAPI document', () => {
    expect(operations().length).toBeGreaterThanOrEqual(20);
  });

  it.each([0])('answers no 5xx, only problem+json errors, and accepts nothing its schemas refuse', async () => {
    for (const { method, path } of operations()) {
      await fc.assert(
        fc.asyncProperty(request(path), async (r) => {
          lastSeen = undefined;
          const res = await h.app.inject({
            method: method as 'GET',
            url: r.url + toQueryString(r.query),
            headers: { ...r.headers, ...r.credential, ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': r.body.contentType }) },
            ...(method === 'GET' ? {} : { payload: r.body.payload }),
          });
          const where = `${method} ${r.url} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, where).toBeLessThan(500);
          if (res.statusCode >= 400) {
            expect(res.headers['content-type'], where).toContain('application/problem+json');
            expect(res.json(), where).toMatchObject({ status: res.statusCode, type: expect.any(String), title: expect.any(String), code: expect.any(String) });
          }
          const seen = lastRequest();
          tally(method, path, res.statusCode);
          if (res.statusCode < 300 && seen?.schema) {
            schemaChecks += 1;
            const { schema, ...given } = seen;
            for (const part of ['body', 'querystring', 'params', 'headers'] as const) {
              const zod = schema[part];
              const value = part === 'querystring' ? given.query : part === 'body' ? given.body : part === 'params' ? given.params : given.headers;
              if (zod && typeof zod.safeParse === 'function') expect(zod.safeParse(value).success, `${where}: ${part} accepted although its schema refuses it`).toBe(true);
            }
          }
        }),
        {
          numRuns: RUNS_PER_ROUTE,
          interruptAfterTimeLimit: TIME_LIMIT_MS,
          seed: Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31),
          // one well-formed request with a known task id first, so every route's accepting path runs too
          examples: [[wellFormed(path)]],
        },
      );
    }
    expect(Object.getPrototypeOf({}).polluted).toBeUndefined();
    // the properties ran against routes that did accept some requests, with their schemas at hand
    expect(schemaChecks).toBeGreaterThan(20);
    expect([...(statuses.get('POST /tasks') ?? [])]).toContain(202);
    expect(statuses.size).toBe(operations().length);
  }, 120_000);
});
