import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { QueueDefinition, RoutingRule } from './routing.js';
import { ScheduleList } from './schedule.js';

const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);
const csv = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()).filter(Boolean));
const optionalCsv = z.preprocess((v) => (v === '' ? undefined : v), csv.optional());
/** "true"/"false" (and 1/0, yes/no): z.coerce.boolean would read "false" as true. */
const flag = z.stringbool().default(false);
const optionalPositiveInt = z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().positive().optional());
/** a TCP port to listen on, or unset ("" too) for none */
const optionalPort = z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(1).max(65535).optional());

/** Runs a cross-field check as soon as the fields it reads are valid, so one error lists every bad variable. */
function fieldsValid(...fields: string[]) {
  return (payload: { issues: readonly { path?: readonly PropertyKey[] | undefined }[] }) =>
    !payload.issues.some((issue) => fields.includes(String(issue.path?.[0])));
}

/** The environment of every Celerity process (DESIGN.md "Configuration"), validated once at start-up. */
export const EnvSchema = z
  .object({
    RABBITMQ_URL: z.string().regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL').default('amqp://guest:guest@127.0.0.1:5672'),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379/0'),
    // Redis Cluster: some of its nodes as host:port, comma-separated; the client finds the rest. Then
    // REDIS_URL gives only the credentials and TLS (rediss://), its host and database are not used.
    REDIS_CLUSTER_NODES: z.preprocess(
      (v) => (v === '' ? undefined : v),
      csv.pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each node must be host:port')).min(1)).optional(),
    ),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    API_KEYS: optionalCsv,
    // a file of API keys (one a line, or comma-separated; # starts a comment) instead of API_KEYS,
    // re-read on SIGHUP: keys taken out are refused from then on and their event streams closed
    API_KEYS_FILE: z.string().min(1).optional(),
    // keys that may also call the admin routes (queue and dead-letter purges, stats reset, worker
    // control), comma-separated; they are API keys too. Unset = those routes refuse everyone while
    // auth is on.
    ADMIN_API_KEYS: optionalCsv,
    // browser origins allowed to call the API (CORS), e.g. https://app.example.com, or *; unset = none
    CORS_ORIGINS: optionalCsv,
    // how long a dashboard (/ui) sign-in lasts, in seconds, before the key must be given again
    UI_SESSION_TTL: z.coerce.number().int().min(60).max(604_800).default(28_800),
    JOBS_ROOT: z.string().min(1).default('examples/jobs'),
    CELERITY_CONFIG: z.string().min(1).optional(),
    RESULT_EXPIRES: z.coerce.number().int().positive().default(86_400),
    TASK_SOFT_TIME_LIMIT: seconds(540),
    TASK_TIME_LIMIT: seconds(600),
    TASK_MAX_RETRIES: z.coerce.number().int().min(0).default(3),
    TASK_RETRY_DELAY: seconds(60),
    TASK_RETRY_DELAY_MAX: seconds(600),
    WORKER_QUEUES: optionalCsv,
    // tasks running at once per worker, spread over WORKER_THREADS execution threads; the defaults
    // suit async I/O-bound jobs (docs/benchmarks.md "short tasks" / "long tasks" for other mixes)
    WORKER_CONCURRENCY: z.coerce.number().int().positive().max(10_000).default(64),
    WORKER_THREADS: z.coerce.number().int().positive().max(256).default(1),
    // deliveries held per running slot: prefetch = concurrency × this (the extra wait in priority order)
    WORKER_PREFETCH: z.coerce.number().int().positive().max(100).default(2),
    WORKER_MAX_TASKS_PER_CHILD: optionalPositiveInt,
    WORKER_MAX_MEMORY_PER_CHILD: optionalPositiveInt,
    WORKER_SHUTDOWN_GRACE: seconds(25),
    // a delivery whose handling fails (Redis answering LOADING, BUSY or errors; a bug) is tried again after a
    // growing backoff (0.2 s … 10 s), its failures counted on the message; after this many in a row it is
    // parked in RabbitMQ and, once Redis answers, its task fails and is dead-lettered (docs/guarantees.md)
    WORKER_HANDLER_FAILURE_LIMIT: z.coerce.number().int().min(1).max(1_000).default(20),
    // seconds between a worker's heartbeats in Redis (GET /workers); three missed = lost
    WORKER_HEARTBEAT: seconds(5),
    // optional GET /health of each worker for orchestrators (event loop turning, broker channel open)
    WORKER_HEALTH_PORT: optionalPort,
    WORKER_HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
    // RabbitMQ's consumer_timeout: a task whose hard limit does not fit well under it is acked at start and held by a lease
    BROKER_CONSUMER_TIMEOUT: seconds(1_800),
    // the lease of a task acked at start, renewed every third of it while it runs
    TASK_LEASE: seconds(60),
    WEBHOOK_SECRET: z.string().min(1).optional(),
    WEBHOOK_ALLOW_PRIVATE: flag,
    // ports a callback_url may name (the scheme's default counts); any port with WEBHOOK_ALLOW_PRIVATE
    WEBHOOK_ALLOWED_PORTS: csv.transform((ports) => ports.map(Number)).pipe(z.array(z.int().min(1).max(65535)).min(1)).default([80, 443]),
    // submit-time resolution of callback hosts: a deadline per name and names resolved at once per process
    WEBHOOK_DNS_TIMEOUT: seconds(5),
    WEBHOOK_DNS_CONCURRENCY: z.coerce.number().int().positive().max(1_000).default(16),
    WEBHOOK_TIMEOUT: seconds(10),
    WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().positive().max(100).default(12),
    WEBHOOK_RETRY_DELAY: seconds(30),
    WEBHOOK_RETRY_DELAY_MAX: seconds(3_600),
    NAMESPACE: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _ only')
      .optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    BODY_LIMIT: z.coerce.number().int().positive().default(1_048_576),
    // deepest nesting of arrays and objects a JSON body may have (deeper: 400 BODY_TOO_DEEP)
    BODY_MAX_DEPTH: z.coerce.number().int().min(2).max(1_000).default(64),
    // the largest page GET /tasks?view=full answers (a page ends early, with its next_cursor, before passing it)
    LIST_MAX_BYTES: z.coerce.number().int().min(1_024).default(4_194_304),
    BATCH_MAX_SIZE: z.coerce.number().int().positive().max(10_000).default(500),
    PUBLISH_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
    // the HTTP server (docs/security.md): receiving a whole request (headers and body) may take
    // HTTP_REQUEST_TIMEOUT; a connection idle (nothing read or written) for HTTP_CONNECTION_TIMEOUT is
    // closed, which must leave room for the 15 s heartbeat of event streams; an idle keep-alive
    // connection is kept HTTP_KEEP_ALIVE_TIMEOUT; at most HTTP_MAX_CONNECTIONS at once per process
    HTTP_REQUEST_TIMEOUT: seconds(30),
    HTTP_CONNECTION_TIMEOUT: z.coerce.number().min(20, 'must leave room for the 15 s heartbeat of event streams (at least 20)').default(120),
    HTTP_KEEP_ALIVE_TIMEOUT: seconds(72),
    HTTP_MAX_CONNECTIONS: z.coerce.number().int().positive().default(4_096),
    // per caller (API key, watch token, or address with auth off) and per API process: open event
    // streams (SSE and WebSocket), and tasks followed over all of them
    // the longest a long poll (GET /tasks/:id?wait=N, POST /tasks?wait=N) waits, in seconds; a longer wait is cut to it
    TASK_WAIT_MAX: z.coerce.number().int().min(1).max(3_600).default(60),
    EVENTS_MAX_STREAMS: z.coerce.number().int().positive().default(32),
    EVENTS_MAX_SUBSCRIPTIONS: z.coerce.number().int().positive().default(1_000),
    // requests per caller and window, counted in Redis for all replicas; unset = on unless HOST is loopback
    RATE_LIMIT_ENABLED: z.stringbool().optional(),
    RATE_LIMIT_WINDOW: seconds(60),
    RATE_LIMIT_WRITES: z.coerce.number().int().positive().default(600),
    RATE_LIMIT_READS: z.coerce.number().int().positive().default(6_000),
    // GET /health/tasks (docs/operations.md): the failure rate over the last HEALTH_FAILURE_WINDOW
    // minutes (once at least HEALTH_FAILURE_MIN_TASKS finished) at or above WARN / CRIT (fractions),
    // tasks running longer than HEALTH_LONG_RUNNING seconds, more ready messages than HEALTH_BACKLOG_WARN
    HEALTH_FAILURE_WINDOW: z.coerce.number().int().positive().max(1_440).default(15),
    HEALTH_FAILURE_MIN_TASKS: z.coerce.number().int().positive().default(10),
    HEALTH_FAILURE_WARN: z.coerce.number().min(0).max(1).default(0.1),
    HEALTH_FAILURE_CRIT: z.coerce.number().min(0).max(1).default(0.2),
    HEALTH_LONG_RUNNING: seconds(480),
    HEALTH_BACKLOG_WARN: z.coerce.number().int().positive().default(1_000),
    // GET /metrics: task names labelled one by one, the busiest first; the rest count as task="_other"
    METRICS_MAX_TASK_NAMES: z.coerce.number().int().positive().default(100),
    // a worker serves its own process metrics (CPU, memory, event-loop lag, busy slots) on this port; unset = off
    WORKER_METRICS_PORT: optionalPositiveInt,
    // the address it listens on (0.0.0.0 in a container, for Prometheus in another one)
    WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  })
  .refine((env) => env.TASK_SOFT_TIME_LIMIT <= env.TASK_TIME_LIMIT, {
    path: ['TASK_SOFT_TIME_LIMIT'],
    message: 'must not exceed TASK_TIME_LIMIT',
    when: fieldsValid('TASK_SOFT_TIME_LIMIT', 'TASK_TIME_LIMIT'),
  })
  .refine((env) => env.HEALTH_FAILURE_WARN <= env.HEALTH_FAILURE_CRIT, {
    path: ['HEALTH_FAILURE_WARN'],
    message: 'must not exceed HEALTH_FAILURE_CRIT',
    when: fieldsValid('HEALTH_FAILURE_WARN', 'HEALTH_FAILURE_CRIT'),
  })
  .refine((env) => env.TASK_RETRY_DELAY <= env.TASK_RETRY_DELAY_MAX, {
    path: ['TASK_RETRY_DELAY'],
    message: 'must not exceed TASK_RETRY_DELAY_MAX',
    when: fieldsValid('TASK_RETRY_DELAY', 'TASK_RETRY_DELAY_MAX'),
  })
  .refine((env) => env.WEBHOOK_RETRY_DELAY <= env.WEBHOOK_RETRY_DELAY_MAX, {
    path: ['WEBHOOK_RETRY_DELAY'],
    message: 'must not exceed WEBHOOK_RETRY_DELAY_MAX',
    when: fieldsValid('WEBHOOK_RETRY_DELAY', 'WEBHOOK_RETRY_DELAY_MAX'),
  })
  .refine((env) => isLoopback(env.HOST) || (env.API_KEYS?.length ?? 0) > 0 || env.API_KEYS_FILE !== undefined, {
    path: ['API_KEYS'],
    message: 'required when HOST is not a loopback address (or API_KEYS_FILE)',
    when: fieldsValid('HOST', 'API_KEYS', 'API_KEYS_FILE'),
  })
  .refine((env) => env.API_KEYS === undefined || env.API_KEYS_FILE === undefined, {
    path: ['API_KEYS_FILE'],
    message: 'set API_KEYS or API_KEYS_FILE, not both',
    when: fieldsValid('API_KEYS', 'API_KEYS_FILE'),
  });
