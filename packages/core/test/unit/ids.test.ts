import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MalformedTaskIdError } from '../../src/errors.js';
import { assertTaskId, isOwnTraceId, newTaskId, newTraceId, taskIdOfTraceId } from '../../src/ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('task ids', () => {
  it('newTaskId returns a lower-case UUIDv7 that assertTaskId accepts', () => {
    const id = newTaskId();
    expect(id).toMatch(UUID_V7);
    expect(() => assertTaskId(id)).not.toThrow();
  });

  it('sorts ids made later after earlier ones, lexically', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(newTaskId());
      await sleep(2);
    }
    expect(new Set(ids).size).toBe(5);
    expect([...ids].sort()).toEqual(ids);
  });

  it.each([
    ['abc'],
    ['9f1c2a4e-3b5d-4c6e-8f70-1a2b3c4d5e6f'], // UUIDv4
    ['../x'],
    [''],
    ['0190a6c4-7b1e-7c3d-8e4f-5a6b7c8d9e0f/../x'],
  ])('assertTaskId refuses %j with MalformedTaskIdError', (id) => {
    expect(() => assertTaskId(id)).toThrow(MalformedTaskIdError);
  });

  it('newTraceId is 32 hex characters without dashes', () => {
    expect(newTraceId()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('a trace id made up as a task id', () => {
  it('is the task id without its dashes, and only that task\'s own', () => {
    const traceId = newTraceId();
    const taskId = taskIdOfTraceId(traceId)!;
    expect(taskId).not.toBeNull();
    expect(isOwnTraceId(taskId, traceId)).toBe(true);
    expect(isOwnTraceId(newTaskId(), traceId)).toBe(false);
    expect(isOwnTraceId(taskId, 'caller-trace-1')).toBe(false);
    expect(taskIdOfTraceId('caller-trace-1')).toBeNull();
  });
});
