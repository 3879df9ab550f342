import { subscriberOf, type RedisClient } from './redis.js';
import type { TaskEvent, TaskEventEntry } from '@celerity/core';
import { guard } from './guard.js';
import type { Keys } from './keys.js';
import { scriptsFor } from './scripts.js';

export type TaskEventListener = (entry: TaskEventEntry) => void;

/** "<seq> <json>", as the Lua scripts write and publish it (lua/events.lua). */
function parseEntry(text: string): TaskEventEntry {
  const space = text.indexOf(' ');
  return { id: text.slice(0, space), event: JSON.parse(text.slice(space + 1)) as TaskEvent };
}

/**
 * Task events for watchers (SSE, WebSocket). Once a task has been watched (watch() marks it), the Lua
 * scripts number each of its status and progress changes (1, 2, 3 …), append it to the task's capped
 * event list and publish it on the task's channel (lua/events.lua): a task nobody follows costs no
 * event writes. This reads the list (catch-up, Last-Event-ID) and fans the channel out to the
 * watchers of this process over ONE subscriber connection, subscribing a task's channel only while
 * someone watches it.
 */
export function createTaskEvents(client: RedisClient, keys: Keys) {
  const listeners = new Map<string, Set<TaskEventListener>>();
  /** pending or done SUBSCRIBE per channel, so a second watcher also waits until events flow */
  const subscribed = new Map<string, Promise<unknown>>();
  let subscriber: RedisClient | undefined;
  const scripts = scriptsFor(client);

  function connection(): RedisClient {
    if (subscriber) return subscriber;
    // pub/sub needs its own connection; it re-subscribes by itself after a reconnect
    const sub = subscriberOf(client);
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
      return (await guard(scripts.readEvents({ events: keys.events(taskId), after: afterId, count }))).map(parseEntry);
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

    /**
     * Calls `listener` for each new event of the task until the returned function is called. Once
     * subscribed, it marks the task as watched, so its changes are kept as events from then on: read
     * the task's state only after this resolves, and no change falls between the state and the events.
     */
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
        await guard(scripts.watch({ record: keys.task(taskId) }));
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
