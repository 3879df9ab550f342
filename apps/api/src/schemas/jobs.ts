import { z } from 'zod';

/** HTTP wire shapes of the job registry (GET /jobs), also the source of the OpenAPI document. */

const JsonSchema = z.record(z.string(), z.unknown());

export const JobSchema = z
  .object({
    name: z.string().describe('The task name to submit: module path under JOBS_ROOT, then the export'),
    description: z.string().nullable().describe("The job's description (defineJob `description`)"),
    input_schema: JsonSchema.nullable().describe('JSON Schema of the input, checked at submit (422); null: any JSON'),
    result_schema: JsonSchema.nullable().describe('JSON Schema of the result (defineJob `result`); null: not declared'),
    queue: z.string().describe('The queue a submission without `queue` goes to (routing rules, then default)'),
    priority: z.int().describe('The priority a submission without `priority` gets'),
    max_retries: z.int().describe('Retries a submission without `max_retries` gets'),
    time_limit: z.number().describe('Hard time limit in seconds without `time_limit` in the request'),
    soft_time_limit: z.number().nullable().describe('Soft time limit in seconds without `soft_time_limit` in the request; null: none'),
    retry_on_timeout: z.boolean(),
    expires: z.number().nullable().describe('Seconds after submit by which a task without `expires` must have started, else it ends expired; null: never'),
  })
  .meta({ id: 'Job' });

export const JobListSchema = z
  .object({
    items: z.array(JobSchema).describe('Every job under JOBS_ROOT, by name'),
    failed: z
      .array(z.object({ module: z.string(), message: z.string() }))
      .describe('Modules under JOBS_ROOT that failed to load: their jobs are missing from `items` (and refused at submit)'),
  })
  .meta({ id: 'JobList' });

export const JobNameParams = z.object({ name: z.string().max(200).describe('Task name, e.g. reports.monthly.generate') });
