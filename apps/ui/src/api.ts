/**
 * Calls to the Celerity API from the page. The page never holds an API key: the session cookie
 * (HttpOnly) rides along by itself, and requests that change something carry the session's CSRF token.
 */
import type { TaskRecord } from '@celerity/client';

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
export const FINISHED: readonly string[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'];

// the API's shapes, generated from openapi/openapi.json for @celerity/client: written once
export type { DeadLetter, Schedule, StatsHistory, TaskRecord, TaskStatus } from '@celerity/client';
export type TaskError = NonNullable<TaskRecord['error']>;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  total?: number;
}

export const query = (params: Record<string, string | number | undefined | null>) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
};
