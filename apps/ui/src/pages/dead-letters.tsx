import { useState } from 'preact/hooks';
import { api, query, type DeadLetter, type Page, type Schedule, type TaskRecord } from '../api.js';
import { Action, ago, LoadError, StatusBadge, when, TableHead } from '../components.js';
import { navigate, usePoll } from '../hooks.js';

/** GET /dead-letters: retry (re-submit as a new task) or delete each; purge them all. */
export function DeadLetters() {
  const [cursor, setCursor] = useState<string | null>(null);
  const page = usePoll(() => api<Page<DeadLetter>>('GET', `/dead-letters${query({ cursor, limit: 50 })}`), String(cursor), cursor === null ? 5_000 : null);
  return (
    <>
      <h1>Dead letters {page.data?.total !== undefined && <span class="count">{page.data.total}</span>}</h1>
      <div class="row">
        <Action
          label="Purge all dead letters"
          testId="purge-dead-letters"
          danger
          confirm="Every dead letter of this namespace is removed for good."
          run={() => api('DELETE', '/dead-letters')}
          done={page.reload}
        />
      </div>
      {page.error && <LoadError error={page.error} what="Dead letters" />}
      <table data-testid="dead-letter-table">
        <TableHead columns={['Task', 'Reason', 'Error', 'Queue', 'Attempts', 'When', '']} />
        <tbody>
          {page.data?.items.map((d) => (
            <tr key={d.id} data-testid="dead-letter">
              <td>
                {d.task_id ? <a href={`#/tasks/${d.task_id}`}>{d.task}</a> : <span class="muted">not a task</span>}
                <div class="mono muted small">{d.id}</div>
              </td>
              <td>
                <StatusBadge status={d.reason} />
              </td>
              <td class="wrap">{d.error ? `${d.error.type}: ${d.error.message}` : (d.body?.slice(0, 200) ?? '—')}</td>
              <td>{d.queue}</td>
              <td>{d.attempts ?? '—'}</td>
              <td title={when(d.dead_lettered_at)}>{ago(d.dead_lettered_at)}</td>
              <td>
<div class="row">
                {d.task && (
                  <Action label="Retry" testId="retry-dead-letter" run={() => api<TaskRecord>('POST', `/dead-letters/${d.id}/retry`)} done={(r) => navigate(`/tasks/${(r as TaskRecord).id}`)} />
                )}
                <Action label="Delete" testId="delete-dead-letter" danger confirm="This dead letter is removed for good." run={() => api('DELETE', `/dead-letters/${d.id}`)} done={page.reload} />
              </div>
</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.data && page.data.items.length === 0 && <p class="muted">No dead letters.</p>}
      <nav class="row pager" aria-label="Pages">
        <button type="button" disabled={cursor === null} onClick={() => setCursor(null)}>
          Newest
        </button>
        <button type="button" disabled={!page.data?.next_cursor} onClick={() => setCursor(page.data!.next_cursor)}>
          Older
        </button>
      </nav>
    </>
  );
}

/** GET /schedules: trigger now, pause, resume. */
export function Schedules() {
  const list = usePoll(() => api<{ items: Schedule[] }>('GET', '/schedules'), 'schedules', 5_000);
  return (
    <>
      <h1>Schedules</h1>
      {list.error && <LoadError error={list.error} what="Schedules" />}
      <table data-testid="schedule-table">
        <TableHead columns={['Name', 'Task', 'When', 'Next run', 'Last run', '']} />
        <tbody>
          {list.data?.items.map((s) => (
            <tr key={s.name} data-testid="schedule">
              <td>
                <a href={`#/tasks?schedule=${encodeURIComponent(s.name)}`}>{s.name}</a> {s.paused && <span class="badge s-paused">paused</span>}
                <div class="muted small">from {s.source}</div>
              </td>
              <td>{s.task}</td>
              <td class="mono">{s.cron ? `${s.cron}${s.timezone ? ` (${s.timezone})` : ''}` : `every ${typeof s.every === 'number' ? `${s.every} s` : String(s.every)}`}</td>
              <td>{s.next_runs[0] ? when(s.next_runs[0]) : '—'}</td>
              <td>
                {s.last_run ? (
                  <>
                    {s.last_run.task_id ? <a href={`#/tasks/${s.last_run.task_id}`}>{ago(s.last_run.fired_at)}</a> : ago(s.last_run.fired_at)}{' '}
                    {s.last_run.status && <StatusBadge status={s.last_run.status} />}
                    {s.last_run.error && <span class="error-text"> {s.last_run.error.message}</span>}
                  </>
                ) : (
                  'never'
                )}
              </td>
              <td>
<div class="row">
                <Action label="Trigger" testId="trigger-schedule" run={() => api<TaskRecord>('POST', `/schedules/${encodeURIComponent(s.name)}/trigger`)} done={list.reload} />
                {s.paused ? (
                  <Action label="Resume" testId="resume-schedule" run={() => api('POST', `/schedules/${encodeURIComponent(s.name)}/resume`)} done={list.reload} />
                ) : (
                  <Action label="Pause" testId="pause-schedule" run={() => api('POST', `/schedules/${encodeURIComponent(s.name)}/pause`)} done={list.reload} />
                )}
              </div>
</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && list.data.items.length === 0 && <p class="muted">No schedules (define them in CELERITY_CONFIG or with POST /schedules).</p>}
    </>
  );
}
