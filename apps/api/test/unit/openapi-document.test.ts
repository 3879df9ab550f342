/**
 * The OpenAPI document as a newcomer meets it in Swagger UI (/docs): examples that work with the
 * sample jobs, a description per status, problem bodies under application/problem+json, no padlock
 * on open routes, no *Input duplicates, no WebSocket operation to "try", the UI pointed at /openapi.json.
 */
import { ScheduleSpec, createJobRegistry } from '@celerity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDocumentApp } from '../../src/openapi.js';
import { REQUEST_EXAMPLES, RESPONSE_EXAMPLES } from '../../src/openapi-document.js';
import { WatchTokenBody } from '../../src/schemas/task-events.js';
import { ProblemSchema, SubmitBatchBody, SubmitTaskBody, TaskRecordSchema } from '../../src/schemas/tasks.js';

type Json = Record<string, any>;
let app: Awaited<ReturnType<typeof buildDocumentApp>>;
let doc: Json;
beforeAll(async () => {
  app = await buildDocumentApp();
  doc = app.swagger() as Json;
});
afterAll(() => app.close());

const operations = (): [string, Json][] =>
  Object.entries(doc.paths as Json).flatMap(([path, item]) => Object.entries(item as Json).map(([method, op]) => [`${method} ${path}`, op as Json] as [string, Json]));

describe('the OpenAPI document behind /docs', () => {
  it('has one component per schema: no *Input twin', () => {
    expect(Object.keys(doc.components.schemas).filter((name) => name.endsWith('Input'))).toEqual([]);
    expect(JSON.stringify(doc)).not.toMatch(/Input"/);
  });

  it('describes every status code of every operation (no "Default Response")', () => {
    for (const [key, op] of operations()) {
      for (const [status, response] of Object.entries(op.responses as Json)) {
        expect(response.description, `${key} ${status}`).toBeTruthy();
        expect(response.description, `${key} ${status}`).not.toBe('Default Response');
      }
    }
  });

  it('declares error bodies as application/problem+json, the type they are served with', () => {
    let errors = 0;
    for (const [key, op] of operations()) {
      for (const [status, response] of Object.entries(op.responses as Json)) {
        if (Number(status) < 400 || !response.content) continue;
        errors += 1;
        expect(Object.keys(response.content), `${key} ${status}`).toEqual(['application/problem+json']);
        expect(response.content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
      }
    }
    expect(errors).toBeGreaterThan(50);
  });

  it('shows no padlock on the open routes, a watch token on the event stream, the API key elsewhere', () => {
    expect(doc.paths['/health'].get.security).toEqual([]);
    expect(doc.paths['/ready'].get.security).toEqual([]);
    expect(doc.paths['/tasks/{id}/events'].get.security).toEqual([{ apiKey: [] }, { bearer: [] }, { watchToken: [] }]);
    expect(doc.paths['/tasks'].post.security).toBeUndefined(); // the document's default: API key or bearer
    expect(doc.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
  });

  it('documents /ready when it is not ready (503)', () => {
    expect(Object.keys(doc.paths['/ready'].get.responses)).toEqual(['200', '503']);
  });

  it('lists no WebSocket operation to "Try it out", and says where it is described; links /openapi.json', () => {
    expect(doc.paths['/tasks/events/ws']).toBeUndefined();
    expect(doc.info.description).toContain('GET /tasks/events/ws');
    expect(doc.info.description).toContain('[/openapi.json](/openapi.json)');
  });

  it('gives request examples that a fresh API with the sample jobs accepts', async () => {
    const jobs = createJobRegistry(new URL('../../../../examples/jobs', import.meta.url).pathname);
    const submitExamples = Object.values(doc.paths['/tasks'].post.requestBody.content['application/json'].examples as Json);
    expect(submitExamples.length).toBeGreaterThanOrEqual(3);
    expect(submitExamples[0].value).toEqual({ task: 'demo.echo', input: { hello: 'world' } }); // the one Swagger UI fills in
    const tasks = [...submitExamples.map((e) => e.value), ...(REQUEST_EXAMPLES['post /tasks/batch']!.two!.value as { tasks: unknown[] }).tasks];
    for (const task of tasks) {
      const body = SubmitTaskBody.parse(task);
      const { job } = await jobs.resolve(body.task);
      if (job.input) expect(job.input.safeParse(body.input).success, body.task).toBe(true);
    }
    for (const example of Object.values(REQUEST_EXAMPLES['post /tasks/batch']!)) SubmitBatchBody.parse(example.value);
    for (const example of Object.values(REQUEST_EXAMPLES['post /events/tokens']!)) WatchTokenBody.parse(example.value);
    for (const example of Object.values(REQUEST_EXAMPLES['post /schedules']!)) {
      const spec = ScheduleSpec.parse(example.value);
      await jobs.resolve(spec.task);
    }
    for (const [key, examples] of Object.entries(REQUEST_EXAMPLES)) {
      const [method, path] = key.split(' ') as [string, string];
      expect(doc.paths[path][method].requestBody.content['application/json'].examples, key).toEqual(examples);
    }
  });

  it('gives response examples that match the response schemas (a record, a problem)', () => {
    let shown = 0;
    for (const [key, byStatus] of Object.entries(RESPONSE_EXAMPLES)) {
      const [method, path] = key.split(' ') as [string, string];
      for (const [status, example] of Object.entries(byStatus)) {
        (Number(status) >= 400 ? ProblemSchema : TaskRecordSchema).strict().parse(example);
        const content = doc.paths[path][method].responses[status].content as Json;
        expect(Object.values(content).map((media) => media.example), `${key} ${status}`).toEqual([example]);
        shown += 1;
      }
    }
    expect(shown).toBeGreaterThanOrEqual(4);
  });

  it('Swagger UI loads the document from /openapi.json', async () => {
    const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    expect(init.body).toContain('"url":"/openapi.json"');
    const served = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(served.json()).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});


