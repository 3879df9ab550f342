/**
 * The OpenAPI document as Swagger UI shows it to someone trying the API for the first time: request
 * examples that work with the sample jobs, a description for every status code, problem bodies
 * under the media type they are served with, no padlock on open routes, one component per schema.
 * Applied by @fastify/swagger (app.ts) after fastify-type-provider-zod has turned the zod schemas
 * into JSON Schema; apps/api/test/unit/openapi-document.test.ts checks each property.
 */
import { isDeepStrictEqual } from 'node:util';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

type Json = Record<string, unknown>;

/** Request body examples per operation. Each must be accepted by a fresh API with the sample jobs (examples/jobs). */
export const REQUEST_EXAMPLES: Record<string, Record<string, { summary: string; value: unknown }>> = {
  'post /tasks': {
    echo: { summary: 'demo.echo: returns its input', value: { task: 'demo.echo', input: { hello: 'world' } } },
    progress: { summary: 'demo.countdown: reports progress for 5 seconds (follow it: GET /tasks/{id}/events)', value: { task: 'demo.countdown', input: { steps: 5, step_ms: 1000 } } },
    schema: { summary: 'a job with an input schema (a wrong month is a 422)', value: { task: 'reports.monthly.generate', input: { month: '2026-11' }, priority: 7 } },
    later: { summary: 'scheduled: runs in 30 seconds', value: { task: 'demo.echo', input: 'later', countdown: 30 } },
    fails: { summary: 'fails at once, then waits in GET /dead-letters', value: { task: 'demo.fail', input: { message: 'try me' }, max_retries: 0 } },
  },
  'post /tasks/batch': {
    two: { summary: 'two tasks, all or nothing', value: { tasks: [{ task: 'demo.echo', input: 1 }, { task: 'demo.sleep', input: { ms: 2000 }, queue: 'high_priority' }] } },
  },
  'post /events/tokens': {
    one: { summary: 'a token for a page that follows one task (use the id of a task you submitted)', value: { task_ids: ['0193a6f2-6c1e-7d3a-9b41-2f6f0c1d2e3f'], ttl_seconds: 300 } },
  },
  'post /schedules': {
    cron: { summary: 'every night at 03:00 Paris time', value: { name: 'nightly-report', task: 'reports.monthly.generate', input: { month: '2026-11' }, cron: '0 3 * * *', timezone: 'Europe/Paris' } },
    every: { summary: 'every 10 minutes', value: { name: 'heartbeat', task: 'demo.noop', every: 600 } },
  },
  'patch /schedules/{name}': {
    pause: { summary: 'move it to 04:00', value: { cron: '0 4 * * *' } },
  },
};

const ACCEPTED_RECORD = {
  id: '01a2286f-ed86-7cd5-a3f1-5b1e3c2d4a10',
  task: 'demo.echo',
  status: 'pending',
  queue: 'default',
  priority: 5,
  input: { hello: 'world' },
  result: null,
  error: null,
  progress: null,
  attempts: 0,
  max_retries: 3,
  time_limit: null,
  soft_time_limit: null,
  retry_on_timeout: false,
  trace_id: '01a2286fed8671c4b2e0a9d1f3c5b7e9',
  metadata: null,
  callback: null,
  worker: null,
  stopping: false,
  created_at: '2026-11-29T17:53:01.126Z',
  started_at: null,
  finished_at: null,
  eta: null,
  expires: null,
  schedule: null,
};

/** Response examples per operation and status: what a client reads back, not "string" in every field. */
export const RESPONSE_EXAMPLES: Record<string, Record<string, unknown>> = {
  'post /tasks': {
    202: ACCEPTED_RECORD,
    422: {
      type: 'https://celerity.dev/problems/invalid-job-input',
      title: 'Unprocessable Content',
      status: 422,
      detail: 'input.month: expected YYYY-MM',
      code: 'INVALID_JOB_INPUT',
      instance: '/tasks',
      trace_id: '01a2286ff0d17518878780fc5765815b',
      errors: [{ field: 'input.month', message: 'input.month: expected YYYY-MM' }],
    },
  },
  'get /tasks/{id}': {
    200: {
      ...ACCEPTED_RECORD,
      status: 'succeeded',
      result: { hello: 'world' },
      attempts: 1,
      worker: 'host-1:4182:9c1e',
      started_at: '2026-11-29T17:53:01.129Z',
      finished_at: '2026-11-29T17:53:01.131Z',
    },
    404: {
      type: 'https://celerity.dev/problems/task-not-found',
      title: 'Not Found',
      status: 404,
      detail: 'no task 01a2286f-ed86-7cd5-a3f1-5b1e3c2d4a10',
      code: 'TASK_NOT_FOUND',
      instance: '/tasks/01a2286f-ed86-7cd5-a3f1-5b1e3c2d4a10',
      trace_id: '01a2287001c27a3e8f5d4b6c9a1e2f30',
    },
  },
};

