import { readTaskMessage, type Delivery, type Outcome } from '@celerity/broker';
import { toErrorPayload, WORKER_FAILURE, type Logger } from '@celerity/core';
import type { FinalOutcome, TaskStore } from '@celerity/store';
import type { ExecutionPool } from './execution-pool.js';
import type { PrioritySlots } from './priority-slots.js';
import type { ExecutionResult } from './execution-protocol.js';
import type { ProgressWriter } from './progress-writer.js';
import { decideRetry, type RetryPolicy } from './retry-policy.js';

/** Running executions of this worker, by task id, so cancel requests from Redis can reach them. */
export type InflightRegistry = Map<string, { cancel(terminate: boolean): void; shutdown(): void }>;

export interface DeliveryDeps {
  store: TaskStore;
  pool: ExecutionPool;
  /** run slots: prefetched deliveries wait here, highest priority first */
  slots: PrioritySlots;
  progress: ProgressWriter;
  inflight: InflightRegistry;
  log: Logger;
  workerName: string;
  /** defaults in seconds when the task has no limits of its own */
  limits: { timeLimit: number; softTimeLimit: number };
  retryPolicy: RetryPolicy;
  /**
   * RabbitMQ's consumer_timeout and the lease that replaces the unacked delivery for tasks that may
   * outlive it (see needsLease), both in ms.
   */
  ackTimeouts: { consumerTimeoutMs: number; leaseMs: number };
  isStopping(): boolean;
  /** attempts this worker finished (stored an outcome or a retry for), and those that did not succeed */
  counts: { processed: number; failed: number };
}

/**
 * RabbitMQ closes a channel whose delivery stays unacked past consumer_timeout, and with it every
 * other delivery on that channel. A task whose hard limit reaches half of it (the rest is headroom
 * for waiting in the prefetch buffer and for storing the outcome) is acked when it starts instead,
 * and a lease in Redis, renewed while it runs, takes over the job of bringing it back if its worker
 * dies.
 */
export function needsLease(hardSeconds: number, consumerTimeoutMs: number): boolean {
  return hardSeconds * 1000 >= consumerTimeoutMs / 2;
}

/**
 * Where one delivery's attempt is in its life. Cancel and shutdown requests act on it according to
 * the phase: before the claim they are only remembered (a cancelled task fails its claim anyway),
 * while running they reach the execution.
 */
type Phase =
  | { name: 'claiming' }
  | { name: 'running'; attempt: number }
  | { name: 'storing' }
  | { name: 'done' };
type StopReason = 'cancelled' | 'terminated' | 'shutdown';

/**
 * One delivery: wait for a run slot (highest priority first), claim the record (running), run the
 * job, store the outcome, and only then let the broker ack. Decides; packages/broker carries the
 * decision out.
 */
export async function handleDelivery(delivery: Delivery, deps: DeliveryDeps): Promise<Outcome> {
  if (!(await deps.slots.acquire(delivery.priority, delivery.queue))) return { kind: 'requeue' }; // shutdown or a pause began while it waited
  try {
    return await runDelivery(delivery, deps);
  } finally {
    deps.slots.release();
  }
}

