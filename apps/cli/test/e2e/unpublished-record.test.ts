import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupNamespace, freePort, testAmqpUrl, testNamespace, testRedisUrl, waitFor } from '@celerity/testkit';

const CLI = new URL('../../dist/main.js', import.meta.url).pathname;
const ROOT = new URL('../../../../', import.meta.url).pathname;

/**
 * A TCP proxy in front of RabbitMQ that can hold what the client sends: the API's publish then sits
 * between its Redis write and the broker's confirm for as long as the test wants.
 */
async function holdingProxy(target: URL): Promise<{ url: string; hold(): void; close(): Promise<void> }> {
  let holding = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port || 5672) });
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      if (!holding) upstream.write(chunk); // held: never reaches the broker
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const url = new URL(target.href);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.href.replace(/\/$/, ''),
    hold: () => (holding = true),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const children: ChildProcess[] = [];
let ns: string | undefined;
let proxy: Awaited<ReturnType<typeof holdingProxy>> | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await proxy?.close();
  if (ns) await cleanupNamespace(ns);
  ns = undefined;
});

function celerity(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: 'ignore' });
  children.push(child);
  return child;
}

async function ready(base: string): Promise<void> {
  await waitFor(() => fetch(`${base}/health`).then((r) => (r.ok ? true : undefined), () => undefined), { timeoutMs: 15_000, what: `the API at ${base}` });
}

interface TaskView {
  id: string;
  status: string;
  attempts: number;
}

describe('a record written but never published (the API dies between the Redis write and the broker confirm)', () => {
  it('does not stay pending: a worker publishes it after the deadline and runs it once', { timeout: 30_000 }, async () => {
    ns = testNamespace();
    proxy = await holdingProxy(new URL(testAmqpUrl()));
    const [dyingPort, readerPort] = [await freePort(), await freePort()];
    const env = { NAMESPACE: ns, REDIS_URL: testRedisUrl(), PUBLISH_TIMEOUT_MS: '1500' }; // the deadline: 2 × 1.5 s
    const dying = celerity(['api'], { ...env, RABBITMQ_URL: proxy.url, PORT: String(dyingPort) });
    celerity(['api'], { ...env, RABBITMQ_URL: testAmqpUrl(), PORT: String(readerPort) }); // to read records with
    const [dyingApi, reader] = [`http://127.0.0.1:${dyingPort}`, `http://127.0.0.1:${readerPort}`];
    await ready(dyingApi);
    await ready(reader);

    proxy.hold();
    const answer = fetch(`${dyingApi}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'demo.echo', input: { n: 1 } }) }).catch(
      () => undefined, // the API dies before it answers
    );
    // the record is in Redis, its publish held before the broker: kill the API now
    const written = await waitFor(
      async () => ((await (await fetch(`${reader}/tasks?limit=1`)).json()) as { items: TaskView[] }).items[0],
      { timeoutMs: 5_000, what: 'the record written' },
    );
    dying.kill('SIGKILL');
    await once(dying, 'exit');
    expect(await answer).toBeUndefined(); // no 202: the caller was never told it was accepted
    expect(written.status).toBe('pending');

    // a worker (its dispatcher) comes up later: the task runs, once
    celerity(['worker'], { ...env, RABBITMQ_URL: testAmqpUrl(), WORKER_CONCURRENCY: '1' });
    const done = await waitFor(
      async () => {
        const r = (await (await fetch(`${reader}/tasks/${written.id}`)).json()) as TaskView;
        return r.status === 'succeeded' ? r : undefined;
      },
      { timeoutMs: 20_000, what: `task ${written.id} to succeed` },
    );
    expect(done.attempts).toBe(1);
  });
});
