import { readFileSync } from 'node:fs';
import { WORKER_FAILURE } from '@celerity/core';
import type { RedisClient } from './redis.js';

/**
 * The Lua scripts, one per file in packages/store/lua/ (shared fragments by `--- @include <name>`),
 * each with a typed caller here taking named arguments. Every status change is one atomic step that
 * checks the current status first, so a finished task never changes again and a cancelled task never
 * starts. Every key a script touches comes from keys.ts through KEYS, except where the ids are only
 * known inside the script (reap-leases, claim-due build record keys from the prefix).
 */

/** How many of its latest events a task keeps for watchers that resume (Last-Event-ID). */
export const EVENTS_KEPT = 1_000;

/** Upper bounds (ms) of the run and wait time histograms' buckets (lua/stats.lua); above the last: +Inf. */
export const HISTOGRAM_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000] as const;

const LUA_DIR = new URL('../lua/', import.meta.url);

/** A script's text with its fragments included (each once) and its constants filled in. */
export function loadLua(name: string, included = new Set<string>()): string {
  const text = readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8');
  return text
    .replace(/^--- @include (\S+)$/gm, (_line, fragment: string) => {
      if (included.has(fragment)) return '';
      included.add(fragment);
      return loadLua(fragment, included);
    })
    .replaceAll('{{EVENTS_KEPT}}', String(EVENTS_KEPT))
    .replaceAll('{{WORKER_LOST}}', WORKER_FAILURE.WORKER_LOST)
    .replaceAll('{{BUCKETS_MS}}', HISTOGRAM_BUCKETS_MS.join(', '));
}

const SCRIPT_FILES = [
  'start',
  'finish',
  'cancel',
  'release',
  'fail-parked',
  'reap-leases',
  'progress',
  'retry',
  'claim-due',
  'release-due',
  'read-events',
  'watch',
  'claim-callbacks',
  'callback-attempt',
  'retry-callback',
  'lock',
  'stats-snapshot',
] as const;
type ScriptName = (typeof SCRIPT_FILES)[number];

/** ioredis command name of a script: EVALSHA with a fallback to EVAL, key count passed per call. */
const commandName = (name: ScriptName) => `celerity_${name.replaceAll('-', '_')}`;

type Arg = string | number | Buffer;
type Call = (name: ScriptName, keys: readonly string[], args: readonly Arg[]) => Promise<unknown>;

/** A record and its event list, as keys.ts names them. */
export interface TaskKeys {
  record: string;
  events: string;
}

const taskKeys = (tasks: readonly { keys: TaskKeys }[]) => tasks.flatMap((t) => [t.keys.record, t.keys.events]);

