import { ApiError, ConnectionError, createClient, isFinished, type CelerityClient, type TaskRecord, type TaskSummary } from '@celerity/client';

/** The commands that talk to the API (CELERITY_URL, CELERITY_API_KEY): tables for people, --json for scripts. */
export const CLIENT_COMMANDS = ['submit', 'status', 'cancel', 'inspect', 'purge'] as const;
export type ClientCommand = (typeof CLIENT_COMMANDS)[number];

export interface ClientCommandOptions {
  json: boolean;
  input?: string | undefined;
  wait: boolean;
  status?: string | undefined;
  terminate: boolean;
  limit?: string | undefined;
}

/** A wrong invocation: the caller prints it with the usage. */
export class ClientUsageError extends Error {}

/** Each long poll asks the server to hold the request this long (it may cut it to its TASK_WAIT_MAX). */
const WAIT_POLL_SECONDS = 30;

function clientFromEnv(env: NodeJS.ProcessEnv): CelerityClient {
  const baseUrl = env.CELERITY_URL ?? 'http://127.0.0.1:3000';
  return createClient({ baseUrl, ...(env.CELERITY_API_KEY ? { apiKey: env.CELERITY_API_KEY } : {}), maxRetries: 5 });
}

/** Rows as an aligned text table, the header first. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

const age = (seconds: number | null) => (seconds === null ? null : seconds < 60 ? `${seconds.toFixed(1)}s` : seconds < 3600 ? `${(seconds / 60).toFixed(1)}m` : `${(seconds / 3600).toFixed(1)}h`);
const rate = (perSecond: number | null) => (perSecond === null ? null : `${perSecond.toFixed(2)}/s`);
const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(0)} MiB`;

function describeTask(t: TaskRecord): string {
  const rows: [string, unknown][] = [
    ['id', t.id],
    ['task', t.task],
    ['status', t.status],
    ['queue', `${t.queue} (priority ${t.priority})`],
    ['attempts', `${t.attempts} of ${t.max_retries + 1}`],
    ['worker', t.worker],
    ['created', t.created_at],
    ['started', t.started_at],
    ['finished', t.finished_at],
  ];
  if (t.eta) rows.push(['eta', t.eta]);
  if (t.expires) rows.push(['expires', t.expires]);
  if (t.progress) rows.push(['progress', `${t.progress.percent}%${t.progress.message ? ` ${t.progress.message}` : ''}`]);
  if (t.result !== null) rows.push(['result', JSON.stringify(t.result)]);
  if (t.error) rows.push(['error', `${t.error.type}: ${t.error.message}`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined ? '-' : String(v)}`).join('\n') + '\n';
}

/** Long polls until the task is finished; a restarting API (refused connection, 503) is waited out. */
async function waitForFinal(client: CelerityClient, record: TaskRecord): Promise<TaskRecord> {
  let current = record;
  let unreachableSince: number | undefined;
  while (!isFinished(current.status)) {
    try {
      current = await client.get(current.id, { waitSeconds: WAIT_POLL_SECONDS });
      unreachableSince = undefined;
    } catch (err) {
      if (!(err instanceof ConnectionError || (err instanceof ApiError && err.status === 503))) throw err;
      unreachableSince ??= Date.now();
      if (Date.now() - unreachableSince > 120_000) throw err; // two minutes without an API: give up
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  return current;
}

/** Runs one API command and returns what to print. */
export async function runClientCommand(command: ClientCommand, args: string[], options: ClientCommandOptions, env: NodeJS.ProcessEnv): Promise<string> {
  const client = clientFromEnv(env);
  const out = (value: unknown, human: () => string) => (options.json ? `${JSON.stringify(value, null, 2)}\n` : human());
  const one = (what: string) => {
    if (args.length !== 1) throw new ClientUsageError(`${command} takes one ${what}`);
    return args[0]!;
  };

  switch (command) {
    case 'submit': {
      const task = one('task name');
      let input: unknown;
      if (options.input !== undefined) {
        try {
          input = JSON.parse(options.input);
        } catch {
          throw new ClientUsageError(`--input is not JSON: ${options.input}`);
        }
      }
      const submitted = (await client.submit(task, input)) as TaskRecord;
      const record = options.wait ? await waitForFinal(client, submitted) : submitted;
      return out(record, () => describeTask(record));
    }
    case 'status': {
      const record = (await client.get(one('task id'))) as TaskRecord;
      const shown = options.wait ? await waitForFinal(client, record) : record;
      return out(shown, () => describeTask(shown));
    }
    case 'cancel': {
      const result = await client.cancel(one('task id'), { terminate: options.terminate });
      return out(result, () => `${result.id}  cancelled (was ${result.previous_status}): ${result.message}\n`);
    }
    case 'purge': {
      const result = await client.queues.purge(one('queue name'));
      return out(result, () => `purged ${result.purged} message(s) from ${result.queue}; ${result.cancelled} task(s) cancelled (QUEUE_PURGED)\n`);
    }
    case 'inspect': {
      const what = one('of: queues, workers, tasks');
      if (what === 'queues') {
        const queues = await client.queues.list();
        return out(queues, () =>
          table(
            ['QUEUE', 'READY', 'UNACKED', 'CONSUMERS', 'SCHEDULED', 'OLDEST', 'IN', 'OUT'],
            queues.map((q) => [q.name, q.ready, q.unacked, q.consumers, q.scheduled, age(q.oldest_waiting_seconds), rate(q.in_per_second), rate(q.out_per_second)]),
          ),
        );
      }
      if (what === 'workers') {
        const workers = await client.workers.list();
        return out(workers, () =>
          workers.length === 0
            ? 'no workers\n'
            : table(
                ['WORKER', 'STATUS', 'STATE', 'QUEUES', 'RUNNING', 'PROCESSED', 'FAILED', 'RSS', 'LAST SEEN'],
                workers.map((w) => [
                  w.id,
                  w.status,
                  w.state,
                  w.queues.map((q) => (w.paused_queues.includes(q) ? `${q} (paused)` : q)).join(','),
                  `${w.running.length}/${w.concurrency}`,
                  w.processed,
                  w.failed,
                  mib(w.rss_bytes),
                  w.last_seen,
                ]),
              ),
        );
      }
      if (what === 'tasks') {
        const limit = options.limit === undefined ? 20 : Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ClientUsageError('--limit must be 1 to 100');
        const tasks: TaskSummary[] = [];
        for await (const t of client.list({ limit, ...(options.status ? { status: options.status as TaskRecord['status'] } : {}) })) {
          tasks.push(t);
          if (tasks.length >= limit) break;
        }
        return out(tasks, () =>
          tasks.length === 0 ? 'no tasks\n' : table(['ID', 'TASK', 'STATUS', 'QUEUE', 'ATTEMPTS', 'CREATED'], tasks.map((t) => [t.id, t.task, t.status, t.queue, t.attempts, t.created_at])),
        );
      }
      throw new ClientUsageError(`inspect what? queues, workers or tasks (not "${what}")`);
    }
  }
}