async function runDelivery(delivery: Delivery, deps: DeliveryDeps): Promise<Outcome> {
  if (deps.isStopping()) return { kind: 'requeue' }; // waited for a slot while shutdown began: let another worker take it
  const parsed = readTaskMessage(delivery.body);
  if (!parsed) {
    // kept as a dead letter before the ack; if Redis is down the handler throws and the message is requeued
    const deadLetterId = await deps.store.deadLetters.addMessage(delivery.queue, delivery.body, {
      type: WORKER_FAILURE.MALFORMED_MESSAGE,
      message: 'the message is not a task: expected JSON {id, task, trace_id}',
      retryable: false,
    });
    deps.log.error({ queue: delivery.queue, bytes: delivery.body.length, dead_letter_id: deadLetterId }, 'malformed message dead-lettered');
    return { kind: 'ack' };
  }
  const { id, task, trace_id } = parsed;
  const ids = { task_id: id, trace_id, job: task };

  let phase: Phase = { name: 'claiming' };
  let stopReason: StopReason | undefined;
  const execution = {
    cancel(terminate: boolean) {
      stopReason = terminate ? 'terminated' : 'cancelled';
      if (phase.name !== 'running') return; // before the claim: the claim finds the task cancelled
      deps.pool.abort(id, phase.attempt, 'cancelled');
      if (terminate) deps.pool.kill(id, phase.attempt);
    },
    shutdown() {
      stopReason ??= 'shutdown';
      if (phase.name === 'running') deps.pool.abort(id, phase.attempt, 'shutdown');
    },
  };
  // Registered before the claim, so a cancel that lands right after it still finds the execution;
  // a duplicate delivery of a task this worker is running must not take over the running one's entry.
  if (!deps.inflight.has(id)) deps.inflight.set(id, execution);
  let lease: NodeJS.Timeout | undefined;

  try {
    const claim = await deps.store.start(id, deps.workerName, delivery.redelivered);
    if (claim.kind === 'missing') {
      deps.log.warn(ids, 'no record for delivered task (expired or never accepted); dropping');
      return { kind: 'ack' };
    }
    if (claim.kind === 'lost') {
      deps.log.error({ ...ids, attempts: claim.attempts }, 'task failed and dead-lettered: its workers kept dying while running it');
      return { kind: 'ack' };
    }
    if (claim.kind === 'expired') {
      deps.log.info(ids, 'task expired before it started; not run');
      return { kind: 'ack' };
    }
    if (claim.kind === 'skip') {
      deps.log.warn({ ...ids, status: claim.status }, 'duplicate delivery skipped');
      return { kind: 'ack' };
    }
    const log = lazyChild(deps.log, { ...ids, attempt: claim.attempt });
    if (stopReason === 'cancelled' || stopReason === 'terminated') {
      // cancelled while the claim was on its way: the record says cancelled, nothing to run
      log.info('task cancelled before it started');
      return { kind: 'ack' };
    }
    phase = { name: 'running', attempt: claim.attempt };
    const hardSeconds = claim.timeLimit ?? deps.limits.timeLimit;
    const leased = needsLease(hardSeconds, deps.ackTimeouts.consumerTimeoutMs);
    if (leased) lease = await holdLease(id, delivery, deps, log);
    log.info({ queue: delivery.queue, redelivered: delivery.redelivered, leased }, 'task started');

    const softSeconds = Math.min(claim.softTimeLimit ?? deps.limits.softTimeLimit, hardSeconds);
    let softExpired = false;
    let hardExpired = false;
    const softTimer = setTimeout(() => {
      softExpired = true;
      deps.pool.abort(id, claim.attempt, 'soft_time_limit');
    }, softSeconds * 1000);
    const hardTimer = setTimeout(() => {
      hardExpired = true;
      deps.pool.kill(id, claim.attempt);
    }, hardSeconds * 1000);

    // a shutdown that began during the claim: the task starts aborted and is handed back
    const result = await deps.pool.run({
      taskId: id,
      task,
      traceId: trace_id,
      attempt: claim.attempt,
      input: claim.input,
      queue: delivery.queue,
      priority: delivery.priority,
      metadata: claim.metadata,
      ...(stopReason === 'shutdown' && { abortedBy: stopReason }),
    });
    clearTimeout(softTimer);
    clearTimeout(hardTimer);
    phase = { name: 'storing' };

    if (!result.ok && (result.interrupted || stopReason === 'shutdown')) {
      // hand the task back first, so the interrupted attempt does not count towards the poison limit
      const released = await deps.store.release(id, deps.workerName, { leased }).catch((err: unknown) => {
        log.warn({ err }, leased ? 'could not hand the task back; it runs again when its lease runs out' : 'could not hand the task back; its redelivery counts as an attempt');
        return 'unavailable';
      });
      log.warn({ released, reason: result.error.message }, 'task interrupted; requeued to run elsewhere');
      return { kind: 'requeue' }; // ignored when acked at start: the release rescheduled it
    }
    await deps.progress.settle(id, result.lastProgress);
    const outcome = decideOutcome(result, { softExpired, hardExpired, hardSeconds, softSeconds });
    // failures are retried; a timed-out run only when the task asked for it (Celery's default); a cancelled one never
    deps.counts.processed += 1;
    if (outcome.status !== 'succeeded') deps.counts.failed += 1;
    const retriable = outcome.status === 'failed' || (outcome.status === 'timed_out' && claim.retryOnTimeout);
    if (retriable && outcome.error && stopReason === undefined) {
      const error = outcome.status === 'timed_out' ? { ...outcome.error, retryable: true } : outcome.error;
      const decision = decideRetry(error, claim.attempt, claim.maxRetries, deps.retryPolicy);
      if (decision.kind === 'retry') {
        const eta = new Date(Date.now() + decision.delayMs);
        const stored = await deps.store.retry(id, eta, outcome.error);
        if (stored === 'ok') log.warn({ error: outcome.error, retry_in_ms: decision.delayMs, eta: eta.toISOString() }, 'task failed; retry scheduled');
        else log.info({ status: stored }, 'retry not scheduled: task already finished');
        return { kind: 'ack' };
      }
    }
    const stored = await deps.store.finish(id, outcome);
    if (stored !== 'ok') log.info({ status: stored, discarded: outcome.status }, 'outcome discarded: task already finished');
    else if (outcome.status === 'succeeded') log.info('task succeeded');
    else log.error({ status: outcome.status, error: outcome.error }, 'task did not succeed');
    return { kind: 'ack' };
  } finally {
    const ran = phase.name !== 'claiming';
    phase = { name: 'done' };
    if (deps.inflight.get(id) === execution) deps.inflight.delete(id);
    if (ran) deps.progress.forget(id);
    if (lease) {
      clearInterval(lease);
      await deps.store.scheduled.dropLease(id).catch(() => undefined); // a leftover lease of a finished task is dropped by the reaper
    }
  }
}