export type Env = z.output<typeof EnvSchema>;

/** The optional CELERITY_CONFIG file: extra queues, routing rules and schedules (beat). */
export const ConfigFileSchema = z
  .object({
    queues: z.array(QueueDefinition).default([]),
    routes: z.array(RoutingRule).default([]),
    schedules: ScheduleList.default([]),
  })
  .strict();
export type ConfigFile = z.output<typeof ConfigFileSchema>;

export interface Config extends Env {
  /** JOBS_ROOT made absolute against the working directory */
  jobsRoot: string;
  file: ConfigFile;
}

/** Parses the environment (and CELERITY_CONFIG when set); throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = EnvSchema.safeParse(stripEmpty(env));
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  const file = parsed.data.CELERITY_CONFIG ? readConfigFile(parsed.data.CELERITY_CONFIG) : ConfigFileSchema.parse({});
  const apiKeys = parsed.data.API_KEYS_FILE ? readApiKeysFile(parsed.data.API_KEYS_FILE) : parsed.data.API_KEYS;
  return Object.freeze({ ...parsed.data, API_KEYS: apiKeys, jobsRoot: resolve(parsed.data.JOBS_ROOT), file });
}

/** The keys of an API_KEYS_FILE: one a line or comma-separated, `#` to the end of a line is a comment; never empty. */
export function readApiKeysFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`API_KEYS_FILE: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const keys = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(','))
    .map((key) => key.trim())
    .filter(Boolean);
  if (keys.length === 0) throw new ConfigError(`API_KEYS_FILE (${path}) holds no key`);
  return keys;
}

function readConfigFile(path: string): ConfigFile {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`CELERITY_CONFIG: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ConfigFileSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(`CELERITY_CONFIG (${path}) is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** An empty variable (`FOO=`) means "use the default", as in most twelve-factor tools. */
function stripEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}
