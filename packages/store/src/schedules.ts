import type { RedisClient } from './redis.js';
import type { ScheduleSpec } from '@celerity/core';
import { guard } from './guard.js';
import type { Keys } from './keys.js';
import { loadLua } from './scripts.js';

/**
 * Schedules of the beat in Redis: definitions (`<prefix>schedules`, name → JSON) and, per schedule,
 * a state hash (`<prefix>schedule:<name>`):
 *   version        bumped by every change of the definition; a claim made from an older read is refused
 *   cursor         ms: the latest fire time already decided (fired or skipped); fires after it are open
 *   paused         '1' while paused
 *   pending:<ms>   a claimed fire not yet submitted: "<owner> <lease-until ms>"
 *   last_*         the latest fire submitted (time, task id, when) or refused (error)
 * Each fire time is claimed by moving the cursor past it with a compare-and-set, so of any number of
 * beats exactly one claims it; the claim stays pending until its task is accepted, and a beat that
 * dies meanwhile leaves it to be taken over once its lease runs out.
 */

export type ScheduleSource = 'config' | 'api';

export interface StoredSchedule {
  spec: ScheduleSpec;
  source: ScheduleSource;
  created_at: string;
  updated_at: string;
}

export interface LastRun {
  fire_at: string;
  task_id: string | null;
  fired_at: string;
  /** why the fire was refused (its task did not validate), else null */
  error: { type: string; message: string } | null;
}

export interface PendingFire {
  fireAtMs: number;
  owner: string;
  leaseUntilMs: number;
}

export interface ScheduleState {
  version: number;
  cursorMs: number;
  paused: boolean;
  lastRun: LastRun | null;
  pending: PendingFire[];
}

export type Schedule = StoredSchedule & { state: ScheduleState };

export type WriteMode = 'create' | 'replace' | 'upsert';
export type WriteResult = { kind: 'ok'; version: number } | { kind: 'exists' } | { kind: 'missing' } | { kind: 'conflict' };

type ScheduleScripts = RedisClient & {
  celerityScheduleWrite(defs: string, state: string, name: string, json: string, mode: string, nowMs: number, expected: string): Promise<number>;
  celerityScheduleClaim(state: string, version: number, cursor: string, newCursor: number, owner: string, leaseUntilMs: number, ...fires: number[]): Promise<string>;
  celerityScheduleTakeOver(state: string, fireAtMs: number, owner: string, leaseUntilMs: number, nowMs: number): Promise<number>;
  celerityScheduleComplete(state: string, fireAtMs: number, taskId: string, firedAt: string, error: string): Promise<number>;
  celerityScheduleSetPaused(defs: string, state: string, name: string, paused: string, nowMs: number): Promise<number>;
};

/** The schedule scripts (packages/store/lua/schedule-*.lua), registered once per client. */
function defineScheduleScripts(client: RedisClient): ScheduleScripts {
  const scripts = client as ScheduleScripts;
  if (typeof scripts.celerityScheduleWrite !== 'function') {
    client.defineCommand('celerityScheduleWrite', { numberOfKeys: 2, lua: loadLua('schedule-write') });
    client.defineCommand('celerityScheduleClaim', { numberOfKeys: 1, lua: loadLua('schedule-claim') });
    client.defineCommand('celerityScheduleTakeOver', { numberOfKeys: 1, lua: loadLua('schedule-take-over') });
    client.defineCommand('celerityScheduleComplete', { numberOfKeys: 1, lua: loadLua('schedule-complete') });
    client.defineCommand('celerityScheduleSetPaused', { numberOfKeys: 2, lua: loadLua('schedule-set-paused') });
  }
  return scripts;
}

function toState(f: Record<string, string>): ScheduleState {
  const pending: PendingFire[] = [];
  for (const [field, value] of Object.entries(f)) {
    if (!field.startsWith('pending:')) continue;
    const [owner = '', lease = '0'] = value.split(' ');
    pending.push({ fireAtMs: Number(field.slice('pending:'.length)), owner, leaseUntilMs: Number(lease) });
  }
  pending.sort((a, b) => a.fireAtMs - b.fireAtMs);
  const lastFireAt = f.last_fire_at ? Number(f.last_fire_at) : null;
  return {
    version: Number(f.version ?? 0),
    cursorMs: Number(f.cursor ?? 0),
    paused: f.paused === '1',
    lastRun:
      lastFireAt === null
        ? null
        : {
            fire_at: new Date(lastFireAt).toISOString(),
            task_id: f.last_task_id || null,
            fired_at: f.last_fired_at ?? '',
            error: f.last_error ? (JSON.parse(f.last_error) as LastRun['error']) : null,
          },
    pending,
  };
}

