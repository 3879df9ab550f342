import { publishTask, type Broker } from '@celerity/broker';
import {
  createJobRegistry,
  createTickBatcher,
  describeJob,
  routerOf,
  IdempotencyConflictError,
  InvalidJobInputError,
  InvalidTaskError,
  JobNotFoundError,
  newTaskId,
  parseTaskName,
  UnknownJobError,
  type Config,
  type JobDescription,
  type JobRegistry,
  type LoadedJob,
  type Logger,
  type NewTask,
  type Router,
  type TaskRecord,
  type SubmitRequest,
} from '@celerity/core';
import type { TaskStore } from '@celerity/store';
import { checkCallbackUrl, createCallbackDns, type ResolveHost } from '@celerity/webhook/url-policy';
import { createHash } from 'node:crypto';
import { stringify as stableStringify } from 'safe-stable-stringify';

/** A job of the registry (GET /jobs): its schemas and what a request without options gets. */
export interface JobInfo extends JobDescription {
  queue: string;
  priority: number;
  max_retries: number;
  time_limit: number;
  soft_time_limit: number | null;
  retry_on_timeout: boolean;
  /** seconds after submit (the job's `expires`); null: never */
  expires: number | null;
}

/** A submission (the schema in @celerity/core, which the API validates with), plus the beat's `schedule`. */
export type { SubmitRequest } from '@celerity/core';

export interface ProducerDeps {
  store: TaskStore;
  broker: Broker;
  jobs: JobRegistry;
  router: Router;
  log: Logger;
  defaults: { maxRetries: number; timeLimitSeconds: number };
  /** callback URLs may point at loopback/private addresses (WEBHOOK_ALLOW_PRIVATE) */
  allowPrivateCallbacks: boolean;
  /** the ports and resolver of the callback_url check (default: 80/443, the process-wide resolver) */
  callbackUrls?: { allowedPorts?: readonly number[]; resolve?: ResolveHost };
  /**
   * How long after its record is written a task's publish must be confirmed; past that, should this
   * process have died in between, the workers' dispatcher publishes it. Longer than a publish may take.
   */
  publishGraceMs: number;
}

/** Tasks of one batch checked at once: a batch cannot take every DNS slot of the process. */
const BATCH_CHECK_CONCURRENCY = 4;

export type Producer = ReturnType<typeof createProducer>;

/** How long an Idempotency-Key is remembered (24 h, as Stripe and most APIs do). */
export const IDEMPOTENCY_TTL_SECONDS = 86_400;

/**
 * Prepares a batch a few tasks at a time, in order, and stops at the first refusal: nothing after it
 * is checked (no DNS query is spent on a batch already refused). An InvalidTaskError is thrown again
 * with the task's position (`tasks[3]: ...`, field `tasks.3.callback_url`).
 */
async function prepareInOrder<T>(requests: readonly SubmitRequest[], prepare: (request: SubmitRequest) => Promise<T>): Promise<T[]> {
  const prepared = new Array<T>(requests.length);
  let next = 0;
  const failures: Array<{ index: number; err: unknown }> = [];
  const lane = async () => {
    while (failures.length === 0 && next < requests.length) {
      const index = next++;
      try {
        prepared[index] = await prepare(requests[index]!);
      } catch (err) {
        failures.push({ index, err });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CHECK_CONCURRENCY, requests.length) }, lane));
  // lanes take tasks in order, so every task before a failing one was checked: the lowest index is the first refusal
  const first = failures.sort((a, b) => a.index - b.index)[0];
  if (first === undefined) return prepared;
  const { index, err } = first;
  if (err instanceof InvalidTaskError) {
    // same class (so the same code), with the position of the offending task in the batch
    const SameError = err.constructor as new (message: string, field?: string, options?: { cause?: unknown }) => InvalidTaskError;
    throw new SameError(`tasks[${index}]: ${err.message}`, err.field ? `tasks.${index}.${err.field}` : `tasks.${index}`, { cause: err });
  }
  throw err;
}

