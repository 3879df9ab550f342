import { v7 as uuidv7, validate, version } from 'uuid';
import { MalformedTaskIdError } from './errors.js';

/** Task ids are UUIDv7: unique without coordination and sortable by creation time (the list index relies on it). */
export function newTaskId(): string {
  return uuidv7();
}

export function newTraceId(): string {
  return uuidv7().replaceAll('-', '');
}

export function assertTaskId(id: string): void {
  if (!validate(id) || version(id) !== 7) throw new MalformedTaskIdError(`"${id.slice(0, 64)}" is not a task id (a UUIDv7)`);
}
