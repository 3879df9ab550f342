import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { connectBrokerFromConfig } from '@celerity/broker';
import { routerOf, type Closable, type Config, type Logger } from '@celerity/core';
import { createProducerFromConfig, type Producer } from '@celerity/producer';
import { connectTaskStore, type Schedule, type TaskStore } from '@celerity/store';
import { fire, type FireOutcome } from './fire.js';
import { applyConfigSchedules } from './schedules.js';
import { MISFIRE_GRACE_MS, nextFires, planFires, systemClock, type Clock } from './ticker.js';

export interface BeatOptions {
  clock?: Clock;
  /** how long a claimed fire is reserved for its beat before another may take it over */
  claimLeaseMs?: number;
  /** the longest sleep between two looks at the schedules (API changes are seen within it) */
  pollMs?: number;
  misfireGraceMs?: number;
}

export interface BeatDeps {
  store: TaskStore;
  producer: Producer;
  log: Logger;
  /** unique per beat (host, pid, random) */
  owner: string;
}

export interface TickReport {
  fired: { name: string; fireAtMs: number; outcome: FireOutcome }[];
  /** the earliest fire time after this tick, across schedules (null: none) */
  nextFireMs: number | null;
}

export type Beat = ReturnType<typeof createBeat>;

/**
 * One beat: each tick reads every schedule, takes over fires whose beat died, claims the fire
 * times that are due (one compare-and-set per schedule in Redis, so with any number of beats each
 * fire time is claimed once) and submits them. Between ticks it sleeps until the next fire time,
 * at most `pollMs`. A fire is never submitted before its time: only times not after the clock's
 * now are due.
 */
export function createBeat(deps: BeatDeps, options: BeatOptions = {}) {
  const clock = options.clock ?? systemClock;
  const leaseMs = options.claimLeaseMs ?? 10_000;
  const pollMs = options.pollMs ?? 1_000;
  const graceMs = options.misfireGraceMs ?? MISFIRE_GRACE_MS;
  const schedules = deps.store.schedules;
  const fireDeps = { store: deps.store, producer: deps.producer, log: deps.log, now: () => clock.now() };

  async function tickOne(schedule: Schedule, nowMs: number, report: TickReport): Promise<void> {
    const { spec, state } = schedule;
    const fires: number[] = [];
    for (const pending of state.pending) {
      if (pending.leaseUntilMs > nowMs) continue;
      if (await schedules.takeOver(spec.name, pending.fireAtMs, deps.owner, nowMs + leaseMs, nowMs)) {
        deps.log.warn({ schedule_id: spec.name, fire_at: new Date(pending.fireAtMs).toISOString(), previous_owner: pending.owner }, 'taking over a fire whose claim expired');
        fires.push(pending.fireAtMs);
      }
    }
    let cursorMs = state.cursorMs;
    if (!state.paused) {
      const plan = planFires(spec, state.cursorMs, nowMs, graceMs);
      if (plan && (await schedules.claim(spec.name, state, plan.cursorMs, plan.firesMs, deps.owner, nowMs + leaseMs)) === 'ok') {
        cursorMs = plan.cursorMs;
        fires.push(...plan.firesMs);
        if (plan.skipped > 0) deps.log.warn({ schedule_id: spec.name, skipped: plan.skipped, misfire: spec.misfire ?? 'run_once' }, 'missed fire times skipped (misfire policy)');
      }
      // 'stale' or 'paused': another beat moved first, or the schedule changed; the next tick reads it again
      const [next] = nextFires(spec, Math.max(cursorMs, nowMs), 1);
      if (next !== undefined && (report.nextFireMs === null || next < report.nextFireMs)) report.nextFireMs = next;
    }
    for (const fireAtMs of fires.sort((a, b) => a - b)) {
      report.fired.push({ name: spec.name, fireAtMs, outcome: await fire(spec, fireAtMs, fireDeps) });
    }
  }

  async function tick(): Promise<TickReport> {
    const nowMs = clock.now();
    const report: TickReport = { fired: [], nextFireMs: null };
    const all = await schedules.list();
    await Promise.all(
      all.map((schedule) =>
        tickOne(schedule, nowMs, report).catch((err: unknown) => deps.log.warn({ err, schedule_id: schedule.spec.name }, 'schedule tick failed; tried again next tick')),
      ),
    );
    return report;
  }

  const stop = new AbortController();
  let running: Promise<void> | undefined;

  async function loop(): Promise<void> {
    while (!stop.signal.aborted) {
      let waitMs = pollMs;
      try {
        const report = await tick();
        if (report.nextFireMs !== null) waitMs = Math.min(pollMs, Math.max(0, report.nextFireMs - clock.now()));
      } catch (err) {
        deps.log.warn({ err }, 'beat tick failed; tried again shortly');
      }
      await clock.sleep(waitMs, stop.signal);
    }
  }

  return {
    owner: deps.owner,
    tick,
    /** runs ticks until close() */
    start(): void {
      running ??= loop();
    },
    /** stops the timer and lets the tick under way finish (a claimed fire is submitted, not dropped) */
    async close(): Promise<void> {
      stop.abort();
      await running;
    },
  };
}

export interface RunningBeat extends Closable {
  owner: string;
}

/** The beat process: Redis → RabbitMQ → producer → re-apply CELERITY_CONFIG schedules → ticks. */
export async function startBeat(config: Readonly<Config>, log: Logger, options: BeatOptions = {}): Promise<RunningBeat> {
  const owner = `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  const router = routerOf(config);
  const { redis, store } = await connectTaskStore(config, { log, failFast: true, name: 'celerity-beat' });
  const broker = await connectBrokerFromConfig(config, { queues: router.queues, log, connectionName: `celerity-beat:${owner}` }).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const producer = createProducerFromConfig(config, { store, broker, log });
  const clock = options.clock ?? systemClock;
  try {
    await applyConfigSchedules(store.schedules, config.file.schedules, log, clock.now());
  } catch (err) {
    await broker.close();
    redis.disconnect();
    throw err;
  }
  const beat = createBeat({ store, producer, log, owner }, options);
  beat.start();
  log.info({ beat: owner, config_schedules: config.file.schedules.length }, 'beat started');

  let closing: Promise<void> | undefined;
  return {
    name: 'beat',
    owner,
    close() {
      closing ??= (async () => {
        await beat.close();
        await broker.close();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
