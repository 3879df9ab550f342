import { backoffDelayMs, isFinished, type Logger, type TaskRecord } from '@celerity/core';
import type { WebhookPayload, WebhookTaskStatus } from '@celerity/sdk';
import type { TaskStore } from '@celerity/store';
import { deliverWebhook, webhookBackoff } from '@celerity/webhook';
import { runPeriodically } from './periodic.js';

export interface CallbackDispatcherOptions {
  store: TaskStore;
  log: Logger;
  /** HMAC key; unset = callbacks go out unsigned */
  secret: string | undefined;
  allowPrivate: boolean;
  timeoutMs: number;
  maxAttempts: number;
  retryDelayMs: { base: number; max: number };
  /** how often due callbacks are looked for */
  intervalMs?: number;
  /** callbacks being delivered at once per worker */
  maxInFlight?: number;
}

/** How much of a receiver's answer is read: only its status matters. */
const MAX_RESPONSE_BYTES = 16 * 1024;

/** The body of a callback, typed by the contract receivers verify against (@celerity/sdk). Only finished tasks are queued. */
export function callbackPayload(record: TaskRecord & { finished_at: string }): WebhookPayload {
  return {
    id: record.id,
    task: record.task,
    status: record.status as WebhookTaskStatus,
    ...(record.status === 'succeeded' ? { result: record.result } : {}),
    error: record.error ? { type: record.error.type, message: record.error.message } : null,
    attempts: record.attempts,
    finished_at: record.finished_at,
    trace_id: record.trace_id,
    metadata: record.metadata,
  };
}

/**
 * Delivers the webhooks of finished tasks. A task's final status queues its callback in a Redis
 * sorted set in the same script (store EVENTS), so a pending delivery is never only a timer in
 * memory: each worker claims due callbacks with a lease, POSTs them, and records the attempt: a 2xx
 * is delivered; anything else is retried with exponential backoff and jitter until
 * WEBHOOK_MAX_ATTEMPTS, then `failed` (POST /tasks/:id/callback/retry sends it again). A worker that
 * dies mid-delivery leaves the claim to run out and another worker retries it.
 */
export function startCallbackDispatcher(options: CallbackDispatcherOptions): { close(): Promise<void> } {
  const { store, log } = options;
  const intervalMs = options.intervalMs ?? 200;
  const maxInFlight = options.maxInFlight ?? 32;
  const leaseMs = options.timeoutMs + 30_000;
  const inFlight = new Set<Promise<void>>();

  async function deliver(id: string): Promise<void> {
    const record = await store.get(id);
    if (!record?.callback || !isFinished(record.status) || record.finished_at === null) {
      // its record expired (RESULT_EXPIRES shorter than the retry window): nothing left to send
      await store.callbacks.forget(id);
      log.warn({ task_id: id }, 'callback dropped: the task record expired before it was delivered');
      return;
    }
    const ids = { task_id: id, trace_id: record.trace_id, callback_url: record.callback.url };
    const attempt = await deliverWebhook({
      url: record.callback.url,
      body: JSON.stringify(callbackPayload({ ...record, finished_at: record.finished_at })),
      secret: options.secret,
      eventId: record.id, // one final event per task: the same id on every attempt, for de-duplication
      traceId: record.trace_id,
      timeoutMs: options.timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      allowPrivate: options.allowPrivate,
    });
    const attempts = record.callback.attempts + 1;
    if (attempt.delivered) {
      await store.callbacks.recordAttempt(id, { state: 'delivered', lastStatus: attempt.status, lastError: null });
      log.info({ ...ids, attempts, status: attempt.status, duration_ms: attempt.durationMs }, 'callback delivered');
    } else if (attempts >= options.maxAttempts) {
      await store.callbacks.recordAttempt(id, { state: 'failed', lastStatus: attempt.status, lastError: attempt.error });
      log.error({ ...ids, attempts, status: attempt.status, error: attempt.error }, 'callback failed; giving up (POST /tasks/:id/callback/retry sends it again)');
    } else {
      const delayMs = backoffDelayMs(attempts, webhookBackoff(options.retryDelayMs));
      await store.callbacks.recordAttempt(id, { state: 'pending', lastStatus: attempt.status, lastError: attempt.error, nextAttemptAt: new Date(Date.now() + delayMs) });
      log.warn({ ...ids, attempts, status: attempt.status, error: attempt.error, retry_in_ms: Math.round(delayMs) }, 'callback not delivered; will retry');
    }
  }

  /** Claims only as many as there are free slots, and does not wait for them: a slow receiver holds one slot, not the round. */
  async function claimDue(): Promise<void> {
    const free = maxInFlight - inFlight.size;
    if (free <= 0) return;
    for (const id of await store.callbacks.claimDue(free, leaseMs)) {
      const attempt = deliver(id)
        .catch((err: unknown) => log.warn({ err, task_id: id }, 'callback attempt not recorded; retried after its lease'))
        .finally(() => inFlight.delete(attempt));
      inFlight.add(attempt);
    }
  }

  const loop = runPeriodically(intervalMs, claimDue, (err) => log.warn({ err }, 'callback dispatch failed; will try again'));
  return {
    /** Stops claiming; attempts under way finish (each bounded by the timeout). */
    async close() {
      await loop.close();
      await Promise.all(inFlight);
    },
  };
}