/** countdown/eta → the time the task may start, or null for "now" (a time already past counts as now). */
function startTime(request: SubmitRequest): Date | null {
  if (request.countdown !== undefined && request.eta !== undefined) throw new InvalidTaskError('give countdown or eta, not both', 'eta');
  const at = request.eta !== undefined ? new Date(request.eta) : request.countdown !== undefined ? new Date(Date.now() + request.countdown * 1000) : null;
  if (at && Number.isNaN(at.getTime())) throw new InvalidTaskError('eta is not a valid time', 'eta');
  return at && at.getTime() > Date.now() ? at : null;
}

/** `expires` → the time after which the task may no longer start (null: never); it must leave time to start. */
/**
 * The queue and priority asked for: the request's, else the job's own. A job's priority goes with its
 * own queue (or the routed one) only when the request names no queue: a priority is a position within one queue.
 */
function jobRoute(request: Pick<SubmitRequest, 'queue' | 'priority'>, job: LoadedJob): { queue?: string | undefined; priority?: number | undefined } {
  if (request.queue !== undefined) return request;
  return { queue: job.queue, priority: request.priority ?? job.priority };
}

function expiryTime(request: Pick<SubmitRequest, 'expires'>, startAt: Date | null): Date | null {
  if (request.expires === undefined) return null;
  const at = typeof request.expires === 'number' ? new Date(Date.now() + request.expires * 1000) : new Date(request.expires);
  if (Number.isNaN(at.getTime())) throw new InvalidTaskError('expires is not a valid time', 'expires');
  if (at.getTime() <= Date.now()) throw new InvalidTaskError('expires is in the past: the task could never run', 'expires');
  if (startAt && at.getTime() <= startAt.getTime()) throw new InvalidTaskError('expires must be after the time the task may start (countdown/eta)', 'expires');
  return at;
}

/** The producer as the configuration describes it: JOBS_ROOT, queues and routes, retry and time-limit defaults. */
export function createProducerFromConfig(config: Readonly<Config>, deps: {
    store: TaskStore;
    broker: Broker;
    log: Logger;
    /** the DNS queries under the callback check's deadline, bound and cache (tests); default: the system's servers */
    resolveCallbackHost?: ResolveHost;
  },): Producer {
  const { resolveCallbackHost, ...rest } = deps;
  return createProducer({
    ...rest,
    jobs: createJobRegistry(config.jobsRoot),
    router: routerOf(config),
    defaults: { maxRetries: config.TASK_MAX_RETRIES, timeLimitSeconds: config.TASK_TIME_LIMIT },
    // a publish fails after PUBLISH_TIMEOUT_MS, and its record is then removed: twice that is past any live publish
    publishGraceMs: 2 * config.PUBLISH_TIMEOUT_MS,
    allowPrivateCallbacks: config.WEBHOOK_ALLOW_PRIVATE,
    callbackUrls: {
      allowedPorts: config.WEBHOOK_ALLOWED_PORTS,
      // one resolver per process: its deadline, concurrency bound and cache hold for every request
      resolve: createCallbackDns({
        timeoutMs: config.WEBHOOK_DNS_TIMEOUT * 1000,
        concurrency: config.WEBHOOK_DNS_CONCURRENCY,
        ...(resolveCallbackHost ? { resolve: resolveCallbackHost } : {}),
      }),
    },
  });
}

/**
 * The one way a task enters the system (API and beat alike): check it, write the record, then
 * publish with confirms. A task counts as accepted only once every step has succeeded; if the
 * publish fails its record is removed and the error (503-class) goes back to the caller. A record
 * is written with a deadline in the scheduled set, cleared once its publish is confirmed: if this
 * process dies between the two steps, the workers' dispatcher publishes the task at the deadline.
 */
