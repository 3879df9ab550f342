import { describe, expect, it } from 'vitest';
import {
  BrokerUnavailableError,
  InvalidTaskNameError,
  NonRetryableError,
  TaskAlreadyFinishedError,
  toErrorPayload,
  RetryLaterError,
} from '../../src/errors.js';

describe('toErrorPayload', () => {
  it('maps a plain Error to its name, message and retryable true', () => {
    expect(toErrorPayload(new Error('boom'))).toEqual({ type: 'Error', message: 'boom', retryable: true });
    expect(toErrorPayload(new TypeError('bad type'))).toEqual({ type: 'TypeError', message: 'bad type', retryable: true });
  });

  it('uses the code and retryable flag of AppError subclasses', () => {
    expect(toErrorPayload(new NonRetryableError('give up'))).toEqual({ type: 'JOB_NON_RETRYABLE', message: 'give up', retryable: false });
    expect(toErrorPayload(new RetryLaterError('rate limited', 1_500))).toEqual({ type: 'JOB_RETRY_LATER', message: 'rate limited', retryable: true, retry_delay_ms: 1_500 });
    // matched by code: a job module's own copy of @celerity/core throws the same
    expect(toErrorPayload(Object.assign(new Error('later'), { code: 'JOB_RETRY_LATER', retryable: true, delayMs: 20 }))).toMatchObject({ retry_delay_ms: 20 });
    expect(() => new RetryLaterError('no', -1)).toThrow(RangeError);
    expect(toErrorPayload(new BrokerUnavailableError('down'))).toEqual({ type: 'BROKER_UNAVAILABLE', message: 'down', retryable: true });
    expect(toErrorPayload(new InvalidTaskNameError('bad name', 'task'))).toEqual({ type: 'INVALID_TASK_NAME', message: 'bad name', retryable: false });
    expect(toErrorPayload(new TaskAlreadyFinishedError('succeeded'))).toEqual({
      type: 'TASK_ALREADY_FINISHED',
      message: 'task already finished with status succeeded',
      retryable: false,
    });
  });

  it('keeps the name when an Error carries a code that is not an UPPER_SNAKE identifier', () => {
    const err = Object.assign(new RangeError('odd'), { code: 'not-a-code' });
    expect(toErrorPayload(err).type).toBe('RangeError');
  });

  it('coerces non-Error throws', () => {
    expect(toErrorPayload('just a string')).toEqual({ type: 'NonErrorThrown', message: 'just a string', retryable: true });
    expect(toErrorPayload({ reason: 'x', n: 1 })).toEqual({ type: 'NonErrorThrown', message: '{"reason":"x","n":1}', retryable: true });
    expect(toErrorPayload(undefined)).toEqual({ type: 'NonErrorThrown', message: 'undefined', retryable: true });
    expect(toErrorPayload(null)).toEqual({ type: 'NonErrorThrown', message: 'null', retryable: true });
    expect(toErrorPayload(42n)).toEqual({ type: 'NonErrorThrown', message: '42', retryable: true });
  });

  it('survives a circular object', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(toErrorPayload(circular)).toEqual({ type: 'NonErrorThrown', message: '[object Object]', retryable: true });
  });

  it('never includes a stack or any other field', () => {
    const payload = toErrorPayload(new NonRetryableError('x', { cause: new Error('inner') }));
    expect(Object.keys(payload).sort()).toEqual(['message', 'retryable', 'type']);
    expect(JSON.stringify(payload)).not.toContain('at ');
  });
});
