import { ApiError, apiErrorFrom, CelerityError, ConnectionError, retryAfterSeconds, WaitTimeoutError } from './errors.js';
import type { components } from './openapi-types.js';
import { readSse } from './sse.js';
import {
  type AnyTasks,
  type CancelResult,
  type DeadLetter,
  type InputArgs,
  type Job,
  type Queue,
  type QueuePurgeResult,
  type Worker,
  type WorkerControlResult,
  isFinished,
  type ListDeadLettersQuery,
  type ListTasksQuery,
  type Schedule,
  type SchedulePatch,
  type ScheduleSpec,
  type SubmitOptions,
  type TaskEvent,
  type TaskMap,
  type TaskRecord,
  type TaskSummary,
} from './types.js';

export interface ClientOptions {
  /** where the API answers, e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** sent as `Authorization: Bearer`; needed when the API has API_KEYS */
  apiKey?: string;
  /** headers sent with every request */
  headers?: Record<string, string>;
  /** a fetch of your own (a proxy agent, a test's observer); default: the global fetch */
  fetch?: typeof globalThis.fetch;
  /**
   * How often a 503 (and a failed connection, for requests safe to repeat) is tried again, after
   * the server's Retry-After or a backoff. Default 3; 0 turns retries off.
   */
  maxRetries?: number;
  /** the longest wait before a retry, whatever Retry-After says; default 30 000 ms */
  maxRetryDelayMs?: number;
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** a connection failure may be retried: the request changes nothing, or carries an Idempotency-Key */
  repeatable: boolean;
}

type SubmitBody = components['schemas']['SubmitTask'];

/** Follows GET /tasks/{id}/events; resumes with Last-Event-ID after a drop. */
export interface EventsOptions {
  /** resume after this event id (what the last event's `id` was) */
  lastEventId?: string;
  signal?: AbortSignal;
  /** give up after this many reconnections in a row that brought no event; default 5 */
  maxReconnects?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Exponential backoff with jitter: about 0.5 s, 1 s, 2 s … (half to all of it), capped. */
const backoffMs = (attempt: number, capMs: number) => Math.min(capMs, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);

/**
 * The typed client of the Celerity API. `T` maps task names to input and result types (generate it
 * with `celerity types --out celerity-tasks.ts`); without it any task name and input are accepted.
 */
export class CelerityClient<T extends TaskMap = AnyTasks> {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #maxRetries: number;
  readonly #maxRetryDelayMs: number;

