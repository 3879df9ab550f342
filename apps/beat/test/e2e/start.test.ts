import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupNamespace, freePort, testAmqpUrl, testNamespace, testRedisUrl, waitFor } from '@celerity/testkit';

const CLI = new URL('../../../cli/dist/main.js', import.meta.url).pathname;
const ROOT = new URL('../../../../', import.meta.url).pathname;

let child: ChildProcess | undefined;
let ns: string | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (ns) await cleanupNamespace(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
  child = ns = dir = undefined;
});

interface TaskView {
  id: string;
  status: string;
  queue: string;
  result: unknown;
  schedule: { name: string; fire_at: string } | null;
}

describe('`celerity start` runs a beat (spawned process)', () => {
  it('fires config schedules as ordinary tasks: run by the worker, listed by schedule, dead-lettered when they fail', async () => {
    ns = testNamespace();
    dir = mkdtempSync(join(tmpdir(), 'celerity-start-'));
    const configFile = join(dir, 'celerity.yaml');
    writeFileSync(
      configFile,
      [
        'schedules:',
        '  - { name: echo, task: demo.echo, input: { hello: beat }, cron: "* * * * * *" }',
        '  - { name: broken, task: demo.fail, input: { message: boom, retryable: false }, every: 1, max_retries: 0 }',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    child = spawn(process.execPath, [CLI, 'start'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), CELERITY_CONFIG: configFile, WORKER_CONCURRENCY: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const base = `http://127.0.0.1:${port}`;
    const get = async <T>(path: string) => (await (await fetch(`${base}${path}`)).json()) as T;

    const succeeded = await waitFor(
      async () => {
        const schedule = await get<{ last_run: { status: string; task_id: string } | null }>('/schedules/echo').catch(() => undefined);
        return schedule?.last_run?.status === 'succeeded' ? schedule.last_run : undefined;
      },
      { timeoutMs: 20_000, what: `a succeeded run of the echo schedule\n${output}` },
    );
    const task = await get<TaskView>(`/tasks/${succeeded.task_id}`);
    expect(task).toMatchObject({ status: 'succeeded', queue: 'cron', result: { hello: 'beat' }, schedule: { name: 'echo' } });
    const listed = await get<{ items: TaskView[] }>('/tasks?schedule=echo');
    expect(listed.items.length).toBeGreaterThanOrEqual(1);
    for (const t of listed.items) expect(t.schedule?.name).toBe('echo');

    const deadLetter = await waitFor(
      async () => {
        const { items } = await get<{ items: { task_id: string; reason: string }[] }>('/dead-letters');
        return items.find((d) => d.reason === 'failed');
      },
      { timeoutMs: 20_000, what: 'a dead letter from the broken schedule' },
    );
    expect(await get<TaskView>(`/tasks/${deadLetter.task_id}`)).toMatchObject({ status: 'failed', schedule: { name: 'broken' } });

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(output).toContain('beat started');
  }, 60_000);
});
