import { ScheduleFields, SchedulePatch, ScheduleSpec } from '@celerity/core';
import { z } from 'zod';
import { TaskStatusSchema } from './tasks.js';

/** HTTP wire shapes of /schedules (snake_case); the definition itself is the shared ScheduleSpec of @celerity/core. */

export const CreateScheduleBody = ScheduleSpec.meta({ id: 'ScheduleSpec', description: 'A schedule: its task (as for POST /tasks, without countdown/eta) and when it fires (cron or every)' });

export const PatchScheduleBody = SchedulePatch.meta({
  id: 'SchedulePatch',
  description: 'JSON merge patch of a schedule: the fields given replace the current ones, null removes an optional one; giving cron drops every and vice versa',
});

export const ScheduleNameParams = z.object({ name: z.string().max(100).describe('Schedule name') });

export const ScheduleSchema = ScheduleFields.extend({
  paused: z.boolean(),
  source: z.enum(['config', 'api']).describe('Where it was last defined: CELERITY_CONFIG (re-applied at each beat start) or the API'),
  created_at: z.string(),
  updated_at: z.string(),
  next_runs: z.array(z.string()).describe('The next five fire times (ISO-8601 UTC); empty while paused'),
  last_run: z
    .object({
      fire_at: z.string().describe('The fire time (for a manual trigger, the time of the trigger)'),
      fired_at: z.string().describe('When its task was accepted'),
      task_id: z.string().nullable(),
      status: TaskStatusSchema.nullable().describe('The status of its task now; null once the record expired (RESULT_EXPIRES) or when refused'),
      error: z.object({ type: z.string(), message: z.string() }).nullable().describe('Why the fire was refused (its task was not valid), else null'),
    })
    .nullable(),
  pending_fires: z.array(z.string()).describe('Fire times claimed by a beat and not yet accepted (normally empty; a dead beat\'s are taken over)'),
}).meta({ id: 'Schedule' });

export const ScheduleListSchema = z.object({ items: z.array(ScheduleSchema) }).meta({ id: 'ScheduleList' });
