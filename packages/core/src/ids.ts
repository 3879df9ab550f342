import { v7 as uuidv7, validate, version } from 'uuid';
import { MalformedTaskIdError } from './errors.js';

/** Task ids are UUIDv7: unique without coordination and sortable by creation time (the list index relies on it). */
export function newTaskId(): string {
  return uuidv7();
}

export function newTraceId(): string {
  return uuidv7().replaceAll('-', '');
}

/**
 * The task id a generated trace id stands for (newTraceId: a UUIDv7 without its dashes), or null.
 * A single submission without a caller's trace id takes its trace id as its task id, so the task is
 * found by its trace id without an index.
 */
export function taskIdOfTraceId(traceId: string): string | null {
  if (!/^[0-9a-f]{32}$/.test(traceId)) return null;
  const id = `${traceId.slice(0, 8)}-${traceId.slice(8, 12)}-${traceId.slice(12, 16)}-${traceId.slice(16, 20)}-${traceId.slice(20)}`;
  return validate(id) && version(id) === 7 ? id : null;
}

/** Whether a trace id is the one made up for this very task (taskIdOfTraceId's converse, without parsing). */
export function isOwnTraceId(taskId: string, traceId: string): boolean {
  return traceId.length === 32 && taskId.replaceAll('-', '') === traceId;
}

export function assertTaskId(id: string): void {
  if (!validate(id) || version(id) !== 7) throw new MalformedTaskIdError(`"${id.slice(0, 64)}" is not a task id (a UUIDv7)`);
}
