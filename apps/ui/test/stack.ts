/**
 * What the dashboard's browser tests run against: the real API (in this process, listening on a free
 * port, with an admin key and an ordinary one) on the real RabbitMQ and Redis, and a spawned `celerity worker`, all in a
 * namespace of their own; and headless Chromium (Debian's package) driven by playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '@celerity/api';
import { connectBroker } from '@celerity/broker';
import { createLogger, createRouter } from '@celerity/core';
import { createProducerFromConfig } from '@celerity/producer';
import { createRedis, createTaskStore } from '@celerity/store';
import { cleanupNamespace, testConfig, testNamespace, waitFor } from '@celerity/testkit';
import { chromium, type BrowserContext } from 'playwright-core';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const ADMIN_KEY = 'dashboard-admin-key-0123456789';
export const READER_KEY = 'dashboard-reader-key-0123456789';

export interface Stack {
  ns: string;
  base: string;
  /** the API as a script would call it, with the admin key */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  if (!existsSync(new URL('../dist/index.html', import.meta.url))) throw new Error('the dashboard is not built: run `npm run build` (npm test does) first');
  const ns = testNamespace();
  // READER_KEY is an ordinary API key: its dashboard session is read-only
  const config = testConfig(ns, { API_KEYS: READER_KEY, ADMIN_API_KEYS: ADMIN_KEY, TASK_RETRY_DELAY: '1' });
  const log = createLogger({ service: 'ui-test-api', level: config.LOG_LEVEL });
  const router = createRouter(config.file.queues, config.file.routes);
  const redis = createRedis({ url: config.REDIS_URL, log, failFast: true, name: 'ui-test-api' });
  await redis.connect();
  const store = createTaskStore(redis, { namespace: ns, resultTtlSeconds: config.RESULT_EXPIRES });
  const broker = await connectBroker({ url: config.RABBITMQ_URL, namespace: ns, queues: router.queues, log });
  const producer = createProducerFromConfig(config, { store, broker, log });
  const app = await buildApp({ config, log, store, redis, broker, producer, eventsHeartbeatMs: 2_000 });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  const worker: ChildProcess = spawn(process.execPath, ['apps/cli/dist/main.js', 'worker'], {
    cwd: ROOT,
    env: { ...process.env, NAMESPACE: ns, LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '2', TASK_RETRY_DELAY: '1', WORKER_HEARTBEAT: '1', HOST: '127.0.0.1', API_KEYS: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const call = async <T,>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-api-key': ADMIN_KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (res.status === 204 ? null : await res.json()) as T };
  };
  // the worker consumes once it has declared its queues and started: a task it runs says so
  const probe = await call<{ id: string }>('POST', '/tasks', { task: 'demo.noop' });
  await waitFor(async () => ((await call<{ status: string }>('GET', `/tasks/${probe.body.id}`)).body.status === 'succeeded' ? true : undefined), {
    timeoutMs: 20_000,
    what: 'the worker to run a task',
  });

  return {
    ns,
    base,
    call,
    async close() {
      if (worker.exitCode === null) {
        worker.kill('SIGTERM');
        await once(worker, 'exit');
      }
      await app.close();
      await broker.close();
      redis.disconnect();
      await cleanupNamespace(ns, router.queues.map((q) => q.name));
    },
  };
}

/** Debian's chromium, headless, with a fresh profile; nothing reaches past this machine. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium (Debian's package; .ci/run does), or set CHROMIUM_PATH`);
  const profile = mkdtempSync(join(tmpdir(), 'celerity-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