function callersOf(call: Call) {
  return {
    /** start.lua: claims tasks whose deliveries arrived together; one reply per task. */
    start: (a: {
      deadLetters: string;
      callbacks: string;
      stats: string;
      prefix: string;
      worker: string;
      startedAt: Date;
      from: string;
      ttl: number;
      tasks: readonly { keys: TaskKeys; redelivered: boolean }[];
    }) =>
      call(
        'start',
        [a.deadLetters, a.callbacks, a.stats, ...taskKeys(a.tasks)],
        [a.worker, a.startedAt.toISOString(), a.from, a.ttl, a.startedAt.getTime(), a.prefix, ...a.tasks.map((t) => (t.redelivered ? '1' : ''))],
      ) as Promise<string[][]>,

    /** finish.lua: stores final outcomes that came in together; 'ok', 'missing' or the status that won, per task. */
    finish: (a: {
      deadLetters: string;
      callbacks: string;
      stats: string;
      prefix: string;
      finishedAt: Date;
      ttl: number;
      from: string;
      tasks: readonly { keys: TaskKeys; status: string; result: Buffer | ''; error: string; deadLetterReason: string }[];
    }) =>
      call(
        'finish',
        [a.deadLetters, a.callbacks, a.stats, ...taskKeys(a.tasks)],
        [a.finishedAt.toISOString(), a.ttl, a.from, a.prefix, a.finishedAt.getTime(), ...a.tasks.flatMap((t) => [t.status, t.result, t.error, t.deadLetterReason])],
      ) as Promise<string[]>,

    cancel: (a: {
      keys: TaskKeys;
      callbacks: string;
      control: string;
      stats: string;
      prefix: string;
      id: string;
      at: Date;
      ttl: number;
      terminate: boolean;
      from: string;
      error?: string;
    }) =>
      call(
        'cancel',
        [a.keys.record, a.keys.events, a.callbacks, a.control, a.stats],
        [a.id, a.at.toISOString(), a.ttl, a.terminate ? '1' : '', a.from, a.prefix, a.at.getTime(), a.error ?? ''],
      ) as Promise<string[]>,

    /** fail-parked.lua: the task of a parked delivery fails and is dead-lettered, unless no longer pending or running. */
    failParked: (a: { keys: TaskKeys; deadLetters: string; callbacks: string; stats: string; prefix: string; id: string; at: Date; ttl: number; from: string; error: string }) =>
      call(
        'fail-parked',
        [a.keys.record, a.keys.events, a.deadLetters, a.callbacks, a.stats],
        [a.id, a.at.toISOString(), a.ttl, a.from, a.prefix, a.at.getTime(), a.error],
      ) as Promise<string>,

    release: (a: { keys: TaskKeys; scheduled: string; stats: string; prefix: string; worker: string; reschedule: boolean; nowMs: number; nowIso: string; id: string }) =>
      call('release', [a.keys.record, a.keys.events, a.scheduled, a.stats], [a.worker, a.reschedule ? '1' : '', a.nowMs, a.nowIso, a.id, a.prefix]) as Promise<string>,

    reapLeases: (a: {
      leases: string;
      scheduled: string;
      deadLetters: string;
      callbacks: string;
      stats: string;
      prefix: string;
      nowMs: number;
      limit: number;
      taskPrefix: string;
      nowIso: string;
      ttl: number;
    }) =>
      call(
        'reap-leases',
        [a.leases, a.scheduled, a.deadLetters, a.callbacks, a.stats],
        [a.nowMs, a.limit, a.taskPrefix, a.nowIso, a.ttl, a.prefix],
      ) as Promise<[string[], string[]]>,

    progress: (a: { keys: TaskKeys; progress: string; at: string }) => call('progress', [a.keys.record, a.keys.events], [a.progress, a.at]) as Promise<number>,

    retry: (a: { keys: TaskKeys; scheduled: string; stats: string; prefix: string; eta: Date; error: string; from: string; id: string; at: string }) =>
      call('retry', [a.keys.record, a.keys.events, a.scheduled, a.stats], [a.eta.toISOString(), a.eta.getTime(), a.error, a.from, a.id, a.at, a.prefix]) as Promise<string>,

    claimDue: (a: { scheduled: string; nowMs: number; leaseUntilMs: number; limit: number; taskPrefix: string; nowIso: string; prefix: string }) =>
      call('claim-due', [a.scheduled], [a.nowMs, a.leaseUntilMs, a.limit, a.taskPrefix, a.nowIso, a.prefix]) as Promise<string[]>,

    releaseDue: (a: { scheduled: string; entries: readonly { id: string; score: number }[] }) =>
      call('release-due', [a.scheduled], a.entries.flatMap((e) => [e.id, e.score])) as Promise<number>,

    readEvents: (a: { events: string; after: string; count: number }) => call('read-events', [a.events], [a.after, a.count]) as Promise<string[]>,

    watch: (a: { record: string }) => call('watch', [a.record], []) as Promise<number>,

    claimCallbacks: (a: { callbacks: string; nowMs: number; leaseUntilMs: number; limit: number }) =>
      call('claim-callbacks', [a.callbacks], [a.nowMs, a.leaseUntilMs, a.limit]) as Promise<string[]>,

    callbackAttempt: (a: { record: string; callbacks: string; id: string; state: string; lastStatus: number | null; lastError: string | null; nextAttemptMs: number }) =>
      call('callback-attempt', [a.record, a.callbacks], [a.id, a.state, a.lastStatus ?? '', a.lastError ?? '', a.nextAttemptMs]) as Promise<string>,

    retryCallback: (a: { record: string; callbacks: string; id: string; nowMs: number }) =>
      call('retry-callback', [a.record, a.callbacks], [a.id, a.nowMs]) as Promise<string>,

    /** lock.lua: takes or extends a lease for its owner; 1 when held by the caller now. */
    lock: (a: { lock: string; owner: string; ttlMs: number }) => call('lock', [a.lock], [a.owner, a.ttlMs]) as Promise<number>,

    /** stats-snapshot.lua: copies the counters for this minute unless taken already; 1 when taken now. */
    statsSnapshot: (a: { stats: string; history: string; minuteMs: number; everyMinuteFromMs: number; keepFromMs: number }) =>
      call('stats-snapshot', [a.stats, a.history], [a.minuteMs, a.everyMinuteFromMs, a.keepFromMs]) as Promise<number>,
  };
}
export type StoreScripts = ReturnType<typeof callersOf>;

const registered = new WeakMap<RedisClient, StoreScripts>();

/** The scripts of one Redis client, registered on it once (ioredis sends EVALSHA, EVAL on a miss). */
export function scriptsFor(client: RedisClient): StoreScripts {
  let scripts = registered.get(client);
  if (scripts) return scripts;
  for (const name of SCRIPT_FILES) client.defineCommand(commandName(name), { lua: loadLua(name) });
  const commands = client as unknown as Record<string, (...args: Arg[]) => Promise<unknown>>;
  scripts = callersOf((name, keys, args) => commands[commandName(name)]!(keys.length, ...keys, ...args));
  registered.set(client, scripts);
  return scripts;
}
