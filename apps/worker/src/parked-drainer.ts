import { readTaskMessage, type Broker, type ParkedMessage } from '@celerity/broker';
import { WORKER_FAILURE, type ErrorPayload, type Logger } from '@celerity/core';
import type { TaskStore } from '@celerity/store';
import { runPeriodically } from './periodic.js';

export interface ParkedDrainerOptions {
  store: TaskStore;
  broker: Broker;
  log: Logger;
  /** how often the parking queue is looked at */
  intervalMs?: number;
  /** messages moved per round trip */
  batchSize?: number;
}

/**
 * Moves parked messages (their handler failed WORKER_HANDLER_FAILURE_LIMIT times in a row, see
 * HANDLER_FAILURE_BACKOFF in packages/broker) into the dead letters once Redis answers again: each
 * task ends `failed` (HANDLER_FAILURE_LIMIT) and is dead-lettered in one step, so it shows in
 * GET /dead-letters and can be re-submitted from there; a message that is not a task is kept as a
 * malformed dead letter. A parked message is acked only after its dead letter is written, so a
 * Redis still failing leaves it parked for the next round. The worker does this by itself rather
 * than wait for an operator: parking exists only because Redis (or the handler) failed, and the
 * record of a parked task would otherwise say `pending` with no message behind it.
 */
export function startParkedDrainer(options: ParkedDrainerOptions): { close(): Promise<void> } {
  const { store, broker, log } = options;
  const intervalMs = options.intervalMs ?? 5_000;
  const batchSize = options.batchSize ?? 100;

  async function deadLetter(parked: ParkedMessage): Promise<void> {
    const parsed = readTaskMessage(parked.body);
    const because = `its delivery failed ${parked.failures} time(s) in a row (last: ${parked.lastError || 'unknown'}); parked at ${parked.parkedAt || 'unknown'}`;
    if (!parsed) {
      const error: ErrorPayload = { type: WORKER_FAILURE.MALFORMED_MESSAGE, message: `the message is not a task: expected JSON {id, task, trace_id}; ${because}`, retryable: false };
      const deadLetterId = await store.deadLetters.addMessage(parked.queue, parked.body, error);
      log.error({ queue: parked.queue, dead_letter_id: deadLetterId, failures: parked.failures }, 'parked message dead-lettered (not a task)');
      return;
    }
    const error: ErrorPayload = { type: WORKER_FAILURE.HANDLER_FAILURE_LIMIT, message: `not run: ${because}`, retryable: false };
    const ids = { task_id: parsed.id, trace_id: parsed.trace_id, job: parsed.task, queue: parked.queue, failures: parked.failures };
    const stored = await store.failParked(parsed.id, error);
    if (stored === 'ok') log.error({ ...ids, last_error: parked.lastError }, 'parked task failed and dead-lettered: its delivery could not be handled');
    else if (stored === 'missing') log.warn(ids, 'parked message of a task with no record (expired or never accepted); dropped');
    else log.info({ ...ids, status: stored }, 'parked message of a task that is no longer pending or running; dropped');
  }

  async function drain(): Promise<void> {
    if (!broker.isConnected() || (await broker.parkedCount()) === 0) return;
    // while Redis still fails, the messages stay parked (quietly: the failures were logged when they were parked)
    if (!(await store.ping().then(() => true, () => false))) return;
    for (;;) {
      const { messages, settle } = await broker.takeParked(batchSize);
      let handled = 0;
      try {
        for (const parked of messages) {
          await deadLetter(parked);
          handled += 1;
        }
      } finally {
        await settle(handled); // the rest go back to the parking queue
      }
      if (messages.length < batchSize) return;
    }
  }

  return runPeriodically(intervalMs, drain, (err) => log.warn({ err }, 'could not move parked messages to the dead letters; will try again'));
}

