import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Page, type DeadLetter, type StatsHistory } from '../api.js';
import { Action, ago, LoadError, Section, StatusBadge, TableHead } from '../components.js';
import { usePoll } from '../hooks.js';

/** The pieces of GET /stats the overview reads (docs/operations.md has the whole shape). */
interface Window {
  counts: Record<string, number>;
  failure_rate: number | null;
  run_ms: { avg: number; p95: number } | null;
  since?: string | null;
  submitted_per_second?: number | null;
  finished_per_second?: number | null;
}
interface Stats {
  at: string;
  total: Window;
  minute: Window;
  hour: Window;
  running: number;
  scheduled: number;
  dead_letters: number;
  wait_ms: { avg: number; p95: number } | null;
  queues?: Record<string, { ready: number | null; consumers: number | null; running: number }>;
}
interface TaskHealth {
  status: 'ok' | 'warning' | 'critical';
  reasons: { level: string; code: string; message: string }[];
}
/** GET /queues items (docs/operations.md) */
interface Queue {
  name: string;
  ready: number | null;
  unacked?: number;
  consumers: number | null;
  workers?: string[];
  scheduled?: number;
  oldest_waiting_seconds?: number | null;
  in_per_second?: number | null;
  out_per_second?: number | null;
}
/** GET /workers items */
interface Worker {
  id: string;
  status: 'alive' | 'lost';
  state: 'running' | 'paused' | 'stopping';
  host: string;
  pid: number;
  version: string;
  queues: string[];
  paused_queues: string[];
  concurrency: number;
  running: string[];
  processed: number;
  failed: number;
  rss_bytes: number;
  last_seen: string;
}

