import type { components } from './openapi-types.js';

/** An RFC 9457 problem as the API sends it (application/problem+json). */
export type Problem = components['schemas']['Problem'];

/** Every error this client throws. */
export class CelerityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The API answered with an error status. `code` is the problem's stable code (`TASK_NOT_FOUND`,
 * `VALIDATION_FAILED`, `UNKNOWN_JOB`, `BROKER_UNAVAILABLE`, …): branch on it, never on `message`.
 */
export class ApiError extends CelerityError {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;
  /** seconds, from Retry-After on a 429 or 503 */
  readonly retryAfterSeconds: number | undefined;

  constructor(problem: Problem, retryAfterSeconds?: number) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
    this.status = problem.status;
    this.code = problem.code;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** wait() ran out of time before the task finished; the task itself goes on. */
export class WaitTimeoutError extends CelerityError {
  constructor(
    readonly taskId: string,
    readonly timeoutMs: number,
  ) {
    super(`task ${taskId} did not finish within ${timeoutMs} ms`);
  }
}

/** The API could not be reached (connection refused or reset, DNS), after the retries allowed. */
export class ConnectionError extends CelerityError {}

/** Builds an ApiError from any error response, problem+json or not (a proxy's HTML page). */
export async function apiErrorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: Partial<Problem> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') body = parsed as Partial<Problem>;
  } catch {
    // not JSON: described below from the status alone
  }
  const problem: Problem = {
    ...body,
    type: body.type ?? 'about:blank',
    title: body.title ?? response.statusText,
    status: response.status,
    detail: body.detail ?? (text.slice(0, 200) || response.statusText),
    code: typeof body.code === 'string' ? body.code : `HTTP_${response.status}`,
  };
  return new ApiError(problem, retryAfterSeconds(response.headers.get('retry-after')));
}

/** Retry-After as seconds: either a number of seconds or an HTTP date. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
