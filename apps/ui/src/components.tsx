import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, type Session } from './api.js';

export const SessionContext = createContext<Session>({ auth: false, role: 'admin', csrf_token: null, expires_at: null });
export const useIsAdmin = () => useContext(SessionContext).role === 'admin';

/** One polite live region for what actions did, read out by screen readers. */
export const NoticeContext = createContext<(message: string, kind?: 'ok' | 'error') => void>(() => {});

export function Notices({ children }: { children: ComponentChildren }) {
  const [notice, setNotice] = useState<{ message: string; kind: 'ok' | 'error'; at: number } | null>(null);
  useEffect(() => {
    if (!notice) return undefined;
    const timer = setTimeout(() => setNotice(null), 8_000);
    return () => clearTimeout(timer);
  }, [notice]);
  return (
    <NoticeContext.Provider value={(message, kind = 'ok') => setNotice({ message, kind, at: Date.now() })}>
      {children}
      <div class={`notice ${notice?.kind ?? ''}`} role="status" aria-live="polite" data-testid="notice">
        {notice?.message}
      </div>
    </NoticeContext.Provider>
  );
}

export const describeError = (err: unknown) => (err instanceof ApiError ? `${err.message} (${err.status} ${err.code})` : String((err as Error)?.message ?? err));

/**
 * A button for an action of the API. Admin sessions only (read-only sessions do not see it; the API
 * refuses it to them anyway). `confirm` asks first, in a modal dialog, for what destroys something.
 */
export function Action(props: {
  label: string;
  run: () => Promise<unknown>;
  done?: (result: unknown) => void;
  confirm?: string;
  danger?: boolean;
  testId?: string;
}) {
  const isAdmin = useIsAdmin();
  const notify = useContext(NoticeContext);
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  if (!isAdmin) return null;
  const go = async () => {
    setBusy(true);
    try {
      const result = await props.run();
      notify(`${props.label}: done`);
      props.done?.(result);
    } catch (err) {
      notify(`${props.label} refused: ${describeError(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={props.danger ? 'danger' : ''} disabled={busy} data-testid={props.testId} onClick={() => (props.confirm ? dialog.current?.showModal() : void go())}>
        {props.label}
      </button>
      {props.confirm && (
        <dialog ref={dialog} aria-labelledby={titleId}>
          <form method="dialog">
            <h2 id={titleId}>{props.label}?</h2>
            <p>{props.confirm}</p>
            <div class="row">
              <button value="cancel" autofocus>
                Keep it
              </button>
              <button value="confirm" class="danger" data-testid={props.testId ? `${props.testId}-confirm` : undefined} onClick={() => void go()}>
                {props.label}
              </button>
            </div>
          </form>
        </dialog>
      )}
    </>
  );
}

export function StatusBadge({ status, stopping }: { status: string; stopping?: boolean }) {
  return (
    <span class={`badge s-${status}`} data-testid="status">
      {status}
      {stopping ? ' (stopping)' : ''}
    </span>
  );
}

export function ProgressBar({ percent, label }: { percent: number; label: string }) {
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value} data-testid="progress">
      <div class="bar" style={{ width: `${value}%` }} />
      <span>{value}%</span>
    </div>
  );
}

export function Json({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null) return <p class="muted">none</p>;
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : '—');

export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return '—';
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

/** What a page shows when its endpoint failed: "not available" for a 404 (an API without that route). */
export function LoadError({ error, what }: { error: unknown; what: string }) {
  if (error instanceof ApiError && error.status === 404 && error.code === 'ROUTE_NOT_FOUND') {
    return (
      <p class="unavailable" data-testid="unavailable">
        {what}: not available on this server (its API has no such endpoint yet).
      </p>
    );
  }
  return (
    <p class="error-box" role="alert">
      {what}: {describeError(error)}
    </p>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <div class="card-head">
        <h2>{title}</h2>
        {actions && <div class="row">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

/** A table's header row; an empty label is an actions column (named for screen readers only). */
export function TableHead({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th scope="col">{c || <span class="sr-only">Actions</span>}</th>
        ))}
      </tr>
    </thead>
  );
}
