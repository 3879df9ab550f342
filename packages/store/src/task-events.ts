import type { Redis } from 'ioredis';
import type { TaskEvent, TaskEventEntry } from '@celerity/core';
import { guard } from './guard.js';
import type { Keys } from './keys.js';
import { READ_EVENTS_SCRIPT } from './scripts.js';

export type TaskEventListener = (entry: TaskEventEntry) => void;

type EventScripts = Redis & { celerityReadEvents(list: string, after: string, count: number): Promise<string[]> };

/** "<seq> <json>", as the Lua scripts write and publish it (scripts.ts EVENTS). */
function parseEntry(text: string): TaskEventEntry {
  const space = text.indexOf(' ');
  return { id: text.slice(0, space), event: JSON.parse(text.slice(space + 1)) as TaskEvent };
}

/**
 * Task events for watchers (SSE, WebSocket). The Lua scripts number every status and progress change
 * of a task (1, 2, 3 …), append it to the task's capped event list and publish it on the task's
 * channel (scripts.ts EVENTS); this reads the list (catch-up, Last-Event-ID) and fans the channel out
 * to the watchers of this process over ONE subscriber connection, subscribing a task's channel only
 * while someone watches it.
 */
export function createTaskEvents(client: Redis, keys: Keys) {
  const listeners = new Map<string, Set<TaskEventListener>>();
  /** pending or done SUBSCRIBE per channel, so a second watcher also waits until events flow */
  const subscribed = new Map<string, Promise<unknown>>();
  let subscriber: Redis | undefined;
  const scripts = client as EventScripts;
  if (typeof scripts.celerityReadEvents !== 'function') client.defineCommand('celerityReadEvents', { numberOfKeys: 1, lua: READ_EVENTS_SCRIPT });

  function connection(): Redis {
    if (subscriber) return subscriber;
    // pub/sub needs its own connection; it re-subscribes by itself after a reconnect
    const sub = client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: false });
    sub.on('error', () => undefined); // the main client logs outages
    sub.on('message', (channel: string, text: string) => {
      const watchers = listeners.get(channel);
      if (!watchers) return;
      const entry = parseEntry(text);
      for (const listener of watchers) listener(entry);
    });
    subscriber = sub;
    return sub;
  }

  return {
    /** Events numbered above `afterId` ('0' = from the start), oldest first. */
    async read(taskId: string, afterId: string, count = 1_000): Promise<TaskEventEntry[]> {
      return (await guard(scripts.celerityReadEvents(keys.events(taskId), afterId, count))).map(parseEntry);
    },

    /** The number of the task's newest event ('0' when it has none yet). */
    async lastId(taskId: string): Promise<string> {
      const newest = await guard(client.lindex(keys.events(taskId), -1));
      return newest ? newest.slice(0, newest.indexOf(' ')) : '0';
    },

    /**
     * The newest event number trimmed off the task's capped list ('0' when none was): a watcher that
     * last saw an older event cannot be caught up from the list.
     */
    async trimmedThrough(taskId: string): Promise<string> {
      const oldest = await guard(client.lindex(keys.events(taskId), 0));
      return oldest ? String(Number(oldest.slice(0, oldest.indexOf(' '))) - 1) : '0';
    },

    /** Calls `listener` for each new event of the task until the returned function is called. */
    async watch(taskId: string, listener: TaskEventListener): Promise<() => Promise<void>> {
      const channel = keys.events(taskId);
      let watchers = listeners.get(channel);
      if (!watchers) {
        watchers = new Set();
        listeners.set(channel, watchers);
        subscribed.set(channel, connection().subscribe(channel));
      }
      watchers.add(listener);
      const unwatch = async () => {
        const current = listeners.get(channel);
        if (!current?.delete(listener) || current.size > 0) return;
        listeners.delete(channel);
        subscribed.delete(channel);
        await subscriber?.unsubscribe(channel).catch(() => undefined);
      };
      try {
        await guard(subscribed.get(channel)!);
      } catch (err) {
        await unwatch();
        throw err;
      }
      return unwatch;
    },

    /** Channels this process is subscribed to (for tests and metrics). */
    watchedCount(): number {
      return listeners.size;
    },

    close(): void {
      listeners.clear();
      subscribed.clear();
      subscriber?.disconnect();
      subscriber = undefined;
    },
  };
}
export type TaskEvents = ReturnType<typeof createTaskEvents>;
