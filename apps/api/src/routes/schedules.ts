import {
  fireSubmission,
  fireTimesAfter,
  InvalidScheduleError,
  patchSchedule,
  ScheduleConflictError,
  ScheduleNotFoundError,
  type ScheduleSpec,
} from '@celerity/core';
import type { Schedule } from '@celerity/store';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { CreateScheduleBody, PatchScheduleBody, ScheduleListSchema, ScheduleNameParams, ScheduleSchema } from '../schemas/schedules.js';
import { problems, TaskRecordSchema } from '../schemas/tasks.js';

const NEXT_RUNS_SHOWN = 5;
/** a PATCH re-reads and tries again this often when another change lands between its read and its write */
const PATCH_ATTEMPTS = 3;

export function scheduleRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  // read at request time: the OpenAPI renderer builds the routes without a store
  const schedules = () => deps.store.schedules;

  async function load(name: string): Promise<Schedule> {
    const schedule = await schedules().get(name);
    if (!schedule) throw new ScheduleNotFoundError(`no schedule "${name}"`);
    return schedule;
  }

  /** The schedule as GET shows it: definition, next fire times, and the last run with its task's status now. */
  async function view(schedule: Schedule): Promise<z.input<typeof ScheduleSchema>> {
    const { spec, state } = schedule;
    const last = state.lastRun;
    const lastTask = last?.task_id ? await deps.store.get(last.task_id) : undefined;
    const from = new Date(Math.max(state.cursorMs, Date.now()));
    return {
      ...spec,
      paused: state.paused,
      source: schedule.source,
      created_at: schedule.created_at,
      updated_at: schedule.updated_at,
      next_runs: state.paused ? [] : fireTimesAfter(spec, from, NEXT_RUNS_SHOWN).map((d) => d.toISOString()),
      last_run: last ? { ...last, status: lastTask?.status ?? null } : null,
      pending_fires: state.pending.map((p) => new Date(p.fireAtMs).toISOString()),
    };
  }

  /** The task a schedule fires must be one POST /tasks would accept (job, input, queue, priority, limits, callback). */
  async function checkTask(spec: ScheduleSpec): Promise<void> {
    await deps.producer.check(fireSubmission(spec, new Date()));
  }

  return async (app) => {
    app.post(
      '/schedules',
      {
        schema: {
          tags: ['schedules'],
          summary: 'Create a schedule',
          description:
            'Its first fire is the first fire time after now. Each fire time fires once, however many beats run (`celerity beat`), as an ordinary task on the `cron` queue unless `queue` says otherwise.',
          body: CreateScheduleBody,
          response: { 201: ScheduleSchema, ...problems(400, 401, 409, 422, 503) },
        },
      },
      async (request, reply) => {
        const spec = request.body;
        await checkTask(spec);
        const now = new Date();
        const written = await schedules().write({ spec, source: 'api', created_at: now.toISOString(), updated_at: now.toISOString() }, 'create', now.getTime());
        if (written.kind === 'exists') throw new ScheduleConflictError(`a schedule named "${spec.name}" exists; PATCH it or DELETE it first`);
        request.log.info({ schedule_id: spec.name }, 'schedule created');
        return reply.code(201).header('location', `/schedules/${encodeURIComponent(spec.name)}`).send(await view(await load(spec.name)));
      },
    );

    app.get(
      '/schedules',
      {
        schema: { tags: ['schedules'], summary: 'List schedules by name', response: { 200: ScheduleListSchema, ...problems(401, 503) } },
      },
      async () => ({ items: await Promise.all((await schedules().list()).map(view)) }),
    );

    app.get(
      '/schedules/:name',
      {
        schema: {
          tags: ['schedules'],
          summary: 'Get a schedule: its next fire times and last run',
          params: ScheduleNameParams,
          response: { 200: ScheduleSchema, ...problems(401, 404, 503) },
        },
      },
      async (request) => view(await load(request.params.name)),
    );

    app.patch(
      '/schedules/:name',
      {
        schema: {
          tags: ['schedules'],
          summary: 'Change a schedule',
          description:
            'A JSON merge patch. Fire times already decided stay decided. A schedule from CELERITY_CONFIG can be changed too, until the next beat start puts the file\'s definition back.',
          params: ScheduleNameParams,
          body: PatchScheduleBody,
          response: { 200: ScheduleSchema, ...problems(400, 401, 404, 409, 422, 503) },
        },
      },
      async (request) => {
        const { name } = request.params;
        for (let attempt = 0; attempt < PATCH_ATTEMPTS; attempt += 1) {
          const current = await load(name);
          const merged = patchSchedule(current.spec, request.body);
          if (!merged.success) {
            const issue = merged.error.issues[0]!;
            throw new InvalidScheduleError(`${issue.path.join('.') || 'schedule'}: ${issue.message}`, issue.path.join('.') || undefined);
          }
          await checkTask(merged.data);
          const stored = { spec: merged.data, source: 'api' as const, created_at: current.created_at, updated_at: new Date().toISOString() };
          const written = await schedules().write(stored, 'replace', Date.now(), current.state.version);
          if (written.kind === 'missing') throw new ScheduleNotFoundError(`no schedule "${name}"`);
          if (written.kind === 'ok') {
            request.log.info({ schedule_id: name }, 'schedule changed');
            return view(await load(name));
          }
        }
        throw new ScheduleConflictError(`schedule "${name}" kept changing meanwhile; try again`);
      },
    );

    app.delete(
      '/schedules/:name',
      {
        schema: {
          tags: ['schedules'],
          summary: 'Delete a schedule',
          description: 'It fires no more; the tasks it fired stay listed (GET /tasks?schedule=) until they expire. One from CELERITY_CONFIG comes back at the next beat start unless removed from the file.',
          params: ScheduleNameParams,
          response: { 204: z.null(), ...problems(401, 404, 503) },
        },
      },
      async (request, reply) => {
        if (!(await schedules().remove(request.params.name))) throw new ScheduleNotFoundError(`no schedule "${request.params.name}"`);
        request.log.info({ schedule_id: request.params.name }, 'schedule deleted');
        return reply.code(204).send(null);
      },
    );

    for (const action of ['pause', 'resume'] as const) {
      app.post(
        `/schedules/:name/${action}`,
        {
          schema: {
            tags: ['schedules'],
            summary: action === 'pause' ? 'Pause a schedule' : 'Resume a paused schedule',
            description:
              action === 'pause'
                ? 'No fire while paused (a fire already claimed by a beat still goes out). Survives restarts and re-applied config.'
                : 'Fires again from the next fire time after now; the fire times of the pause are not made up.',
            params: ScheduleNameParams,
            response: { 200: ScheduleSchema, ...problems(401, 404, 503) },
          },
        },
        async (request) => {
          const { name } = request.params;
          if (!(await schedules().setPaused(name, action === 'pause', Date.now()))) throw new ScheduleNotFoundError(`no schedule "${name}"`);
          request.log.info({ schedule_id: name }, action === 'pause' ? 'schedule paused' : 'schedule resumed');
          return view(await load(name));
        },
      );
    }

    app.post(
      '/schedules/:name/trigger',
      {
        schema: {
          tags: ['schedules'],
          summary: 'Fire a schedule now',
          description: "Submits its task now, outside its fire times (paused or not); it becomes the schedule's last run. The task's `schedule.fire_at` is the time of the trigger.",
          params: ScheduleNameParams,
          response: { 202: TaskRecordSchema, ...problems(401, 404, 422, 503) },
        },
      },
      async (request, reply) => {
        const { spec } = await load(request.params.name);
        const now = new Date();
        const { record } = await deps.producer.submit(fireSubmission(spec, now), String(request.id));
        await schedules().complete(spec.name, now.getTime(), { taskId: record.id, firedAt: new Date() });
        request.log.info({ schedule_id: spec.name, task_id: record.id }, 'schedule triggered');
        return reply.code(202).header('location', `/tasks/${record.id}`).send(record);
      },
    );
  };
}
