import { existsSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { InvalidTaskNameError, UnknownJobError } from './errors.js';

const SEGMENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Names that are valid identifiers but reach into Object.prototype. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
/** in the order a module path is looked up */
export const JOB_MODULE_EXTENSIONS = ['.js', '.mjs', '.ts'] as const;
export const MAX_TASK_NAME_LENGTH = 200;

export interface TaskRef {
  /** module path segments, e.g. ['reports', 'monthly'] */
  modulePath: string[];
  exportName: string;
}

/** `reports.monthly.generate` → module reports/monthly, export generate. Pure: no file system. */
export function parseTaskName(name: string): TaskRef {
  if (name.length === 0 || name.length > MAX_TASK_NAME_LENGTH) {
    throw new InvalidTaskNameError(`task name must be 1 to ${MAX_TASK_NAME_LENGTH} characters`, 'task');
  }
  const segments = name.split('.');
  if (segments.length < 2) throw new InvalidTaskNameError('task name must be "module.export", e.g. "demo.echo"', 'task');
  for (const segment of segments) {
    if (FORBIDDEN_SEGMENTS.has(segment)) throw new InvalidTaskNameError(`task name segment "${segment}" is not allowed`, 'task');
    if (!SEGMENT.test(segment)) {
      throw new InvalidTaskNameError(
        segment === ''
          ? `task name "${name}" has an empty segment: a task name is module.path.export, dot-separated identifiers (no "..", "/" or leading, trailing or double dots), e.g. "reports.monthly.generate"`
          : `task name segment "${segment}" is not an identifier (letters, digits, _ and $, not starting with a digit; no "/" or "-"): a task name is module.path.export, e.g. "reports.monthly.generate"`,
        'task',
      );
    }
  }
  return { modulePath: segments.slice(0, -1), exportName: segments.at(-1)! };
}

/**
 * Finds the module file of a task under jobsRoot. The real path (symlinks resolved) must stay
 * inside the real jobsRoot, so a symlink cannot smuggle in a module from elsewhere.
 */
export function resolveJobFile(jobsRoot: string, ref: TaskRef): string {
  const realRoot = realpathSync(jobsRoot);
  for (const ext of JOB_MODULE_EXTENSIONS) {
    const candidate = join(realRoot, ...ref.modulePath) + ext;
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (!real.startsWith(realRoot + sep)) throw new InvalidTaskNameError('task module resolves outside JOBS_ROOT', 'task');
    return real;
  }
  throw new UnknownJobError(`no job module "${ref.modulePath.join('/')}" under JOBS_ROOT`, 'task');
}
