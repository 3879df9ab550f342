import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, FINISHED, query, STATUSES, type Page, type TaskRecord } from '../api.js';
import { Action, ago, duration, Json, LoadError, ProgressBar, Section, StatusBadge, when, TableHead } from '../components.js';
import { navigate } from '../hooks.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Filters {
  status: string;
  queue: string;
  task: string;
  schedule: string;
  trace_id: string;
  /** `datetime-local` values (the browser's time zone); sent as ISO-8601 UTC */
  finished_after: string;
  finished_before: string;
}

const EMPTY: Filters = { status: '', queue: '', task: '', schedule: '', trace_id: '', finished_after: '', finished_before: '' };
const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** Rows fetched a request (the API's largest page). */
const PAGE = 100;
/** Every row has one height (style.css `.task-rows tr`; measured once drawn), so the rows in view follow from the scroll position. */
const ROW_PX = 48;
/** Rows rendered above and below those in view, so a fast scroll does not show blanks. */
const OVERSCAN = 10;
/** The next page is fetched when the view comes this close (rows) to the last row loaded. */
const PREFETCH = 30;

/** Stands in for rows out of view: their height, nothing drawn. */
const Spacer = ({ height }: { height: number }) => (
  <tr aria-hidden="true" class="spacer">
    <td colSpan={8} style={{ height: `${height}px` }} />
  </tr>
);

/**
 * The first page again, merged with the rows loaded before: the fresh rows, then the older rows that
 * come after the last of them (those the first page no longer covers), without duplicates.
 */
function mergeHead(head: TaskRecord[], rows: TaskRecord[]): TaskRecord[] {
  const fresh = new Set(head.map((t) => t.id));
  let after = -1;
  for (const [i, t] of rows.entries()) if (fresh.has(t.id)) after = i;
  return [...head, ...rows.slice(after + 1).filter((t) => !fresh.has(t.id))];
}

/**
 * Tasks in the order the API lists them (GET /tasks), filtered by it; more pages load as the list
 * is scrolled, and only the rows in view (and a few around them) are in the page, so a list of
 * thousands scrolls as smoothly as one of fifty. While the list is scrolled to its top, its first
 * page is read again every 2 s.
 */
export function TaskList({ initial }: { initial: Partial<Filters> }) {
  const [filters, setFilters] = useState<Filters>({ ...EMPTY, ...initial });
  const [draft, setDraft] = useState<Filters>(filters);
  const [rows, setRows] = useState<TaskRecord[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loaded, setLoaded] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewRows, setViewRows] = useState(20);
  const [rowPx, setRowPx] = useState(ROW_PX);
  const [lookup, setLookup] = useState('');
  const [lookupError, setLookupError] = useState<string>();
  const scroller = useRef<HTMLDivElement>(null);
  const generation = useRef(0); // answers for filters no longer shown are dropped

  const fetchPage = (cursor: string | null) =>
    api<Page<TaskRecord>>('GET', `/tasks${query({ ...filters, finished_after: isoOf(filters.finished_after), finished_before: isoOf(filters.finished_before), cursor, limit: PAGE })}`);

  // filters changed: from the top; then the first page again every 2 s while the list is at its top
  useEffect(() => {
    const mine = ++generation.current;
    setRows([]);
    setNext(null);
    setLoaded(false);
    setError(undefined);
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
    const head = (first: boolean) =>
      fetchPage(null).then(
        (page) => {
          if (mine !== generation.current) return;
          setRows((current) => (first ? page.items : mergeHead(page.items, current)));
          if (first) setNext(page.next_cursor);
          setLoaded(true);
          setError(undefined);
        },
        (err: unknown) => mine === generation.current && setError(err),
      );
    void head(true);
    const timer = setInterval(() => {
      if (!document.hidden && (scroller.current?.scrollTop ?? 0) < rowPx) void head(false);
    }, 2_000);
    return () => clearInterval(timer);
  }, [JSON.stringify(filters)]);

  const loadMore = () => {
    if (!next || loadingMore) return;
    const mine = generation.current;
    setLoadingMore(true);
    fetchPage(next)
      .then(
        (page) => {
          if (mine !== generation.current) return;
          setRows((current) => {
            const have = new Set(current.map((t) => t.id));
            return [...current, ...page.items.filter((t) => !have.has(t.id))];
          });
          setNext(page.next_cursor);
        },
        (err: unknown) => mine === generation.current && setError(err),
      )
      .finally(() => setLoadingMore(false));
  };

  // the rows in view, from the scroll position and the height of the scrolling box
  useEffect(() => {
    const box = scroller.current;
    if (!box) return undefined;
    const measure = () => setViewRows(Math.ceil(box.clientHeight / rowPx));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(box);
    return () => observer.disconnect();
  }, [rowPx]);
  // the height a row really takes (borders and fonts may round it), so the spacers stay exact at depth
  useEffect(() => {
    const row = scroller.current?.querySelector<HTMLElement>('tr[data-testid="task-row"]');
    const height = row?.getBoundingClientRect().height;
    if (height && Math.abs(height - rowPx) > 0.01) setRowPx(height);
  }, [rows.length > 0]);
  const first = Math.max(0, Math.floor(scrollTop / rowPx) - OVERSCAN);
  const last = Math.min(rows.length, Math.floor(scrollTop / rowPx) + viewRows + OVERSCAN);
  useEffect(() => {
    if (loaded && next && !loadingMore && last + PREFETCH >= rows.length) loadMore();
  }, [last, rows.length, next, loaded, loadingMore]);

  const apply = (e: Event) => {
    e.preventDefault();
    setFilters(draft);
  };
  const open = async (e: Event) => {
    e.preventDefault();
    const id = lookup.trim();
    if (!UUID.test(id)) return setLookupError('a task id looks like 0193a1b2-…: 36 characters');
    try {
      await api('GET', `/tasks/${id}`);
      navigate(`/tasks/${id}`);
    } catch (err) {
      setLookupError(err instanceof ApiError && err.status === 404 ? `no task ${id} (unknown, or expired)` : String(err));
    }
  };
  const order = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'].includes(filters.status) || filters.finished_after || filters.finished_before
    ? 'newest finished first'
    : filters.status === 'running'
      ? 'newest started first'
      : filters.status === 'scheduled'
        ? 'soonest due first'
        : 'newest first';

  return (
    <>
      <h1>Tasks</h1>
      <div class="toolbar">
        <form class="filters" onSubmit={apply} aria-label="Filter tasks">
          <label>
            Status
            <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })} name="status">
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Queue
            <input name="queue" value={draft.queue} onInput={(e) => setDraft({ ...draft, queue: e.currentTarget.value })} placeholder="any" />
          </label>
          <label>
            Task name
            <input name="task" value={draft.task} onInput={(e) => setDraft({ ...draft, task: e.currentTarget.value })} placeholder="e.g. demo.echo" />
          </label>
          <label>
            Schedule
            <input name="schedule" value={draft.schedule} onInput={(e) => setDraft({ ...draft, schedule: e.currentTarget.value })} placeholder="any" size={12} />
          </label>
          <label>
            Trace id
            <input name="trace_id" value={draft.trace_id} onInput={(e) => setDraft({ ...draft, trace_id: e.currentTarget.value.trim() })} placeholder="any" size={16} />
          </label>
          <label>
            Finished after
            <input name="finished_after" type="datetime-local" step="1" value={draft.finished_after} onInput={(e) => setDraft({ ...draft, finished_after: e.currentTarget.value })} />
          </label>
          <label>
            Finished before
            <input name="finished_before" type="datetime-local" step="1" value={draft.finished_before} onInput={(e) => setDraft({ ...draft, finished_before: e.currentTarget.value })} />
          </label>
          <button type="submit">Filter</button>
          <button type="button" onClick={() => (setDraft(EMPTY), setFilters(EMPTY))}>
            Clear
          </button>
        </form>
        <form class="filters" onSubmit={open} aria-label="Open a task by id">
          <label>
            Task id
            <input name="id" value={lookup} onInput={(e) => (setLookup(e.currentTarget.value), setLookupError(undefined))} placeholder="0193…" size={38} />
          </label>
          <button type="submit">Open</button>
          {lookupError && (
            <span class="error-text" role="alert">
              {lookupError}
            </span>
          )}
        </form>
      </div>
      {error !== undefined && <LoadError error={error} what="Tasks" />}
      <p class="muted small" data-testid="task-count" aria-live="polite">
        {rows.length} {rows.length === 1 ? 'task' : 'tasks'} loaded{next ? ', more as you scroll' : loaded ? ', the whole list' : ''}
      </p>
      <div class="task-rows" ref={scroller} tabIndex={0} aria-label="Task list (scrolls)" role="region" onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
        <table data-testid="task-table" data-rows={rows.length} aria-rowcount={rows.length + 1}>
          <caption class="sr-only">
            Tasks, {order}; {rows.length} loaded; the first page refreshes every 2 seconds while the list is scrolled to its top
          </caption>
          <TableHead columns={['Task', 'Status', 'Progress', 'Queue', 'Priority', 'Attempts', 'Created', 'Run time']} />
          <tbody>
            {first > 0 && <Spacer height={first * rowPx} />}
            {rows.slice(first, last).map((t, i) => (
              <tr key={t.id} aria-rowindex={first + i + 2} data-testid="task-row">
                <td>
                  <a href={`#/tasks/${t.id}`}>{t.task}</a>
                  <div class="mono muted small">{t.id}</div>
                </td>
                <td>
                  <StatusBadge status={t.status} stopping={t.stopping} />
                </td>
                <td>{t.progress ? `${Math.round(t.progress.percent)}%` : '—'}</td>
                <td>{t.queue}</td>
                <td>{t.priority}</td>
                <td>{t.attempts}</td>
                <td title={when(t.created_at)}>{ago(t.created_at)}</td>
                <td>{duration(t.started_at, t.finished_at)}</td>
              </tr>
            ))}
            {last < rows.length && <Spacer height={(rows.length - last) * rowPx} />}
          </tbody>
        </table>
        {loaded && rows.length === 0 && <p class="muted">No task matches.</p>}
      </div>
      <nav class="row pager" aria-label="Pages">
        <button type="button" disabled={scrollTop === 0} onClick={() => scroller.current?.scrollTo({ top: 0 })}>
          Newest
        </button>
        <button type="button" disabled={!next || loadingMore} onClick={loadMore} data-testid="load-more">
          {loadingMore ? 'Loading…' : `Load ${PAGE} more`}
        </button>
      </nav>
    </>
  );
}

