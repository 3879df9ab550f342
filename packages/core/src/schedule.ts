import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { z } from 'zod';
import { MAX_DELAY_SECONDS, TaskFields } from './submit-request.js';

/**
 * Schedules (apps/beat): the definition shared by CELERITY_CONFIG `schedules:`, the HTTP API and
 * the beat, and the fire times they stand for. Cron expressions are read by croner (five fields,
 * or six with seconds first; DST as Vixie cron does it), never by hand.
 */

export const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** A schedule fires on the `cron` queue unless it names another. */
export const SCHEDULE_DEFAULT_QUEUE = 'cron';
const MISFIRE = /^(skip|run_once|catch_up\(([1-9][0-9]{0,3})\))$/;

export type MisfirePolicy = { kind: 'skip' } | { kind: 'run_once' } | { kind: 'catch_up'; max: number };

/** "skip" | "run_once" | "catch_up(N)" (N 1..9999) → its policy. */
export function parseMisfire(text: string): MisfirePolicy {
  const match = MISFIRE.exec(text);
  if (!match) throw new Error(`misfire must be skip, run_once or catch_up(N), not "${text}"`);
  if (match[2] !== undefined) return { kind: 'catch_up', max: Number(match[2]) };
  return { kind: match[1] as 'skip' | 'run_once' };
}

/** null when `zone` is an IANA time zone this runtime knows, else why not. */
function timeZoneProblem(zone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return null;
  } catch {
    return `unknown time zone "${zone}" (use an IANA name such as Europe/Berlin or UTC)`;
  }
}

function cronOf(expression: string, timezone: string): Cron {
  return new Cron(expression, { timezone, paused: true, mode: '5-or-6-parts' });
}

/** null when the cron expression (five or six fields) is valid, else croner's reason. */
export function cronProblem(expression: string): string | null {
  if (expression.trim().split(/\s+/).length < 5) return 'a cron expression has five fields (minute hour day month weekday), or six with seconds first';
  try {
    cronOf(expression, 'UTC');
    return null;
  } catch (err) {
    return (err as Error).message.replace(/^CronPattern: /, '');
  }
}

/** The options of POST /tasks a schedule passes on to each task it fires (not countdown/eta: the schedule decides when). */
const taskOptions = {
  ...TaskFields,
  input: TaskFields.input.describe('Input of every task it fires'),
  queue: TaskFields.queue.describe(`Queue of the tasks it fires (default "${SCHEDULE_DEFAULT_QUEUE}")`),
  expires: z
    .number()
    .positive()
    .max(MAX_DELAY_SECONDS)
    .optional()
    .describe('Seconds: a task it fires that has not started this long after it was submitted is not run and ends `expired` (Celery beat\'s expires option)'),
};

const timing = {
  cron: z.string().min(1).max(200).optional().describe('Cron expression: five fields, or six with seconds first; evaluated in `timezone`'),
  timezone: z.string().min(1).max(64).optional().describe('IANA time zone of `cron` (default UTC); DST is handled as Vixie cron does'),
  every: z.int().min(1).max(31_536_000).optional().describe('Interval in seconds instead of cron: fires at multiples of it since the Unix epoch (every: 3600 = on the hour)'),
  misfire: z
    .string()
    .regex(MISFIRE, 'skip, run_once or catch_up(N)')
    .optional()
    .describe('After downtime: skip the missed fires, run_once (default: one run for all of them), or catch_up(N): the last N of them, oldest first'),
};

type TimingFields = { cron?: string | undefined; timezone?: string | undefined; every?: number | undefined };

/** The cross-field rules of cron / timezone / every, reported on the field at fault. */
function checkTiming(value: TimingFields, ctx: z.core.$RefinementCtx, partial: boolean): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (value.cron !== undefined && value.every !== undefined) issue('every', 'give cron or every, not both');
  else if (!partial && value.cron === undefined && value.every === undefined) issue('cron', 'give cron (an expression) or every (seconds)');
  if (value.cron !== undefined) {
    const problem = cronProblem(value.cron);
    if (problem) issue('cron', problem);
  }
  if (value.timezone !== undefined) {
    const problem = timeZoneProblem(value.timezone);
    if (problem) issue('timezone', problem);
    else if (value.every !== undefined) issue('timezone', 'timezone applies to cron only');
  }
}

/** The fields of a schedule without the cross-field rules (for response schemas). */
export const ScheduleFields = z.object({
  name: z.string().regex(SCHEDULE_NAME, 'letters, digits, ".", "_" and "-" (up to 100), starting with a letter or digit'),
  ...taskOptions,
  ...timing,
});

/** A schedule as written in CELERITY_CONFIG `schedules:` and in POST /schedules. */
export const ScheduleSpec = ScheduleFields.strict().superRefine((value, ctx) => checkTiming(value, ctx, false));
export type ScheduleSpec = z.output<typeof ScheduleSpec>;

