import type { Redis } from 'ioredis';
import type { TaskEvent, TaskEventEntry } from '@celerity/core';
import { guard } from './guard.js';
import type { Keys } from './keys.js';

export type TaskEventListener = (entry: TaskEventEntry) => void;

/**
 * Task events for watchers (SSE, WebSocket). The Lua scripts write every status and progress change
 * to the task's capped event stream and publish it on the task's channel (scripts.ts EVENTS); this
 * reads the stream (catch-up, Last-Event-ID) and fans the channel out to the watchers of this
 * process over ONE subscriber connection, subscribing a task's channel only while someone watches it.
 */
export function createTaskEvents(client: Redis, keys: Keys) {
  const listeners = new Map<string, Set<TaskEventListener>>();
  /** pending or done SUBSCRIBE per channel, so a second watcher also waits until events flow */
  const subscribed = new Map<string, Promise<unknown>>();
  let subscriber: Redis | undefined;

  function connection(): Redis {
    if (subscriber) return subscriber;
    // pub/sub needs its own connection; it re-subscribes by itself after a reconnect
    const sub = client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: false });
    sub.on('error', () => undefined); // the main client logs outages
    sub.on('message', (channel: string, text: string) => {
      const watchers = listeners.get(channel);
      if (!watchers) return;
      const space = text.indexOf(' ');
      const entry: TaskEventEntry = { id: text.slice(0, space), event: JSON.parse(text.slice(space + 1)) as TaskEvent };
      for (const listener of watchers) listener(entry);
    });
    subscriber = sub;
    return sub;
  }

  return {
    /** Events after `afterId` (exclusive; '0' = from the start), oldest first. */
    async read(taskId: string, afterId: string, count = 1_000): Promise<TaskEventEntry[]> {
      const entries = await guard(client.xrange(keys.events(taskId), `(${afterId}`, '+', 'COUNT', count));
      return entries.map(([id, fields]) => ({ id, event: JSON.parse(fields[1] ?? '{}') as TaskEvent }));
    },

    /** The id of the task's newest event ('0' when it has none yet). */
    async lastId(taskId: string): Promise<string> {
      const [newest] = await guard(client.xrevrange(keys.events(taskId), '+', '-', 'COUNT', 1));
      return newest ? newest[0] : '0';
    },

    /**
     * The oldest event still in the task's capped stream once older ones were trimmed off, else '0':
     * a watcher that last saw an event before it cannot be caught up from the stream.
     */
    async oldestKeptId(taskId: string): Promise<string> {
      const info = (await guard(client.xinfo('STREAM', keys.events(taskId)).catch((err: unknown) => {
        if (err instanceof Error && /no such key/i.test(err.message)) return [];
        throw err;
      }))) as unknown[];
      const field = (name: string) => info[info.indexOf(name) + 1];
      const trimmed = Number(field('entries-added') ?? 0) > Number(field('length') ?? 0);
      const first = field('first-entry') as [string, string[]] | null | undefined;
      return trimmed && first ? first[0] : '0';
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
