/**
 * A newcomer's path with jobs of their own: `celerity --help` through the installed bin, then
 * `celerity init` outside this repository, `npm install` there, and a worker pointed at it with
 * JOBS_ROOT running its JavaScript and TypeScript jobs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupNamespace, freePort, testNamespace, waitFor } from '@celerity/testkit';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'node_modules/.bin/celerity');
const run = promisify(execFile);

const project = mkdtempSync(join(tmpdir(), 'celerity-jobs-'));
let service: ChildProcess | undefined;
const ns = testNamespace();
afterAll(async () => {
  if (service && service.exitCode === null) {
    service.kill('SIGTERM');
    await once(service, 'exit');
  }
  await cleanupNamespace(ns);
  rmSync(project, { recursive: true, force: true });
});

describe('the celerity command', () => {
  it('is installed as node_modules/.bin/celerity, an executable file in git (npx celerity), and --help / -h print the usage', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'apps/cli/package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(manifest.bin.celerity).toBe('./bin/celerity.js');
    expect(statSync(join(ROOT, 'apps/cli/bin/celerity.js')).mode & 0o111).not.toBe(0);
    for (const flag of ['--help', '-h', 'help']) {
      const { stdout } = await run(BIN, [flag], { cwd: ROOT });
      expect(stdout).toMatch(/^usage: celerity <command> \[options\]/);
      expect(stdout).toContain('init [DIR]');
    }
  });

  it('answers an unknown command or option with the usage and exit 1, without a stack', async () => {
    for (const args of [['nope'], ['start', '--bogus']]) {
      const failed = await run(BIN, args, { cwd: ROOT }).then(() => undefined, (err: { code: number; stderr: string }) => err);
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toMatch(/^celerity: /);
      expect(failed?.stderr).toContain('usage: celerity');
      expect(failed?.stderr).not.toContain('    at ');
    }
  });
});

describe('celerity init: jobs in a project of your own', () => {
  it('creates a project whose JavaScript and TypeScript jobs a worker runs from JOBS_ROOT, with submit-time input checks', async () => {
    const { stdout } = await run(BIN, ['init', project], { cwd: ROOT });
    expect(stdout).toContain('npm install');
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { type: string; dependencies: Record<string, string> };
    expect(manifest.type).toBe('module');
    expect(manifest.dependencies['@celerity/core']).toBe(`file:${join(ROOT, 'packages/core')}`);
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, timeout: 120_000 });

    const port = await freePort();
    service = spawn(process.execPath, [join(ROOT, 'apps/cli/dist/main.js'), 'start'], {
      cwd: ROOT,
      env: { ...process.env, NAMESPACE: ns, PORT: String(port), JOBS_ROOT: join(project, 'jobs'), LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/ready`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 20_000, what: 'the service' });
    const submit = (body: object) => fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const finished = (id: string) =>
      waitFor(
        async () => {
          const record = (await (await fetch(`${base}/tasks/${id}`)).json()) as { status: string; result: unknown; error: unknown };
          return ['succeeded', 'failed'].includes(record.status) ? record : undefined;
        },
        { timeoutMs: 20_000, what: `task ${id} to finish` },
      );

    const js = (await (await submit({ task: 'hello.greet', input: { name: 'Ada' } })).json()) as { id: string };
    const ts = (await (await submit({ task: 'reports.count', input: { words: ['a', 'b', 'c'] } })).json()) as { id: string };
    expect(await finished(js.id)).toMatchObject({ status: 'succeeded', result: { greeting: 'Hello, Ada!' } });
    expect(await finished(ts.id)).toMatchObject({ status: 'succeeded', result: { count: 3 } });
    const empty = (await (await submit({ task: 'reports.count', input: { words: [] }, max_retries: 0 })).json()) as { id: string };
    expect(await finished(empty.id)).toMatchObject({ status: 'failed', error: { type: 'JOB_NON_RETRYABLE', message: 'nothing to count' } });
    expect((await submit({ task: 'hello.greet', input: { name: '' } })).status).toBe(422);
  }, 180_000);

  it('refuses to write over an existing project', async () => {
    const failed = await run(BIN, ['init', project], { cwd: ROOT }).then(() => undefined, (err: { code: number; stderr: string }) => err);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/^celerity: .* already has package\.json, jobs\/hello\.js/);
  });
});
