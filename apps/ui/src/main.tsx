import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getSession, signIn, signOut, useSession, type Session } from './api.js';
import { describeError, Notices, SessionContext } from './components.js';
import { useHashRoute } from './hooks.js';
import { DeadLetters, Schedules } from './pages/dead-letters.js';
import { Overview, Queues, Workers } from './pages/ops.js';
import { TaskList, TaskPage } from './pages/tasks.js';
import './style.css';

const PAGES = [
  { path: '/', label: 'Overview' },
  { path: '/tasks', label: 'Tasks' },
  { path: '/dead-letters', label: 'Dead letters' },
  { path: '/schedules', label: 'Schedules' },
  { path: '/workers', label: 'Workers' },
  { path: '/queues', label: 'Queues' },
];

function SignIn({ onSignedIn, reason }: { onSignedIn: (s: Session) => void; reason: string | undefined }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const session = await signIn(key);
      setKey(''); // the key is not kept anywhere in the page
      onSignedIn(session);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That API key is not accepted.' : describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <h1>Celerity</h1>
      <form onSubmit={submit} aria-label="Sign in">
        {reason && <p class="muted">{reason}</p>}
        <label for="api-key">API key</label>
        <input id="api-key" name="api_key" type="password" autocomplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p class="error-text" role="alert">
            {error}
          </p>
        )}
        <p class="muted small">The key is exchanged for a session cookie the page cannot read; it is not stored in the browser.</p>
      </form>
    </main>
  );
}

function Route({ route }: { route: string }) {
  const [path = '/', search = ''] = route.split('?');
  const task = /^\/tasks\/([^/]+)$/.exec(path);
  if (task) return <TaskPage id={task[1]!} />;
  switch (path) {
    case '/':
      return <Overview />;
    case '/tasks':
      return <TaskList initial={Object.fromEntries(new URLSearchParams(search))} />;
    case '/dead-letters':
      return <DeadLetters />;
    case '/schedules':
      return <Schedules />;
    case '/workers':
      return <Workers />;
    case '/queues':
      return <Queues />;
    default:
      return <p>No page here. <a href="#/">Overview</a></p>;
  }
}

function toggleTheme() {
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  localStorage.setItem('celerity-theme', next); // a preference, nothing secret
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [reason, setReason] = useState<string>();
  const route = useHashRoute();
  useSession(session ?? null, () => {
    setReason('Your session has ended; sign in again.');
    setSession(null);
  });
  useEffect(() => {
    getSession().then(setSession, () => setSession(null));
  }, []);
  useEffect(() => {
    document.title = `${PAGES.find((p) => p.path === route.split('?')[0])?.label ?? (route.startsWith('/tasks/') ? 'Task' : 'Celerity')} · Celerity`;
  }, [route]);

  if (session === undefined) return <p aria-busy="true">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={(s) => (setReason(undefined), setSession(s))} reason={reason} />;
  const current = route.split('?')[0]!;
  return (
    <SessionContext.Provider value={session}>
      <Notices>
        <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
          Skip to content
        </a>
        <header>
          <strong class="brand">Celerity</strong>
          <nav aria-label="Pages">
            {PAGES.map((p) => (
              <a href={`#${p.path}`} aria-current={current === p.path || (p.path === '/tasks' && current.startsWith('/tasks/')) ? 'page' : undefined}>
                {p.label}
              </a>
            ))}
          </nav>
          <div class="row">
            <span class="badge" data-testid="role" title={session.auth ? 'signed in' : 'the API runs without API keys (loopback only)'}>
              {session.auth ? (session.role === 'admin' ? 'admin' : 'read-only') : 'auth off'}
            </span>
            <button type="button" onClick={toggleTheme} aria-label="Switch between dark and light theme">
              Theme
            </button>
            {session.auth && (
              <button type="button" data-testid="sign-out" onClick={() => void signOut().finally(() => (setReason('Signed out.'), setSession(null)))}>
                Sign out
              </button>
            )}
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          <Route route={route} />
        </main>
      </Notices>
    </SessionContext.Provider>
  );
}

document.documentElement.dataset.theme = localStorage.getItem('celerity-theme') ?? 'dark';
render(<App />, document.getElementById('app')!);
