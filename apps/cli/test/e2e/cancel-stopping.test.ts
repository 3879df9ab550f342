/**
 * Cancelling a task whose job ignores its signal: the record says it is still stopping, and the
 * execution stays terminable until it has really stopped (spawned `celerity start`, real services).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupNamespace, freePort, testNamespace, waitFor } from '@celerity/testkit';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const ns = testNamespace();
let service: ChildProcess | undefined;
afterAll(async () => {
  if (service && service.exitCode === null) {
    service.kill('SIGKILL'); // a busy loop left running would hold a graceful stop for its whole minute
    await once(service, 'exit');
  }
  await cleanupNamespace(ns);
});

interface Record {
  id: string;
  status: string;
  stopping: boolean;
  progress: { message: string | null } | null;
}

describe('cancel, then terminate (spawned celerity start)', () => {
  it('a cancelled busy loop is "stopping" until killed; a second DELETE says how to kill it; ?terminate=true kills it and the worker goes on', async () => {
    const port = await freePort();
    service = spawn(process.execPath, ['apps/cli/dist/main.js', 'start'], {
      cwd: ROOT,
      env: { ...process.env, NAMESPACE: ns, PORT: String(port), LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '1' },
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/ready`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 20_000, what: 'the service' });
    const post = async (body: object) => (await (await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record;
    const get = async (id: string) => (await (await fetch(`${base}/tasks/${id}`)).json()) as Record;
    const cancel = (id: string, terminate = false) => fetch(`${base}/tasks/${id}${terminate ? '?terminate=true' : ''}`, { method: 'DELETE' });

    const spinner = await post({ task: 'demo.busyLoop', input: { ms: 60_000 } });
    // its first progress report comes from inside the loop's job, past any check of its signal
    await waitFor(async () => ((await get(spinner.id)).progress?.message === 'spinning' ? true : undefined), { what: 'the busy loop to spin' });

    const first = await cancel(spinner.id);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { message: string }).message).toContain('stopping: true');
    expect(await get(spinner.id)).toMatchObject({ status: 'cancelled', stopping: true });

    const again = await cancel(spinner.id);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { detail: string }).detail).toBe('task already finished with status cancelled; its execution is still stopping: DELETE with ?terminate=true kills it');

    const kill = await cancel(spinner.id, true);
    expect(kill.status).toBe(200);
    expect(await kill.json()).toMatchObject({ status: 'cancelled', previous_status: 'cancelled', message: 'cancelled earlier; its execution was still running and is being killed' });
    await waitFor(async () => ((await get(spinner.id)).stopping === false ? true : undefined), { timeoutMs: 10_000, what: 'the record to stop saying stopping' });

    // the one execution slot is free again
    const next = await post({ task: 'demo.echo', input: 'after' });
    await waitFor(async () => ((await get(next.id)).status === 'succeeded' ? true : undefined), { timeoutMs: 10_000, what: 'the next task' });
    expect(await get(spinner.id)).toMatchObject({ status: 'cancelled', stopping: false });
    // now it has stopped: a finished task, nothing to kill
    expect((await cancel(spinner.id, true)).status).toBe(409);
  });
});
