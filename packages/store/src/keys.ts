/**
 * Every Redis key and channel name Celerity uses, in one place. NAMESPACE isolates deployments and
 * test runs. Every key of a namespace carries the same hash tag (`{celerity:<namespace>}`, or
 * `{celerity}` without one), so on Redis Cluster they all live in one slot: the scripts and
 * transactions that touch several of them stay legal there.
 */
export function createKeys(namespace: string | undefined) {
  const prefix = namespace ? `{celerity:${namespace}}:` : '{celerity}:';
  return {
    prefix,
    /** hash: the task record */
    task: (id: string) => `${prefix}task:${id}`,
    /** capped list and pub/sub channel of one task's numbered status and progress events */
    events: (id: string) => `${prefix}task:${id}:events`,
    /** sorted set: tasks whose callback is due, scored by the next attempt's time in ms */
    callbacks: `${prefix}callbacks`,
    /** sorted set, all scores 0, members are UUIDv7 ids: lexical order = creation order */
    index: `${prefix}tasks`,
    /** sorted set: scheduled task ids (countdown/eta and retries) scored by due time in ms */
    scheduled: `${prefix}scheduled`,
    /** sorted set: running tasks acked at start (see BROKER_CONSUMER_TIMEOUT), scored by lease end in ms */
    leases: `${prefix}leases`,
    /** lock held by the one worker that moves due scheduled tasks to their queues */
    schedulerLock: `${prefix}scheduler-lock`,
    /** idempotency key → task id and request fingerprint */
    idempotency: (key: string) => `${prefix}idempotency:${key}`,
    /** stream: tasks that ended without success and messages that could not be parsed, oldest first */
    deadLetters: `${prefix}dead-letters`,
    /** hash: schedule name → its definition (JSON), see schedules.ts */
    schedules: `${prefix}schedules`,
    /** hash: one schedule's state: version, cursor, paused, pending fires, last run (schedules.ts) */
    schedule: (name: string) => `${prefix}schedule:${name}`,
    /** sorted set like `index`: the ids of the tasks one schedule fired (GET /tasks?schedule=) */
    scheduleTasks: (name: string) => `${prefix}schedule:${name}:tasks`,
    /** prefix of the API's rate-limit counters (@fastify/rate-limit adds the bucket and caller) */
    rateLimits: `${prefix}rate:`,
    /** hash: task counters and histograms, written by the status-change scripts (lua/stats.lua, stats.ts) */
    stats: `${prefix}stats`,
    /** sorted set: snapshots of `stats` by minute (JSON), for rates over the last minute, hour and day */
    statsHistory: `${prefix}stats:history`,
    /** string: the snapshot DELETE /stats took; GET /stats counts from there */
    statsBaseline: `${prefix}stats:baseline`,
    /** sorted set: one queue's running tasks scored by start time in ms (also built in lua/stats.lua) */
    running: (queue: string) => `${prefix}running:${queue}`,
    /** sorted set like `index`: the tasks submitted with one trace id by a caller, or in one batch (GET /tasks?trace_id=); expires */
    trace: (traceId: string) => `${prefix}trace:${traceId}`,
    /** sorted set, scores 0: the ids of one queue's `pending` tasks of one task name, lexical = creation order (lua/stats.lua) */
    pending: (queue: string, task: string) => `${prefix}pending:${queue}:${task}`,
    /** sorted set, scores 0: finished tasks of one status, queue and task name as '<finished ms, 13 digits>:<id>' (lua/stats.lua) */
    done: (status: string, queue: string, task: string) => `${prefix}done:${status}:${queue}:${task}`,
    /** string (JSON) with a TTL: one dashboard session, by the SHA-256 of its cookie (ui-sessions.ts) */
    uiSession: (tokenDigest: string) => `${prefix}ui-session:${tokenDigest}`,
    /** pub/sub: cancel requests for running tasks and worker control (pause, resume, shutdown), read by every worker */
    control: `${prefix}control`,
    /** sorted set: worker id → its last heartbeat in ms (workers.ts) */
    workers: `${prefix}workers`,
    /** string: one worker's last heartbeat (JSON), expiring a while after it stops beating */
    worker: (id: string) => `${prefix}worker:${id}`,
  };
}
export type Keys = ReturnType<typeof createKeys>;

/** A glob (SCAN MATCH) for every key of a namespace, for clean-up; the hash tag's braces escaped. */
export function namespaceKeyPattern(namespace: string | undefined): string {
  return `${createKeys(namespace).prefix.replace(/[{}[\]*?\\]/g, '\\$&')}*`;
}
