import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../harness.js';

let api: ApiHarness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('GET /jobs (the job registry)', () => {
  it('lists every job under JOBS_ROOT with its description, schemas as JSON Schema, limits and default queue', async () => {
    api = await startApiHarness();
    const res = await api.app.inject({ method: 'GET', url: '/jobs' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { items: Record<string, unknown>[]; failed: unknown[] };
    expect(body.failed).toEqual([]);
    const names = body.items.map((j) => j.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['demo.echo', 'demo.countdown', 'reports.monthly.generate']));
    const monthly = body.items.find((j) => j.name === 'reports.monthly.generate');
    expect(monthly).toEqual({
      name: 'reports.monthly.generate',
      description: 'Builds the monthly report of a month (YYYY-MM)',
      input_schema: {
        type: 'object',
        properties: { month: { type: 'string', pattern: '^\\d{4}-\\d{2}$' } },
        required: ['month'],
      },
      result_schema: expect.objectContaining({ type: 'object', required: ['month', 'rows'] }),
      queue: 'default',
      priority: 5,
      max_retries: api.config.TASK_MAX_RETRIES,
      time_limit: 120,
      soft_time_limit: null,
      retry_on_timeout: false,
      expires: null,
    });
    expect(body.items.find((j) => j.name === 'demo.echo')).toMatchObject({ input_schema: null, result_schema: null, time_limit: api.config.TASK_TIME_LIMIT });

    const one = await api.app.inject({ method: 'GET', url: '/jobs/reports.monthly.generate' });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(monthly);
  });

  it('answers 404 JOB_NOT_FOUND for a name that is no job, 422 for one that is no task name', async () => {
    api = await startApiHarness();
    for (const name of ['demo.nothing', 'nowhere.job']) {
      const res = await api.app.inject({ method: 'GET', url: `/jobs/${name}` });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'JOB_NOT_FOUND' });
    }
    const bad = await api.app.inject({ method: 'GET', url: '/jobs/demo..echo' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'INVALID_TASK_NAME' });
  });

  it('leaves out files no task can name, and lists a module that fails to load under failed (without server paths)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'celerity-registry-'));
    mkdirSync(join(dir, 'billing'));
    mkdirSync(join(dir, 'node_modules'));
    mkdirSync(join(dir, '.cache'));
    writeFileSync(join(dir, 'billing', 'invoices.js'), 'export async function send() {}\nexport const notAJob = 42;\n');
    writeFileSync(join(dir, 'broken.js'), 'export async function run( {\n');
    writeFileSync(join(dir, 'node_modules', 'dep.js'), 'export async function hidden() {}\n');
    writeFileSync(join(dir, '.cache', 'x.js'), 'export async function hidden() {}\n');
    writeFileSync(join(dir, 'invoices.test.js'), 'export async function hidden() {}\n');
    api = await startApiHarness({ JOBS_ROOT: dir });
    const body = (await api.app.inject({ method: 'GET', url: '/jobs' })).json() as { items: { name: string }[]; failed: { module: string; message: string }[] };
    expect(body.items.map((j) => j.name)).toEqual(['billing.invoices.send']);
    expect(body.failed).toEqual([{ module: 'broken', message: expect.stringContaining('job module broken failed to load') }]);
    expect(body.failed[0]!.message).not.toContain(dir);
  });
});