const pct = (r: number | null | undefined) => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)}%`);
const num = (n: number | null | undefined, digits = 0) => (n === null || n === undefined ? '—' : n.toFixed(digits));
const itemsOf = <T,>(body: T[] | { items: T[] } | undefined): T[] | undefined => (body === undefined ? undefined : Array.isArray(body) ? body : body.items);
/** lost (no heartbeat), else what it does: running (consuming), paused or stopping */
const stateOf = (w: Worker) => (w.status === 'lost' ? 'lost' : w.state);

interface Rate {
  /** end of the interval the rate is averaged over (ms) */
  at: number;
  submitted: number;
  succeeded: number;
  failed: number;
}

/** Rates sampled from GET /stats every 5 s (each over the minute before it), kept across page changes, an hour at most. */
const samples: Rate[] = [];
const SAMPLE_MS = 5_000;
const HOUR_MS = 3_600_000;

function record(stats: Stats): void {
  const m = stats.minute;
  const seconds = m.since ? Math.max(1, (Date.parse(stats.at) - Date.parse(m.since)) / 1000) : 60;
  samples.push({
    at: Date.parse(stats.at),
    submitted: m.submitted_per_second ?? (m.counts.submitted ?? 0) / seconds,
    succeeded: (m.counts.succeeded ?? 0) / seconds,
    failed: ((m.counts.failed ?? 0) + (m.counts.timed_out ?? 0)) / seconds,
  });
  while (samples.length > 0 && samples[0]!.at < Date.now() - HOUR_MS) samples.shift();
}

/**
 * The last hour: minute by minute from GET /stats/history (the counters' minute snapshots, so the
 * chart starts full however recently the page opened), then the 5-second samples taken since the
 * newest of those minutes. Time runs left to right, now at the right edge.
 */
function RateChart({ history }: { history: StatsHistory | undefined }) {
  const width = 600;
  const height = 140;
  const minutes: Rate[] = (history?.points ?? []).map((p) => ({ at: Date.parse(p.to), submitted: p.submitted_per_second, succeeded: p.succeeded_per_second, failed: p.failed_per_second }));
  const since = minutes.at(-1)?.at ?? 0;
  const series = [...minutes, ...samples.filter((s) => s.at > since)];
  const end = Math.max(Date.now(), series.at(-1)?.at ?? 0);
  const max = Math.max(1, ...series.flatMap((s) => [s.submitted, s.succeeded, s.failed]));
  const x = (at: number) => Math.max(0, width - ((end - at) / HOUR_MS) * width);
  const line = (pick: (s: Rate) => number) => series.map((s) => `${x(s.at).toFixed(1)},${(height - (pick(s) / max) * (height - 10)).toFixed(1)}`).join(' ');
  const last = series.at(-1);
  return (
    <figure class="chart" data-testid="rate-chart" data-points={series.length}>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`Tasks per second over the last hour: now submitted ${num(last?.submitted, 2)}, succeeded ${num(last?.succeeded, 2)}, failed ${num(last?.failed, 2)}`}>
        <line x1="0" y1={height - 0.5} x2={width} y2={height - 0.5} class="axis" />
        <polyline points={line((s) => s.submitted)} class="l-submitted" />
        <polyline points={line((s) => s.succeeded)} class="l-succeeded" />
        <polyline points={line((s) => s.failed)} class="l-failed" />
      </svg>
      <figcaption>
        <span class="key l-submitted">submitted {num(last?.submitted, 2)}/s</span> <span class="key l-succeeded">succeeded {num(last?.succeeded, 2)}/s</span>{' '}
        <span class="key l-failed">failed {num(last?.failed, 2)}/s</span> · the last hour, minute by minute, then every 5 s (top {num(max, 1)}/s)
      </figcaption>
    </figure>
  );
}

export function Overview() {
  const stats = usePoll(() => api<Stats>('GET', '/stats'), 'stats', SAMPLE_MS);
  const health = usePoll(() => api<TaskHealth>('GET', '/health/tasks'), 'health', SAMPLE_MS);
  const queues = usePoll(() => api<Queue[] | { items: Queue[] }>('GET', '/queues'), 'queues', SAMPLE_MS);
  const workers = usePoll(() => api<Worker[] | { items: Worker[] }>('GET', '/workers'), 'workers', SAMPLE_MS);
  const dead = usePoll(() => api<Page<DeadLetter>>('GET', '/dead-letters?limit=1'), 'dead', SAMPLE_MS);
  // the minutes before the page opened; again each minute, as snapshots are taken
  const history = usePoll(() => api<StatsHistory>('GET', '/stats/history?minutes=60'), 'history', 60_000);
  const [, redraw] = useState(0);
  useEffect(() => {
    if (stats.data) {
      record(stats.data);
      redraw((n) => n + 1);
    }
  }, [stats.data]);
  const workerList = itemsOf(workers.data);
  const s = stats.data;
  return (
    <>
      <h1>Overview</h1>
      <div class="grid">
        <Section title="Health">
          {health.error ? (
            <LoadError error={health.error} what="Task health" />
          ) : health.data ? (
            <>
              <p>
                <StatusBadge status={health.data.status} />
              </p>
              <ul>
                {health.data.reasons.map((r) => (
                  <li>
                    <StatusBadge status={r.level} /> {r.message}
                  </li>
                ))}
                {health.data.reasons.length === 0 && <li class="muted">nothing to report</li>}
              </ul>
            </>
          ) : (
            <p aria-busy="true">…</p>
          )}
        </Section>
        <Section title="Now">
          <dl class="stats">
            <dt>Running</dt>
            <dd>{s ? s.running : '—'}</dd>
            <dt>Scheduled</dt>
            <dd>{s ? s.scheduled : '—'}</dd>
            <dt>Dead letters waiting</dt>
            <dd data-testid="dead-letter-count">
              <a href="#/dead-letters">{dead.data?.total ?? s?.dead_letters ?? '—'}</a>
            </dd>
            <dt>Workers alive / busy</dt>
            <dd>
              {workerList ? `${workerList.filter((w) => w.status === 'alive').length} / ${workerList.filter((w) => w.status === 'alive' && w.running.length > 0).length}` : workers.error instanceof ApiError && workers.error.status === 404 ? 'not available' : '—'}
            </dd>
            <dt>Failure rate (hour)</dt>
            <dd>{pct(s?.hour.failure_rate)}</dd>
            <dt>Run time avg / p95 (hour)</dt>
            <dd>{s?.hour.run_ms ? `${num(s.hour.run_ms.avg)} / ${num(s.hour.run_ms.p95)} ms` : '—'}</dd>
          </dl>
        </Section>
      </div>
      <Section title="Tasks per second">{stats.error ? <LoadError error={stats.error} what="Statistics (GET /stats)" /> : <RateChart history={history.data} />}</Section>
      <Section title="Queues">
        {/* without GET /queues, the depths and consumers GET /stats reports (no oldest wait) */}
        {queues.error instanceof ApiError && queues.error.status === 404 && s?.queues ? (
          <QueueTable queues={Object.entries(s.queues).map(([name, q]) => ({ name, ready: q.ready, consumers: q.consumers }))} compact />
        ) : queues.error ? (
          <LoadError error={queues.error} what="Queues" />
        ) : (
          <QueueTable queues={itemsOf(queues.data) ?? []} compact />
        )}
      </Section>
    </>
  );
}

/** Pauses or resumes one queue on each of the given workers (they stop or start consuming it, finishing what runs). */
const controlQueue = (action: 'pause' | 'resume', queue: string, workerIds: string[]) =>
  Promise.all(workerIds.map((id) => api('POST', `/workers/${encodeURIComponent(id)}/${action}`, { queues: [queue] })));

function QueueTable({ queues, compact, reload, workers = [] }: { queues: Queue[]; compact?: boolean; reload?: () => void; workers?: Worker[] }) {
  return (
    <table data-testid="queue-table">
      <TableHead columns={['Queue', 'Ready', 'Unacked', 'Consumers', 'Scheduled', 'Oldest wait', 'In / out per s', ...(compact ? [] : [''])]} />
      <tbody>
        {queues.map((q) => (
          <tr key={q.name} data-testid="queue">
            <td>
              <a href={`#/tasks?queue=${encodeURIComponent(q.name)}`}>{q.name}</a>
            </td>
            <td>{num(q.ready)}</td>
            <td>{num(q.unacked)}</td>
            <td>{num(q.consumers)}</td>
            <td>{num(q.scheduled)}</td>
            <td>{q.oldest_waiting_seconds === null || q.oldest_waiting_seconds === undefined ? '—' : `${num(q.oldest_waiting_seconds, 1)} s`}</td>
            <td>
              {num(q.in_per_second, 2)} / {num(q.out_per_second, 2)}
            </td>
            {!compact && (
              <td>
                <div class="row">
                {(q.workers?.length ?? 0) > 0 && (
                  <Action label="Pause consumers" testId="pause-queue" run={() => controlQueue('pause', q.name, q.workers ?? [])} {...(reload ? { done: reload } : {})} />
                )}
                {workers.some((w) => w.status === 'alive' && w.paused_queues.includes(q.name)) && (
                  <Action
                    label="Resume consumers"
                    testId="resume-queue"
                    run={() => controlQueue('resume', q.name, workers.filter((w) => w.status === 'alive' && w.paused_queues.includes(q.name)).map((w) => w.id))}
                    {...(reload ? { done: reload } : {})}
                  />
                )}
                <Action
                  label="Purge"
                  testId="purge-queue"
                  danger
                  confirm={`Every message waiting in ${q.name} is removed; their tasks end cancelled.`}
                  run={() => api('POST', `/queues/${encodeURIComponent(q.name)}/purge`)}
                  {...(reload ? { done: reload } : {})}
                />
                </div>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Queues() {
  const queues = usePoll(() => api<Queue[] | { items: Queue[] }>('GET', '/queues'), 'queues', 3_000);
  // which workers paused a queue (to resume its consumers) is in their heartbeats
  const workers = usePoll(() => api<{ items: Worker[] }>('GET', '/workers'), 'workers', 3_000);
  const reload = () => (queues.reload(), workers.reload());
  return (
    <>
      <h1>Queues</h1>
      {queues.error ? <LoadError error={queues.error} what="Queues (GET /queues)" /> : <QueueTable queues={itemsOf(queues.data) ?? []} reload={reload} workers={workers.data?.items ?? []} />}
    </>
  );
}

export function Workers() {
  const workers = usePoll(() => api<Worker[] | { items: Worker[] }>('GET', '/workers'), 'workers', 3_000);
  const list = itemsOf(workers.data) ?? [];
  return (
    <>
      <h1>Workers</h1>
      {workers.error && <LoadError error={workers.error} what="Workers (GET /workers)" />}
      {!workers.error && (
        <table data-testid="worker-table">
          <TableHead columns={['Worker', 'State', 'Queues', 'Running', 'Processed / failed', 'Memory', 'Last seen', '']} />
          <tbody>
            {list.map((w) => {
              const state = stateOf(w);
              const path = `/workers/${encodeURIComponent(w.id)}`;
              return (
                <tr key={w.id} data-testid="worker">
                  <td>
                    <span class="mono">{w.id}</span>
                    <div class="muted small">
                      {w.host} pid {w.pid} v{w.version}
                    </div>
                  </td>
                  <td>
                    <StatusBadge status={state} />
                  </td>
                  <td>
                    {w.queues.join(', ')}
                    {w.paused_queues.length > 0 && <div class="muted small">paused: {w.paused_queues.join(', ')}</div>}
                  </td>
                  <td>
                    {w.running.length} of {w.concurrency}
                  </td>
                  <td>
                    {w.processed} / {w.failed}
                  </td>
                  <td>{`${(w.rss_bytes / 1024 / 1024).toFixed(0)} MB`}</td>
                  <td title={w.last_seen}>{ago(w.last_seen)}</td>
                  <td>
                    {w.status === 'alive' && state !== 'stopping' && (
                      <div class="row">
                        {w.paused_queues.length > 0 ? (
                          <Action label="Resume" testId="resume-worker" run={() => api('POST', `${path}/resume`)} done={workers.reload} />
                        ) : (
                          <Action label="Pause" testId="pause-worker" run={() => api('POST', `${path}/pause`)} done={workers.reload} />
                        )}
                        <Action label="Shut down" testId="shutdown-worker" danger confirm="The worker stops taking tasks, finishes what it runs, then exits." run={() => api('POST', `${path}/shutdown`)} done={workers.reload} />
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {workers.data && list.length === 0 && <p class="muted">No worker has reported.</p>}
    </>
  );
}
