import { assertTaskId, ForbiddenError, isFinished, TaskNotFoundError, type TaskEvent, type TaskEventEntry, type TaskRecord } from '@celerity/core';
import type { TaskStore } from '@celerity/store';

/** What a watcher of one task receives, in order and each once. */
export type FeedItem =
  | { kind: 'state'; id: string; record: TaskRecord }
  /** `record` only on a final status: the finished record, null if it could not be read */
  | { kind: 'event'; id: string; event: TaskEvent; record?: TaskRecord | null };

/** A task event's number (1, 2, 3 … per task), or '0' for "before the first event". */
export const EVENT_ID = /^\d{1,15}$/;

/** Event ids compare as numbers, never as strings: '10' comes after '9'. */
export function compareEventIds(a: string, b: string): number {
  return Math.sign(Number(a) - Number(b));
}

const isFinalEvent = (event: TaskEvent) => event.type === 'status' && isFinished(event.status);

export interface TaskFeed {
  readonly taskId: string;
  /** Sent first by start(): the state snapshot, or the events missed since the resume id; empty once sent (not kept). */
  readonly initial: readonly FeedItem[];
  /** The task is finished: nothing follows `initial`. */
  readonly ended: boolean;
  /**
   * Sends `initial`, then buffered and live events, until the final status (then `onEnd`) or close().
   * Every `resyncMs` it also reads the event list after the last id sent: pub/sub drops what is published
   * while the subscriber reconnects, and a lost final status would otherwise leave the watcher waiting.
   * Without `resyncMs` the owner calls resync() itself (one timer for all the feeds of a WebSocket).
   */
  start(send: (item: FeedItem) => void, onEnd: () => void, options?: { resyncMs?: number }): void;
  /** Reads the event list after the last id sent, and sends what was missed. */
  resync(): void;
  /** Stops watching; safe to call more than once. */
  close(): Promise<void>;
}

const PAGE = 1_000;

/**
 * Opens a task's event feed without losing or repeating an event. It watches first and buffers what
 * arrives, then reads event ids and only then the record, so the record is at least as new as the ids:
 * a change in between is sent twice (harmless, de-duplicated by id) rather than lost.
 * Without `resumeAfter` the feed starts with the state; with it, with the events after that id (or
 * with the state, when some of those events were trimmed off the capped list).
 * Throws MalformedTaskIdError, ForbiddenError, TaskNotFoundError or StoreUnavailableError before anything is sent.
 */
export async function openTaskFeed(
  store: TaskStore,
  taskId: string,
  options: { resumeAfter?: string | undefined; /** the task ids a watch token allows; null = any */ scope: ReadonlySet<string> | null },
): Promise<TaskFeed> {
  const { resumeAfter, scope } = options;
  assertTaskId(taskId);
  if (scope && !scope.has(taskId)) throw new ForbiddenError(`this access_token does not cover task ${taskId}`);
  // events older than the capped list's start are gone: such a watcher gets the state again instead
  const after = resumeAfter !== undefined && compareEventIds(resumeAfter, await store.events.trimmedThrough(taskId)) >= 0 ? resumeAfter : undefined;
  let buffer: TaskEventEntry[] = [];
  let onLive: ((entry: TaskEventEntry) => void) | undefined;
  const unwatch = await store.events.watch(taskId, (entry) => (onLive ? onLive(entry) : buffer.push(entry)));

  let initial: FeedItem[] = [];
  let lastSent: string;
  let record: TaskRecord | undefined;
  try {
    if (after === undefined) {
      lastSent = await store.events.lastId(taskId);
      record = await store.get(taskId);
      if (record) initial.push({ kind: 'state', id: lastSent, record });
    } else {
      const missed = await readAfter(store, taskId, after);
      const newest = missed.at(-1)?.id ?? (await store.events.lastId(taskId));
      record = await store.get(taskId);
      for (const entry of missed) initial.push({ kind: 'event', id: entry.id, event: entry.event, ...(isFinalEvent(entry.event) ? { record: record ?? null } : {}) });
      // an id from the future (not of this task) must not hide the events still to come
      lastSent = compareEventIds(after, newest) > 0 ? newest : (missed.at(-1)?.id ?? after);
    }
    if (!record) throw new TaskNotFoundError(`no task ${taskId} (unknown, or expired after RESULT_EXPIRES)`);
  } catch (err) {
    await unwatch();
    throw err;
  }

  const ended = isFinished(record.status);
  if (ended) {
    buffer = [];
    await unwatch();
  }
  let finalSeen = false;
  let stopped = false;
  let resync: NodeJS.Timeout | undefined;

  const readMissed = () => {
    if (stopped || finalSeen || !onLive) return;
    store.events.read(taskId, lastSent).then((missed) => missed.forEach((entry) => onLive?.(entry)), () => undefined);
  };

  return {
    taskId,
    get initial() {
      return initial;
    },
    ended,
    resync: readMissed,
    start(send, onEnd, options = {}) {
      const first = initial;
      initial = []; // the snapshot (a whole record) is not kept for the life of the subscription
      for (const item of first) send(item);
      if (ended) return onEnd();
      let chain = Promise.resolve();
      if (options.resyncMs !== undefined) resync = setInterval(readMissed, options.resyncMs);
      onLive = (entry) => {
        if (stopped || finalSeen || compareEventIds(entry.id, lastSent) <= 0) return;
        lastSent = entry.id;
        const final = isFinalEvent(entry.event);
        if (final) {
          finalSeen = true; // a finished task never changes again
          clearInterval(resync);
        }
        // serialised, so the record read for a final status cannot reorder events
        chain = chain
          .then(async () => {
            const item: FeedItem = { kind: 'event', id: entry.id, event: entry.event };
            if (final) item.record = (await store.get(taskId).catch(() => undefined)) ?? null;
            if (stopped) return;
            send(item);
            if (final) {
              await unwatch();
              onEnd();
            }
          })
          .catch(() => undefined);
      };
      const buffered = buffer;
      buffer = [];
      for (const entry of buffered) onLive(entry);
    },
    async close() {
      stopped = true;
      clearInterval(resync);
      buffer = [];
      await unwatch();
    },
  };
}

/** Every event after `after` (the list is capped, so this is a page or two). */
async function readAfter(store: TaskStore, taskId: string, after: string): Promise<TaskEventEntry[]> {
  const all: TaskEventEntry[] = [];
  for (let cursor = after; ; ) {
    const page = await store.events.read(taskId, cursor, PAGE);
    all.push(...page);
    if (page.length < PAGE) return all;
    cursor = page.at(-1)!.id;
  }
}