export type ScheduleStore = ReturnType<typeof createScheduleStore>;

/** The smallest UUIDv7 of a millisecond: ids below it (lexically) are older. */
function firstIdOf(ms: number): string {
  const hex = Math.max(0, ms).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

/** How long after their records' TTL the ids of a schedule's tasks stay in its index (a task may run a while before its TTL starts). */
const INDEX_GRACE_MS = 86_400_000;

export function createScheduleStore(client: RedisClient, keys: Keys, resultTtlSeconds: number) {
  const redis = defineScheduleScripts(client);

  async function write(stored: StoredSchedule, mode: WriteMode, nowMs: number, expectedVersion?: number): Promise<WriteResult> {
    const reply = await guard(
      redis.celerityScheduleWrite(keys.schedules, keys.schedule(stored.spec.name), stored.spec.name, JSON.stringify(stored), mode, nowMs, expectedVersion === undefined ? '' : String(expectedVersion)),
    );
    if (reply === -1) return { kind: 'exists' };
    if (reply === -2) return { kind: 'missing' };
    if (reply === -3) return { kind: 'conflict' };
    return { kind: 'ok', version: reply };
  }

  return {
    write,

    /** Every schedule with its state, by name. */
    async list(): Promise<Schedule[]> {
      const defs = await guard(redis.hgetall(keys.schedules));
      const names = Object.keys(defs).sort();
      if (names.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const name of names) pipeline.hgetall(keys.schedule(name));
      const states = (await guard(pipeline.exec())) ?? [];
      return names.map((name, i) => ({ ...(JSON.parse(defs[name]!) as StoredSchedule), state: toState((states[i]?.[1] ?? {}) as Record<string, string>) }));
    },

    async get(name: string): Promise<Schedule | undefined> {
      const [def, state] = await guard(Promise.all([redis.hget(keys.schedules, name), redis.hgetall(keys.schedule(name))]));
      return def ? { ...(JSON.parse(def) as StoredSchedule), state: toState(state) } : undefined;
    },

    /** Removes a schedule and its state; the tasks it fired stay listed (GET /tasks?schedule=) until they expire. */
    async remove(name: string): Promise<boolean> {
      const [removed] = await guard(Promise.all([redis.hdel(keys.schedules, name), redis.del(keys.schedule(name))]));
      return removed === 1;
    },

    /** false when there is no such schedule. */
    async setPaused(name: string, paused: boolean, nowMs: number): Promise<boolean> {
      return (await guard(redis.celerityScheduleSetPaused(keys.schedules, keys.schedule(name), name, paused ? '1' : '0', nowMs))) === 1;
    },

    /** Moves the cursor from `cursorMs` (as read, at `version`) to `newCursorMs` and claims `firesMs` for `owner`. */
    async claim(name: string, read: { version: number; cursorMs: number }, newCursorMs: number, firesMs: readonly number[], owner: string, leaseUntilMs: number): Promise<'ok' | 'stale' | 'paused'> {
      return (await guard(
        redis.celerityScheduleClaim(keys.schedule(name), read.version, String(read.cursorMs), newCursorMs, owner, leaseUntilMs, ...firesMs),
      )) as 'ok' | 'stale' | 'paused';
    },

    /** Takes over a pending fire whose lease ran out (its beat died or could not submit). */
    async takeOver(name: string, fireAtMs: number, owner: string, leaseUntilMs: number, nowMs: number): Promise<boolean> {
      return (await guard(redis.celerityScheduleTakeOver(keys.schedule(name), fireAtMs, owner, leaseUntilMs, nowMs))) === 1;
    },

    /** Ends a fire (or records a manual trigger): its task id, or the error that refused it. */
    async complete(name: string, fireAtMs: number, outcome: { taskId: string; firedAt: Date } | { error: { type: string; message: string }; firedAt: Date }): Promise<void> {
      const taskId = 'taskId' in outcome ? outcome.taskId : '';
      const error = 'error' in outcome ? JSON.stringify(outcome.error) : '';
      await guard(redis.celerityScheduleComplete(keys.schedule(name), fireAtMs, taskId, outcome.firedAt.toISOString(), error));
      // the schedule's task index would otherwise only shrink when listed: drop ids whose records have long expired
      const oldest = firstIdOf(outcome.firedAt.getTime() - resultTtlSeconds * 1000 - INDEX_GRACE_MS);
      await guard(redis.zremrangebylex(keys.scheduleTasks(name), '-', `(${oldest}`));
    },
  };
}
