import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { JobListSchema, JobNameParams, JobSchema } from '../schemas/jobs.js';
import { problems } from '../schemas/tasks.js';

/** GET /jobs[/:name]: the job registry, so a caller can find what to submit and with what input. */
export function jobRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/jobs',
      {
        schema: {
          tags: ['jobs'],
          summary: 'List the jobs a task can name',
          description: 'Every job under JOBS_ROOT with its description, input schema (JSON Schema), limits and default queue. Modules that fail to load are listed under `failed`.',
          response: { 200: JobListSchema, ...problems(401) },
        },
      },
      async () => {
        const { jobs, failed } = await deps.producer.listJobs();
        return { items: jobs, failed };
      },
    );

    app.get(
      '/jobs/:name',
      {
        schema: {
          tags: ['jobs'],
          summary: 'Describe one job',
          params: JobNameParams,
          response: { 200: JobSchema, ...problems(401, 404, 422) },
        },
      },
      async (request) => deps.producer.describeJob(request.params.name),
    );
  };
}