interface TimelineEntry {
  id: string;
  type: string;
  at: string;
  text: string;
}

/**
 * One task: the record (GET /tasks/:id), then its events (GET /tasks/:id/events, SSE, from the first
 * kept one) for the live progress bar and the timeline. Watching it keeps its events (see docs).
 */
export function TaskPage({ id }: { id: string }) {
  const [record, setRecord] = useState<TaskRecord>();
  const [error, setError] = useState<unknown>();
  const [timeline, setTimeline] = useState<TimelineEntry[]>([]);
  const [live, setLive] = useState(false);

  const load = () => api<TaskRecord>('GET', `/tasks/${id}`).then(setRecord, setError);
  useEffect(() => {
    setRecord(undefined);
    setTimeline([]);
    setError(undefined);
    void load();
    const events = new EventSource(`/tasks/${id}/events?last_event_id=0`);
    const add = (e: MessageEvent<string>, text: (d: Record<string, unknown>) => string) => {
      const data = JSON.parse(e.data) as Record<string, unknown>;
      setTimeline((list) => (list.some((x) => x.id === e.lastEventId) ? list : [...list, { id: e.lastEventId, type: e.type, at: String(data.at ?? ''), text: text(data) }]));
      return data;
    };
    events.onopen = () => setLive(true);
    events.addEventListener('state', (e) => setRecord(JSON.parse((e as MessageEvent<string>).data) as TaskRecord));
    events.addEventListener('progress', (e) => {
      const d = add(e as MessageEvent<string>, (d) => `progress ${Math.round(Number(d.percent))}%${d.message ? ` — ${String(d.message)}` : ''}`);
      setRecord((r) => (r ? { ...r, progress: { percent: Number(d.percent), message: (d.message as string | null) ?? null, data: d.data } } : r));
    });
    events.addEventListener('status', (e) => {
      const d = add(e as MessageEvent<string>, (d) => `${String(d.status)}${d.attempts ? ` (attempt ${String(d.attempts)})` : ''}${d.error ? `: ${(d.error as { message: string }).message}` : ''}`);
      if (d.record) setRecord(d.record as TaskRecord);
      else setRecord((r) => (r ? { ...r, status: d.status as TaskRecord['status'], attempts: Number(d.attempts ?? r.attempts) } : r));
    });
    events.onerror = () => {
      // closed after the final status (then 204 on reconnect), or the session ended
      if (events.readyState === EventSource.CLOSED) setLive(false);
    };
    return () => events.close();
  }, [id]);

  // a task cancelled while running stays `stopping` until its execution has ended, which comes after
  // its event stream closed with the final status: re-read the record until then
  useEffect(() => {
    if (!record?.stopping) return undefined;
    const timer = setInterval(() => void load(), 1_000);
    return () => clearInterval(timer);
  }, [record?.stopping, id]);

  if (error) return <LoadError error={error} what={`Task ${id}`} />;
  if (!record) return <p aria-busy="true">Loading task…</p>;
  const finished = FINISHED.includes(record.status);
  const running = record.status === 'running' || record.stopping;
  const percent = record.progress?.percent ?? (record.status === 'succeeded' ? 100 : 0);

  return (
    <>
      <h1>
        {record.task} <StatusBadge status={record.status} stopping={record.stopping} />
      </h1>
      <p class="mono muted">{record.id}</p>
      <ProgressBar percent={percent} label={`Progress of ${record.task}`} />
      <p class="muted" data-testid="progress-message">
        {record.progress?.message ?? ''} {live && !finished ? '· live' : ''}
      </p>
      <div class="row actions">
        {!finished && (
          <Action
            label="Cancel"
            testId="cancel"
            danger
            confirm="The task will not run; a running execution gets its abort signal."
            run={() => api('DELETE', `/tasks/${id}`)}
            done={() => void load()}
          />
        )}
        {running && (
          <Action
            label="Terminate"
            testId="terminate"
            danger
            confirm="Kills the execution even if it ignores its abort signal."
            run={() => api('DELETE', `/tasks/${id}?terminate=true`)}
            done={() => void load()}
          />
        )}
        {finished && (
          <Action
            label="Re-submit"
            testId="resubmit"
            run={() =>
              api<TaskRecord>('POST', '/tasks', {
                task: record.task,
                input: record.input,
                queue: record.queue,
                priority: record.priority,
                max_retries: record.max_retries,
                ...(record.metadata ? { metadata: record.metadata } : {}),
              })
            }
            done={(r) => navigate(`/tasks/${(r as TaskRecord).id}`)}
          />
        )}
        {record.callback?.state === 'failed' && <Action label="Retry callback" run={() => api('POST', `/tasks/${id}/callback/retry`)} done={() => void load()} />}
      </div>
      <div class="grid">
        <Section title="Details">
          <dl>
            <dt>Queue</dt>
            <dd>{record.queue}</dd>
            <dt>Priority</dt>
            <dd>{record.priority}</dd>
            <dt>Attempts</dt>
            <dd>
              {record.attempts} (retries allowed: {record.max_retries})
            </dd>
            <dt>Worker</dt>
            <dd class="mono">{record.worker ?? '—'}</dd>
            <dt>Trace id</dt>
            <dd class="mono">{record.trace_id}</dd>
            <dt>Created</dt>
            <dd>{when(record.created_at)}</dd>
            {record.eta && (
              <>
                <dt>Not before</dt>
                <dd>{when(record.eta)}</dd>
              </>
            )}
            {record.expires && (
              <>
                <dt>Expires if not started by</dt>
                <dd>{when(record.expires)}</dd>
              </>
            )}
            <dt>Started</dt>
            <dd>{when(record.started_at)}</dd>
            <dt>Finished</dt>
            <dd>{when(record.finished_at)}</dd>
            <dt>Waited</dt>
            <dd>{duration(record.eta ?? record.created_at, record.started_at)}</dd>
            <dt>Ran</dt>
            <dd>{record.started_at ? duration(record.started_at, record.finished_at) : '—'}</dd>
            <dt>Time limits</dt>
            <dd>
              soft {record.soft_time_limit === null ? 'default' : `${record.soft_time_limit} s`}, hard {record.time_limit === null ? 'default' : `${record.time_limit} s`}
            </dd>
            {record.schedule && (
              <>
                <dt>Schedule</dt>
                <dd>
                  {record.schedule.name} ({when(record.schedule.fire_at)})
                </dd>
              </>
            )}
            <dt>Callback</dt>
            <dd>
              {record.callback
                ? `${record.callback.state}, ${record.callback.attempts} attempts${record.callback.last_status ? `, last HTTP ${record.callback.last_status}` : ''}${record.callback.last_error ? `, ${record.callback.last_error}` : ''} — ${record.callback.url}`
                : 'none'}
            </dd>
          </dl>
        </Section>
        <Section title="Timeline">
          <ol class="timeline" data-testid="timeline">
            <li>
              <time>{when(record.created_at)}</time> submitted to {record.queue}
            </li>
            {/* events are kept once a task is watched; what happened before that, the record's times stand in for */}
            {record.started_at && !timeline.some((t) => t.type === 'status' && t.text.startsWith('running')) && (
              <li>
                <time>{when(record.started_at)}</time> running (attempt {record.attempts}){record.worker ? ` on ${record.worker}` : ''}
              </li>
            )}
            {timeline.map((t) => (
              <li key={t.id}>
                <time>{when(t.at)}</time> {t.text}
              </li>
            ))}
            {record.finished_at && !timeline.some((t) => t.type === 'status' && t.text.startsWith(record.status)) && (
              <li>
                <time>{when(record.finished_at)}</time> {record.status}
                {record.error ? `: ${record.error.message}` : ''}
              </li>
            )}
          </ol>
        </Section>
      </div>
      {record.error && (
        <Section title="Error">
          <p class="error-text">
            <strong>{record.error.type}</strong>: {record.error.message}
          </p>
          {record.error.stack && (
            <pre class="json" tabIndex={0} aria-label="Stack trace">
              {record.error.stack}
            </pre>
          )}
        </Section>
      )}
      <div class="grid">
        <Section title="Input">
          <Json value={record.input} label="Input" />
        </Section>
        <Section title="Result">
          <Json value={record.result} label="Result" />
        </Section>
      </div>
      <Section title="Metadata">
        <Json value={record.metadata} label="Metadata" />
      </Section>
    </>
  );
}
