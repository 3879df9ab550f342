import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
// The same module instance that http-errors.ts imports, so instanceof checks hold.
import {
  BrokerUnavailableError,
  ConfigError,
  InvalidTaskError,
  MalformedTaskIdError,
  StoreUnavailableError,
  TaskAlreadyFinishedError,
  TaskNotFoundError,
  UnauthorizedError,
  UnknownJobError,
} from '@celerity/core';
import { toProblem } from '../../src/http-errors.js';

const request = { url: '/tasks/123', id: 'req-7', headers: {} } as unknown as FastifyRequest;

describe('toProblem', () => {
  it('maps InvalidTaskError to 422 with its field', () => {
    expect(toProblem(new InvalidTaskError('input is too big', 'input'), request)).toEqual({
      type: 'https://celerity.dev/problems/invalid-task',
      title: 'Unprocessable Content',
      status: 422,
      detail: 'input is too big',
      code: 'INVALID_TASK',
      instance: '/tasks/123',
      trace_id: 'req-7',
      errors: [{ field: 'input', message: 'input is too big' }],
    });
  });

  it('maps UnknownJobError to 422 UNKNOWN_JOB on field "task"', () => {
    const body = toProblem(new UnknownJobError('no job module "demo"', 'task'), request);
    expect(body.status).toBe(422);
    expect(body.code).toBe('UNKNOWN_JOB');
    expect(body.errors).toEqual([{ field: 'task', message: 'no job module "demo"' }]);
  });

  it('omits errors[] for an InvalidTaskError without a field', () => {
    expect(toProblem(new InvalidTaskError('nope'), request).errors).toBeUndefined();
  });

  it('maps TaskAlreadyFinishedError to 409 with task_status', () => {
    const body = toProblem(new TaskAlreadyFinishedError('succeeded'), request);
    expect(body).toMatchObject({ status: 409, title: 'Conflict', code: 'TASK_ALREADY_FINISHED', task_status: 'succeeded' });
  });

  it.each([
    [new TaskNotFoundError('no such task'), 404, 'TASK_NOT_FOUND'],
    [new MalformedTaskIdError('"abc" is not a task id'), 400, 'MALFORMED_TASK_ID'],
    [new UnauthorizedError('missing API key'), 401, 'UNAUTHORIZED'],
    [new BrokerUnavailableError('rabbitmq is down'), 503, 'BROKER_UNAVAILABLE'],
    [new StoreUnavailableError('redis is down'), 503, 'STORE_UNAVAILABLE'],
  ])('maps %s to its status and keeps the message', (err, status, code) => {
    const body = toProblem(err, request);
    expect(body.status).toBe(status);
    expect(body.code).toBe(code);
    expect(body.detail).toBe(err.message);
    expect(body.instance).toBe('/tasks/123');
    expect(body.trace_id).toBe('req-7');
  });

  it('answers a thrown null or undefined with a 500 problem instead of crashing', () => {
    expect(toProblem(null, request)).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(toProblem(undefined, request)).toMatchObject({ status: 500, code: 'INTERNAL' });
  });

  it('hides the message of a plain Error behind a 500', () => {
    const body = toProblem(new Error('password=hunter2 at db.ts:12'), request);
    expect(body).toEqual({
      type: 'https://celerity.dev/problems/internal',
      title: 'Internal Server Error',
      status: 500,
      detail: 'internal error',
      code: 'INTERNAL',
      instance: '/tasks/123',
      trace_id: 'req-7',
    });
  });

  it('hides the message of an AppError that has no HTTP mapping', () => {
    const body = toProblem(new ConfigError('secret path /etc/x'), request);
    expect(body.status).toBe(500);
    expect(body.detail).toBe('internal error');
  });

  it('maps a 413 from Fastify to BODY_TOO_LARGE', () => {
    const body = toProblem({ statusCode: 413, message: 'Request body is too large' }, request);
    expect(body).toMatchObject({ status: 413, title: 'Content Too Large', code: 'BODY_TOO_LARGE', detail: 'Request body is too large' });
  });

  it('maps a 415 from Fastify to UNSUPPORTED_MEDIA_TYPE, saying to send JSON', () => {
    expect(toProblem({ statusCode: 415, message: 'x' }, request)).toMatchObject({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      detail: 'no Content-Type: send a JSON body with Content-Type: application/json',
    });
  });

  it("keeps the query (it may hold an access_token) out of a problem's instance", () => {
    const withToken = { ...request, url: '/tasks/123/events?access_token=secret-token' } as unknown as FastifyRequest;
    const body = toProblem(new TaskNotFoundError('task 123 not found'), withToken);
    expect(body.instance).toBe('/tasks/123/events');
    expect(JSON.stringify(body)).not.toContain('secret-token');
  });

  it('does not trust a 5xx statusCode on a foreign error', () => {
    expect(toProblem({ statusCode: 502, message: 'upstream secret' }, request)).toMatchObject({ status: 500, detail: 'internal error' });
  });
});