/** A child logger made on first use: most tasks log nothing at the usual levels, and a child is not free. */
function lazyChild(parent: Logger, bindings: Record<string, unknown>): Pick<Logger, 'info' | 'warn' | 'error'> {
  let child: Logger | undefined;
  const get = () => (child ??= parent.child(bindings));
  return {
    info: ((...args: Parameters<Logger['info']>) => parent.isLevelEnabled('info') && get().info(...args)) as Logger['info'],
    warn: ((...args: Parameters<Logger['warn']>) => get().warn(...args)) as Logger['warn'],
    error: ((...args: Parameters<Logger['error']>) => get().error(...args)) as Logger['error'],
  };
}

/** Takes the lease, acks the delivery, and renews the lease every third of it until cleared. */
async function holdLease(id: string, delivery: Delivery, deps: DeliveryDeps, log: Pick<Logger, 'warn'>): Promise<NodeJS.Timeout> {
  const { leaseMs } = deps.ackTimeouts;
  await deps.store.scheduled.holdLease(id, Date.now() + leaseMs);
  if (!delivery.ackNow()) log.warn('channel lost before the early ack; the broker may deliver this task again');
  return setInterval(() => {
    deps.store.scheduled.holdLease(id, Date.now() + leaseMs).catch((err: unknown) => log.warn({ err }, 'lease renewal failed; retrying'));
  }, leaseMs / 3);
}


function decideOutcome(
  result: ExecutionResult,
  timing: { softExpired: boolean; hardExpired: boolean; hardSeconds: number; softSeconds: number },
): FinalOutcome {
  if (timing.hardExpired) {
    return { status: 'timed_out', error: { type: WORKER_FAILURE.TIME_LIMIT_EXCEEDED, message: `killed after the hard time limit of ${timing.hardSeconds} s`, retryable: false } };
  }
  if (result.ok) return { status: 'succeeded', resultGzip: result.resultGzip };
  if (timing.softExpired) {
    return { status: 'timed_out', error: { type: WORKER_FAILURE.SOFT_TIME_LIMIT_EXCEEDED, message: `stopped after the soft time limit of ${timing.softSeconds} s: ${result.error.message}`, retryable: false } };
  }
  return { status: 'failed', error: result.error };
}