/** PATCH /schedules/:name (a JSON merge patch): any field but the name; `null` removes an optional one. */
export const SchedulePatch = z
  .object(
    Object.fromEntries(
      Object.entries(ScheduleFields.omit({ name: true }).shape).map(([key, field]) => [
        key,
        key === 'task' ? field.optional() : (field as z.ZodOptional<z.ZodType>).unwrap().nullable().optional(),
      ]),
    ),
  )
  .strict();
export type SchedulePatch = Record<string, unknown>;

/** Applies a patch (null = remove the field) and checks the result as a whole. */
export function patchSchedule(spec: ScheduleSpec, patch: Record<string, unknown>): ReturnType<typeof ScheduleSpec.safeParse> {
  const merged: Record<string, unknown> = { ...spec };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  // switching between cron and every drops the other one (and the time zone with cron)
  if (patch.every !== undefined && patch.every !== null) {
    delete merged.cron;
    if (patch.timezone === undefined) delete merged.timezone;
  }
  if (patch.cron !== undefined && patch.cron !== null) delete merged.every;
  return ScheduleSpec.safeParse(merged);
}

/** `schedules:` of CELERITY_CONFIG: names must be unique. */
export const ScheduleList = z.array(ScheduleSpec).superRefine((list, ctx) => {
  const seen = new Set<string>();
  for (const [i, spec] of list.entries()) {
    if (seen.has(spec.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate schedule name "${spec.name}"` });
    seen.add(spec.name);
  }
});

/** Fire times strictly after `after`, at most `limit` of them and none after `until` (when given). */
export function fireTimesAfter(spec: Pick<ScheduleSpec, 'cron' | 'timezone' | 'every'>, after: Date, limit: number, until?: Date): Date[] {
  const out: Date[] = [];
  if (spec.every !== undefined) {
    const stepMs = spec.every * 1000;
    let next = (Math.floor(after.getTime() / stepMs) + 1) * stepMs;
    while (out.length < limit && (until === undefined || next <= until.getTime())) {
      out.push(new Date(next));
      next += stepMs;
    }
    return out;
  }
  if (spec.cron === undefined) return out;
  const cron = cronOf(spec.cron, spec.timezone ?? 'UTC');
  let cursor: Date = after;
  while (out.length < limit) {
    const next = cron.nextRun(cursor);
    if (!next || (until !== undefined && next.getTime() > until.getTime())) break;
    out.push(next);
    cursor = next;
  }
  return out;
}

/** The latest `limit` fire times in (after, until], oldest first: the fires a schedule missed (or is due for). */
export function latestFireTimes(spec: Pick<ScheduleSpec, 'cron' | 'timezone' | 'every'>, after: Date, until: Date, limit: number): Date[] {
  // the usual case, a beat that keeps up: walking forward from `after` meets the few due times and stops at `until`
  const forward = fireTimesAfter(spec, after, limit + 1, until);
  if (forward.length <= limit) return forward;
  // more were due (downtime): walk back from `until` instead, croner's reference time being exclusive
  let times: Date[];
  if (spec.every !== undefined) {
    const stepMs = spec.every * 1000;
    const last = Math.floor(until.getTime() / stepMs) * stepMs;
    times = Array.from({ length: limit }, (_, i) => new Date(last - i * stepMs));
  } else {
    times = cronOf(spec.cron!, spec.timezone ?? 'UTC').previousRuns(limit, new Date(until.getTime() + 1));
  }
  return times.filter((t) => t.getTime() > after.getTime()).reverse();
}

/**
 * The task id of one fire: a UUIDv7 whose time is the fire time and whose other bits hash the
 * schedule name and fire time, so every beat (and every retry) computes the same id for it.
 */
export function fireTaskId(name: string, fireAtMs: number): string {
  const hash = createHash('sha256').update(`${name}\n${fireAtMs}`).digest();
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(fireAtMs, 0, 6);
  hash.copy(bytes, 6, 0, 10);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f); // version 7
  bytes[8] = 0x80 | (bytes[8]! & 0x3f); // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What a fire submits through the producer: the schedule's task options, on its queue, marked with the fire. */
export function fireSubmission(spec: ScheduleSpec, fireAt: Date) {
  return {
    task: spec.task,
    input: spec.input,
    queue: spec.queue ?? SCHEDULE_DEFAULT_QUEUE,
    priority: spec.priority,
    max_retries: spec.max_retries,
    time_limit: spec.time_limit,
    soft_time_limit: spec.soft_time_limit,
    retry_on_timeout: spec.retry_on_timeout,
    metadata: spec.metadata,
    callback_url: spec.callback_url,
    expires: spec.expires,
    schedule: { name: spec.name, fire_at: fireAt.toISOString() },
  };
}