export function createProducer(deps: ProducerDeps) {
  async function prepare(request: SubmitRequest, traceId: string, taskId = newTaskId()): Promise<NewTask> {
    const { job } = await deps.jobs.resolve(request.task);
    let input: unknown = request.input ?? null;
    if (job.input) {
      const parsed = job.input.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue && issue.path.length > 0 ? `input.${issue.path.join('.')}` : 'input';
        throw new InvalidJobInputError(`${where}: ${issue?.message ?? 'invalid'}`, where);
      }
      input = parsed.data;
    }
    // the request wins over the job's own options (defineJob), which win over routing rules and defaults
    const route = deps.router.route(request.task, jobRoute(request, job));
    // the request wins over the job's own options (defineJob), which win over the defaults
    const timeLimit = request.time_limit ?? job.timeLimit ?? null;
    const softTimeLimit = request.soft_time_limit ?? job.softTimeLimit ?? null;
    if (timeLimit !== null && timeLimit > deps.defaults.timeLimitSeconds) {
      throw new InvalidTaskError(`time_limit may not exceed ${deps.defaults.timeLimitSeconds} seconds (TASK_TIME_LIMIT)`, 'time_limit');
    }
    if (softTimeLimit !== null && softTimeLimit > (timeLimit ?? deps.defaults.timeLimitSeconds)) {
      throw new InvalidTaskError('soft_time_limit may not exceed the hard time limit', 'soft_time_limit');
    }
    // resolved now (422 for a private address) and again at each delivery, against DNS rebinding
    const callbackUrl = request.callback_url === undefined ? null : (await checkCallbackUrl(request.callback_url, { ...deps.callbackUrls, allowPrivate: deps.allowPrivateCallbacks })).href;
    const eta = startTime(request);
    return {
      eta,
      expires: expiryTime(request.expires === undefined && job.expires !== undefined ? { expires: job.expires } : request, eta),
      id: taskId,
      task: request.task,
      queue: route.queue,
      priority: route.priority,
      input,
      max_retries: request.max_retries ?? job.maxRetries ?? deps.defaults.maxRetries,
      time_limit: timeLimit,
      soft_time_limit: softTimeLimit,
      retry_on_timeout: request.retry_on_timeout ?? job.retryOnTimeout ?? false,
      trace_id: traceId,
      metadata: request.metadata ?? null,
      callback_url: callbackUrl,
      schedule: request.schedule ?? null,
    };
  }

  async function createRecords(tasks: NewTask[]): Promise<{ record: TaskRecord; publishByMs: number }[]> {
    const publishByMs = Date.now() + deps.publishGraceMs;
    const records = await deps.store.createRecords(tasks, { publishByMs });
    return records.map((record) => ({ record, publishByMs }));
  }
  // single submissions that arrive in the same turn share one Redis transaction
  const createOne = createTickBatcher(createRecords);

  async function accept(tasks: NewTask[]): Promise<TaskRecord[]> {
    const created = tasks.length === 1 ? [await createOne(tasks[0]!)] : await createRecords(tasks);
    const records = created.map((c) => c.record);
    // a task with an eta waits in Redis as `scheduled`; the worker's dispatcher publishes it when due
    const now = tasks.filter((t) => t.eta === null);
    try {
      await Promise.all(
        now.map((t) => publishTask(deps.broker, t)),
      );
    } catch (err) {
      await deps.store.deleteRecords(tasks).catch((cleanupErr: unknown) => {
        deps.log.error({ err: cleanupErr }, 'could not remove records of unpublished tasks');
      });
      throw err;
    }
    // Confirmed: the dispatcher need not publish them (not awaited: the caller's answer does not wait
    // on it). Should this fail, the dispatcher publishes them once more at the deadline, and the
    // duplicate delivery is skipped by the start script (the task is running or finished by then).
    void deps.store.scheduled.publishedNow(now.map((t) => t.id), created[0]!.publishByMs).catch((err: unknown) => {
      deps.log.warn({ err, task_ids: now.map((t) => t.id) }, 'published tasks not cleared from the scheduled set; they will be published once more');
    });
    for (const t of tasks) deps.log.info({ task_id: t.id, trace_id: t.trace_id, task: t.task, queue: t.queue, priority: t.priority }, 'task accepted');
    return records;
  }

  /** A job as a caller may submit it: its schemas, and the queue and limits a request without options gets. */
  function jobInfo(name: string, job: LoadedJob): JobInfo {
    const route = deps.router.route(name, jobRoute({}, job));
    return {
      ...describeJob(name, job),
      queue: route.queue,
      priority: route.priority,
      max_retries: job.maxRetries ?? deps.defaults.maxRetries,
      expires: job.expires ?? null,
      time_limit: job.timeLimit ?? deps.defaults.timeLimitSeconds,
      soft_time_limit: job.softTimeLimit ?? null,
      retry_on_timeout: job.retryOnTimeout ?? false,
    };
  }

  return {
    /** Every job under JOBS_ROOT (GET /jobs), and the modules that failed to load. */
    async listJobs(): Promise<{ jobs: JobInfo[]; failed: { module: string; message: string }[] }> {
      const listing = await deps.jobs.list();
      return { jobs: listing.jobs.map(({ name, job }) => jobInfo(name, job)), failed: listing.failed };
    },

    /** One job (GET /jobs/:name); JobNotFoundError when the name is no job, InvalidTaskNameError when it is no task name. */
    async describeJob(name: string): Promise<JobInfo> {
      parseTaskName(name);
      try {
        return jobInfo(name, (await deps.jobs.resolve(name)).job);
      } catch (err) {
        if (err instanceof UnknownJobError) throw new JobNotFoundError(err.message);
        throw err;
      }
    },

    /** the queues tasks are routed to, as declared (the default ones and CELERITY_CONFIG's) */
    queues: deps.router.queues,

    /** Checks a submission as submit does (the same 422s) without accepting it: for a schedule, whose tasks come later. */
    async check(request: SubmitRequest): Promise<void> {
      await prepare(request, '');
    },

    /**
     * With an idempotency key, the same key and the same request within IDEMPOTENCY_TTL return the
     * original task (`replayed: true`); the same key with another request is a conflict.
     * `taskId` (a UUIDv7) is for the beat, whose fires have deterministic ids; default a new one.
     */
    async submit(request: SubmitRequest, traceId: string, idempotencyKey?: string, taskId?: string): Promise<{ record: TaskRecord; replayed: boolean }> {
      const task = await prepare(request, traceId, taskId);
      if (idempotencyKey === undefined) return { record: (await accept([task]))[0]!, replayed: false };

      const fingerprint = createHash('sha256').update(stableStringify(request) ?? '').digest('hex').slice(0, 32);
      const earlier = await deps.store.idempotency.reserve(idempotencyKey, fingerprint, task.id, IDEMPOTENCY_TTL_SECONDS);
      if (earlier) {
        if (earlier.fingerprint !== fingerprint) throw new IdempotencyConflictError('this Idempotency-Key was used with a different request');
        const original = await deps.store.get(earlier.taskId);
        if (!original) throw new IdempotencyConflictError('a request with this Idempotency-Key is still being accepted; retry shortly');
        return { record: original, replayed: true };
      }
      try {
        return { record: (await accept([task]))[0]!, replayed: false };
      } catch (err) {
        await deps.store.idempotency.release(idempotencyKey).catch(() => undefined); // refused: the key may be used again
        throw err;
      }
    },

    /**
     * Publishes up to `limit` scheduled tasks that are due (countdown/eta, retries, leased tasks
     * whose worker died, records whose publish was never confirmed): each is claimed for `leaseMs`
     * and forgotten once its publish is confirmed, so a process that dies half-way loses nothing
     * (another one publishes it after the lease; the start script skips a duplicate delivery).
     */
    async publishDue(limit: number, leaseMs: number): Promise<{ claimed: number; published: number }> {
      const { tasks, leaseUntilMs } = await deps.store.scheduled.claimDue(limit, leaseMs);
      if (tasks.length === 0) return { claimed: 0, published: 0 };
      const published: string[] = [];
      await Promise.all(
        tasks.map(async (t) => {
          try {
            await publishTask(deps.broker, t);
            published.push(t.id);
          } catch (err) {
            deps.log.warn({ err, task_id: t.id, trace_id: t.trace_id }, 'scheduled task not published; retried after its lease');
          }
        }),
      );
      await deps.store.scheduled.releaseDue(published, leaseUntilMs);
      deps.log.debug({ count: published.length }, 'scheduled tasks queued');
      return { claimed: tasks.length, published: published.length };
    },

    /** All or nothing: every task is checked before any record is written. */
    async submitBatch(requests: readonly SubmitRequest[], traceId: string): Promise<TaskRecord[]> {
      const tasks = await prepareInOrder(requests, (request) => prepare(request, traceId));
      return accept(tasks);
    },
  };
}