  constructor(options: ClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#headers = { ...options.headers, ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) };
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#maxRetries = options.maxRetries ?? 3;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  }

  /** Submits a task; answers once RabbitMQ has it (202). Safe to retry: it carries an Idempotency-Key. */
  async submit<N extends keyof T & string>(task: N, ...[input, options = {}]: InputArgs<T[N]['input'], SubmitOptions>): Promise<TaskRecord<T[N]['result']>> {
    const { idempotencyKey = crypto.randomUUID(), traceId, ...fields } = options;
    const headers: Record<string, string> = { 'idempotency-key': idempotencyKey, ...(traceId ? { 'x-trace-id': traceId } : {}) };
    const body: SubmitBody = { task, ...(input !== undefined ? { input } : {}), ...fields };
    return this.#json('POST', '/tasks', { body, headers, repeatable: true });
  }

  /**
   * Submits several tasks, all or nothing (at most BATCH_MAX_SIZE). A 503 is retried (nothing was
   * accepted); a lost connection is not, since the batch may have been accepted.
   */
  async submitBatch(tasks: { [N in keyof T & string]: { task: N; input?: T[N]['input'] } & Omit<SubmitBody, 'task' | 'input'> }[keyof T & string][]): Promise<TaskRecord[]> {
    const answer = await this.#json<{ tasks: TaskRecord[] }>('POST', '/tasks/batch', { body: { tasks }, repeatable: false });
    return answer.tasks;
  }

  /**
   * The record, with its result decoded. ApiError TASK_NOT_FOUND when unknown or expired. With
   * `waitSeconds`, a long poll: the server answers once the task is finished, or after that long
   * (at most its TASK_WAIT_MAX) with the record as it is.
   */
  get<R = unknown>(id: string, options: { signal?: AbortSignal; waitSeconds?: number } = {}): Promise<TaskRecord<R>> {
    return this.#json('GET', `/tasks/${encodeURIComponent(id)}`, { signal: options.signal, query: { wait: options.waitSeconds }, repeatable: true });
  }

  /**
   * Waits for a task to finish and returns its finished record (succeeded, failed, timed_out or
   * cancelled: look at `status`). Follows the event stream, so it learns of the end at once without
   * polling. WaitTimeoutError after `timeout` ms (the task goes on).
   */
  async wait<R = unknown>(task: string | TaskRecord<R>, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<TaskRecord<R>> {
    const id = typeof task === 'string' ? task : task.id;
    if (typeof task !== 'string' && isFinished(task.status)) return task;
    const timeout = options.timeout === undefined ? undefined : AbortSignal.timeout(options.timeout);
    const signal = anySignal([options.signal, timeout]);
    try {
      for await (const item of this.events<R>(id, { signal })) {
        if (item.event === 'state' && isFinished(item.data.status)) return item.data;
        if (item.event === 'status' && isFinished(item.data.status)) return item.data.record ?? (await this.get<R>(id, { signal }));
      }
      // the stream ended without a final status (resumed after it: 204): the record has it
      return await this.get<R>(id, { signal });
    } catch (err) {
      if (timeout?.aborted && !options.signal?.aborted) throw new WaitTimeoutError(id, options.timeout!);
      throw err;
    }
  }

  /**
   * The task's events as they happen: first `state` (the record), then `status` and `progress`
   * changes; ends after the final status. A dropped connection is reopened with Last-Event-ID, so no
   * event is lost or repeated.
   */
  async *events<R = unknown>(id: string, options: EventsOptions = {}): AsyncGenerator<TaskEvent<R>> {
    const maxReconnects = options.maxReconnects ?? 5;
    let lastEventId = options.lastEventId;
    let fruitless = 0;
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}) };
      let response: Response;
      try {
        response = await this.#request('GET', `/tasks/${encodeURIComponent(id)}/events`, { headers, signal: options.signal, repeatable: true });
      } catch (err) {
        if (!(err instanceof ConnectionError) || fruitless >= maxReconnects) throw err;
        fruitless += 1;
        await sleep(backoffMs(fruitless, 5_000), options.signal);
        continue;
      }
      if (response.status === 204 || !response.body) return; // resumed after the final status: nothing more
      let final = false;
      try {
        for await (const message of readSse(response.body)) {
          if (message.event === 'error') {
            const data = JSON.parse(message.data) as { code: string; message: string };
            throw new ApiError({ type: 'about:blank', title: 'Stream ended', status: 401, code: data.code, detail: data.message });
          }
          if (message.event !== 'state' && message.event !== 'status' && message.event !== 'progress') continue;
          if (message.id !== undefined) lastEventId = message.id;
          fruitless = 0;
          const item = { event: message.event, id: message.id ?? '', data: JSON.parse(message.data) } as TaskEvent<R>;
          final = (item.event === 'status' || item.event === 'state') && isFinished(item.data.status);
          yield item;
        }
      } catch (err) {
        if (options.signal?.aborted || err instanceof CelerityError) throw err;
        // the connection broke mid-stream: reopened below
      }
      if (final) return;
      if (fruitless >= maxReconnects) throw new ConnectionError(`the event stream of task ${id} kept dropping (${maxReconnects} reconnections without an event)`);
      fruitless += 1;
      await sleep(backoffMs(fruitless - 1, 5_000), options.signal);
    }
  }

  /** Cancels a task (terminate: kill an execution that ignores its signal). ApiError TASK_ALREADY_FINISHED (409) when finished. */
  cancel(id: string, options: { terminate?: boolean } = {}): Promise<CancelResult> {
    return this.#json('DELETE', `/tasks/${encodeURIComponent(id)}`, { query: { terminate: options.terminate ? 'true' : undefined }, repeatable: false });
  }

  /** Every task that matches, newest first, fetched a page at a time as you iterate. */
  list(query: ListTasksQuery & { view: 'full' }): AsyncGenerator<TaskRecord>;
  list(query?: ListTasksQuery): AsyncGenerator<TaskSummary>;
  list(query: ListTasksQuery = {}): AsyncGenerator<TaskSummary | TaskRecord> {
    return this.#pages<TaskSummary | TaskRecord>('/tasks', query);
  }

  /** Dead letters: tasks that ended failed after their retries, timed out, or killed their workers. */
  readonly deadLetters = {
    list: (query: ListDeadLettersQuery = {}): AsyncGenerator<DeadLetter> => this.#pages('/dead-letters', query),
    get: (id: string): Promise<DeadLetter> => this.#json('GET', `/dead-letters/${encodeURIComponent(id)}`, { repeatable: true }),
    /** submits the task again as a new task, and removes the dead letter */
    retry: (id: string): Promise<TaskRecord> => this.#json('POST', `/dead-letters/${encodeURIComponent(id)}/retry`, { repeatable: false }),
    delete: async (id: string): Promise<void> => void (await this.#request('DELETE', `/dead-letters/${encodeURIComponent(id)}`, { repeatable: false })),
    /** removes every dead letter; answers how many */
    purge: async (): Promise<number> => (await this.#json<{ purged: number }>('DELETE', '/dead-letters', { repeatable: false })).purged,
  };

  /** The job registry: the task names the service knows, their input schemas (JSON Schema) and limits. */
  readonly jobs = {
    list: (): Promise<{ items: Job[]; failed: { module: string; message: string }[] }> => this.#json('GET', '/jobs', { repeatable: true }),
    get: (name: string): Promise<Job> => this.#json('GET', `/jobs/${encodeURIComponent(name)}`, { repeatable: true }),
  };

  /** The queues: depth, consumers, unacked, scheduled, oldest waiting task, rates; purge (admin key). */
  readonly queues = {
    list: async (): Promise<Queue[]> => (await this.#json<{ items: Queue[] }>('GET', '/queues', { repeatable: true })).items,
    get: (name: string): Promise<Queue> => this.#json('GET', `/queues/${encodeURIComponent(name)}`, { repeatable: true }),
    /** removes the waiting messages; their unfinished tasks end cancelled (QUEUE_PURGED) */
    purge: (name: string): Promise<QueuePurgeResult> => this.#json('POST', `/queues/${encodeURIComponent(name)}/purge`, { repeatable: false }),
  };

  /** Workers from their heartbeats; pause, resume and shutdown need an admin key. */
  readonly workers = {
    list: async (): Promise<Worker[]> => (await this.#json<{ items: Worker[] }>('GET', '/workers', { repeatable: true })).items,
    get: (id: string): Promise<Worker> => this.#json('GET', `/workers/${encodeURIComponent(id)}`, { repeatable: true }),
    pause: (id: string, queues?: string[]): Promise<WorkerControlResult> =>
      this.#json('POST', `/workers/${encodeURIComponent(id)}/pause`, { body: queues ? { queues } : {}, repeatable: true }),
    resume: (id: string, queues?: string[]): Promise<WorkerControlResult> =>
      this.#json('POST', `/workers/${encodeURIComponent(id)}/resume`, { body: queues ? { queues } : {}, repeatable: true }),
    shutdown: (id: string): Promise<WorkerControlResult> => this.#json('POST', `/workers/${encodeURIComponent(id)}/shutdown`, { repeatable: true }),
  };

  /** Beat's schedules: cron or interval, each fire run once. */
  readonly schedules = {
    create: (spec: ScheduleSpec): Promise<Schedule> => this.#json('POST', '/schedules', { body: spec, repeatable: false }),
    list: async (): Promise<Schedule[]> => (await this.#json<{ items: Schedule[] }>('GET', '/schedules', { repeatable: true })).items,
    get: (name: string): Promise<Schedule> => this.#json('GET', `/schedules/${encodeURIComponent(name)}`, { repeatable: true }),
    update: (name: string, patch: SchedulePatch): Promise<Schedule> => this.#json('PATCH', `/schedules/${encodeURIComponent(name)}`, { body: patch, repeatable: false }),
    delete: async (name: string): Promise<void> => void (await this.#request('DELETE', `/schedules/${encodeURIComponent(name)}`, { repeatable: false })),
    pause: (name: string): Promise<Schedule> => this.#json('POST', `/schedules/${encodeURIComponent(name)}/pause`, { repeatable: true }),
    resume: (name: string): Promise<Schedule> => this.#json('POST', `/schedules/${encodeURIComponent(name)}/resume`, { repeatable: true }),
    /** fires the schedule now; answers the task it submitted */
    trigger: (name: string): Promise<TaskRecord> => this.#json('POST', `/schedules/${encodeURIComponent(name)}/trigger`, { repeatable: false }),
  };

  async *#pages<I>(path: string, query: Record<string, string | number | boolean | undefined>): AsyncGenerator<I> {
    let cursor: string | null | undefined;
    do {
      const page = await this.#json<{ items: I[]; next_cursor: string | null }>('GET', path, { query: { ...query, cursor: cursor ?? undefined }, repeatable: true });
      yield* page.items;
      cursor = page.next_cursor;
    } while (cursor);
  }

  async #json<R>(method: string, path: string, options: RequestOptions): Promise<R> {
    const response = await this.#request(method, path, options);
    return (await response.json()) as R;
  }

  /** One request, with 503s (and, when repeatable, failed connections) retried; any other error status throws ApiError. */
  async #request(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = new URL(this.#base + path);
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = { accept: 'application/json', ...this.#headers, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await this.#fetch(url, { method, headers, body, signal: options.signal });
      } catch (err) {
        if (options.signal?.aborted) throw err;
        if (!options.repeatable || attempt >= this.#maxRetries) {
          throw new ConnectionError(`${method} ${url.pathname}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        }
        await sleep(backoffMs(attempt, this.#maxRetryDelayMs), options.signal);
        continue;
      }
      if (response.ok) return response;
      if (response.status !== 503 || attempt >= this.#maxRetries) throw await apiErrorFrom(response);
      // 503: the service is waiting for RabbitMQ or Redis and took nothing; it says when to come back
      const after = retryAfterSeconds(response.headers.get('retry-after'));
      await response.body?.cancel().catch(() => undefined);
      await sleep(Math.min(after === undefined ? backoffMs(attempt, this.#maxRetryDelayMs) : after * 1000, this.#maxRetryDelayMs), options.signal);
    }
  }
}

/** Aborted when any of the signals is. */
function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length <= 1 ? present[0] : AbortSignal.any(present);
}

/** `createClient({ baseUrl })`, or `createClient<CelerityTasks>(...)` with the map `celerity types` writes. */
export function createClient<T extends TaskMap = AnyTasks>(options: ClientOptions): CelerityClient<T> {
  return new CelerityClient<T>(options);
}