/** What a status code means on this API, for responses the route schemas do not describe. */
const STATUS_DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the task is stored and its message confirmed by RabbitMQ; it runs when a worker takes it',
  204: 'No Content',
  400: 'Malformed JSON, or a field that fails validation (`errors` names each field)',
  401: 'No API key, or not one of API_KEYS (send X-API-Key or Authorization: Bearer)',
  403: 'The watch token does not cover this task',
  404: 'Not found',
  409: 'Conflict with the current state (`code` says which; `task_status` for a finished task)',
  413: 'The body is larger than allowed',
  415: 'The body is not JSON (send Content-Type: application/json)',
  422: 'Understood but refused: unknown job or queue, a bad task name, input that does not match the job\'s schema, a refused callback_url',
  426: 'This route speaks WebSocket only',
  429: 'Too many requests or streams for this caller; wait Retry-After seconds',
  503: 'RabbitMQ or Redis is unreachable (or the API is shutting down); retry after Retry-After seconds',
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/**
 * Per route: the zod → JSON Schema transform, then the route's access (its `config.access`, the
 * same value the auth hook decides by) as the operation's security: none for public routes, the
 * API key or a watch token (?access_token=) for the event streams; admin routes say so.
 */
export const documentRoute: typeof jsonSchemaTransform = (input) => {
  const output = jsonSchemaTransform(input);
  const access = (input.route as { config?: { access?: string } } | undefined)?.config?.access;
  const schema = output.schema as Json;
  if (access === 'public') schema.security = [];
  else if (access === 'watch') schema.security = [{ apiKey: [] }, { bearer: [] }, { watchToken: [] }];
  else if (access === 'admin') schema.description = `${schema.description ? `${String(schema.description)}\n\n` : ''}Admin: needs a key from ADMIN_API_KEYS (403 for an ordinary API key).`;
  return output;
};

/** The whole document: zod components, then the fixes described at the top of this file. */
export const documentObject: typeof jsonSchemaTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input) as unknown as Json;
  describeResponses(document);
  addRequestExamples(document);
  mergeInputComponents(document);
  return document as unknown as ReturnType<typeof jsonSchemaTransformObject>;
};

function operations(document: Json): [string, Json][] {
  const found: [string, Json][] = [];
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) found.push([`${method} ${path}`, item[method] as Json]);
  }
  return found;
}

/** Every status its own description; error bodies as application/problem+json, the type they are sent with. */
function describeResponses(document: Json): void {
  for (const [, operation] of operations(document)) {
    for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
      if (!response.description || response.description === 'Default Response') response.description = STATUS_DESCRIPTIONS[status] ?? `HTTP ${status}`;
      const content = response.content as Record<string, Json> | undefined;
      if (Number(status) >= 400 && content?.['application/json']) {
        response.content = { 'application/problem+json': content['application/json'] };
      }
    }
  }
}

function addRequestExamples(document: Json): void {
  for (const [key, operation] of operations(document)) {
    const examples = REQUEST_EXAMPLES[key];
    const media = ((operation.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.['application/json'];
    if (examples && media) media.examples = examples;
    for (const [status, example] of Object.entries(RESPONSE_EXAMPLES[key] ?? {})) {
      const content = ((operation.responses as Record<string, Json> | undefined)?.[status]?.content ?? {}) as Record<string, Json>;
      for (const responseMedia of Object.values(content)) responseMedia.example = example;
    }
  }
}

/**
 * fastify-type-provider-zod emits each named schema twice, `X` (as sent) and `XInput` (as
 * accepted). Repeated until nothing changes: where the two are the same, references go to `X`;
 * an `XInput` nothing refers to is dropped; an `XInput` whose `X` nothing refers to takes its name.
 * What still ends in `Input` differs from its output form and both are used.
 */
function mergeInputComponents(document: Json): void {
  const components = (document.components ?? {}) as Json;
  const schemas = (components.schemas ?? {}) as Record<string, unknown>;
  const ref = (name: string) => `#/components/schemas/${name}`;
  const rename = (from: string, to: string) => {
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (value === null || typeof value !== 'object') return value;
      return Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, k === '$ref' && v === ref(from) ? ref(to) : rewrite(v)]));
    };
    for (const key of Object.keys(document)) if (key !== 'components') document[key] = rewrite(document[key]);
    for (const [name, schema] of Object.entries(schemas)) schemas[name] = rewrite(schema);
  };
  const referenced = (name: string) => JSON.stringify(document).includes(`"${ref(name)}"`);
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of Object.keys(schemas).filter((n) => n.endsWith('Input'))) {
      const output = name.slice(0, -'Input'.length);
      if (!(output in schemas) || isDeepStrictEqual(schemas[name], schemas[output])) {
        if (output in schemas) rename(name, output);
        else {
          schemas[output] = schemas[name];
          rename(name, output);
        }
        delete schemas[name];
        changed = true;
      } else if (!referenced(name)) {
        delete schemas[name];
        changed = true;
      } else if (!referenced(output)) {
        schemas[output] = schemas[name];
        rename(name, output);
        delete schemas[name];
        changed = true;
      }
    }
  }
}
