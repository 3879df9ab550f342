/**
 * Calls to the Celerity API from the page. The page never holds an API key: the session cookie
 * (HttpOnly) rides along by itself, and requests that change something carry the session's CSRF token.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  auth: boolean;
  role: 'admin' | 'read';
  csrf_token: string | null;
  expires_at: string | null;
}

let csrfToken: string | null = null;
let onSignedOut: () => void = () => {};

export function useSession(session: Session | null, signedOut: () => void): void {
  csrfToken = session?.csrf_token ?? null;
  onSignedOut = signedOut;
}

export async function api<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (res.status === 204) return null as T;
  const data = (await res.json().catch(() => null)) as (T & { code?: string; detail?: string }) | null;
  if (!res.ok) {
    // a session that ended meanwhile (signed out elsewhere, expired, key rotated out): back to sign-in
    if (res.status === 401 && !path.startsWith('/ui/session')) onSignedOut();
    throw new ApiError(res.status, data?.code ?? `HTTP_${res.status}`, data?.detail ?? res.statusText);
  }
  return data as T;
}

export const getSession = () => api<Session>('GET', '/ui/session');
export const signIn = (apiKey: string) => api<Session>('POST', '/ui/session', { api_key: apiKey });
export const signOut = () => api<null>('DELETE', '/ui/session');

/** as @celerity/core TASK_STATUSES (the browser test checks the filter offers exactly those) */
export const STATUSES = ['pending', 'scheduled', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'expired'] as const;
export type TaskStatus = (typeof STATUSES)[number];
export const FINISHED: readonly string[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'];

export interface TaskError {
  type: string;
  message: string;
  retryable?: boolean;
  stack?: string;
}

export interface TaskRecord {
  id: string;
  task: string;
  status: TaskStatus;
  queue: string;
  priority: number;
  input?: unknown;
  result?: unknown;
  error: TaskError | null;
  progress: { percent: number; message: string | null; data?: unknown } | null;
  attempts: number;
  max_retries: number;
  time_limit: number | null;
  soft_time_limit: number | null;
  trace_id: string;
  metadata?: Record<string, unknown> | null;
  callback: { url: string; state: string; attempts: number; last_status: number | null; last_error: string | null } | null;
  worker: string | null;
  stopping: boolean;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  eta: string | null;
  expires?: string | null;
  schedule: { name: string; fire_at: string } | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  total?: number;
}

export interface DeadLetter {
  id: string;
  reason: string;
  dead_lettered_at: string;
  queue: string;
  error: TaskError | null;
  task_id: string | null;
  task: string | null;
  attempts: number | null;
  trace_id: string | null;
  input: unknown;
  body: string | null;
}

export interface Schedule {
  name: string;
  task: string;
  cron?: string;
  every?: number | string;
  timezone?: string;
  queue?: string;
  paused: boolean;
  source: string;
  next_runs: string[];
  last_run: { fire_at: string; fired_at: string; task_id: string | null; status: string | null; error: { message: string } | null } | null;
}

export const query = (params: Record<string, string | number | undefined | null>) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
};
