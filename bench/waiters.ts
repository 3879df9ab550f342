/**
 * What many concurrent long polls (GET /tasks/:id?wait=N) cost one API process: `npx tsx bench/waiters.ts [--n 4000]`
 * (under `flock -x /tmp/celerity-cpu.lock`). Starts an API (no worker), submits N tasks, holds N waits
 * (one per task, one connection each: at most HTTP_MAX_CONNECTIONS), and measures the API's RSS and
 * heap before and during the waits, the Redis commands on the namespace's keys while they wait, then
 * starts a worker and measures how long until every wait has answered with its finished record.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { cleanupNamespace, freePort, testAmqpUrl, testNamespace, testRedisUrl } from '@celerity/testkit';
import { sleep } from './util.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '4000' }, hold: { type: 'string', default: '3' } } });
const n = Number(values.n);
const holdSeconds = Number(values.hold);
const CLI = new URL('../apps/cli/dist/main.js', import.meta.url).pathname;
const ns = testNamespace();
const port = await freePort();
const env = { ...process.env, NAMESPACE: ns, PORT: String(port), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), LOG_LEVEL: 'warn', BATCH_MAX_SIZE: '1000', HTTP_MAX_CONNECTIONS: String(n + 100) };
const children: ChildProcess[] = [];
const start = (args: string[]) => {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: 'ignore' });
  children.push(child);
  return child;
};
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const agent = new http.Agent({ keepAlive: true, maxSockets: n + 10 });
const request = (method: string, path: string, body?: unknown) =>
  new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });

try {
  const api = start(['api']);
  for (let i = 0; ; i++) {
    if (await request('GET', '/health').then((r) => r.status === 200, () => false)) break;
    if (i > 100) throw new Error('the API did not start');
    await sleep(100);
  }
  const ids: string[] = [];
  while (ids.length < n) {
    const size = Math.min(1000, n - ids.length);
    const batch = await request('POST', '/tasks/batch', { tasks: Array.from({ length: size }, (_, i) => ({ task: 'demo.noop', input: i })) });
    ids.push(...(batch.json.tasks as { id: string }[]).map((t) => t.id));
  }
  await sleep(1_000);
  const before = { rss: rssMiB(api.pid!) };

  const opened = Date.now();
  const answers = ids.map((id) => request('GET', `/tasks/${id}?wait=60`).then((r) => ({ at: Date.now(), status: r.json.status as string })));
  await sleep(Math.max(2_000, n)); // every wait under way (about 1 ms each on a busy machine)
  const during = { rss: rssMiB(api.pid!) };

  const monitor = new Redis(testRedisUrl());
  let commands = 0;
  const byName = new Map<string, number>();
  const mine = `{celerity:${ns}}`;
  await monitor.monitor().then((m) => {
    m.on('monitor', (_t: string, args: string[]) => {
      if (!args.some((a) => a.includes(mine))) return;
      commands += 1;
      byName.set(args[0]!.toLowerCase(), (byName.get(args[0]!.toLowerCase()) ?? 0) + 1);
    });
    return sleep(holdSeconds * 1000).then(() => m.disconnect());
  });
  monitor.disconnect();

  const workerStarted = Date.now();
  start(['worker']);
  const results = await Promise.all(answers);
  const lastAnswer = Math.max(...results.map((r) => r.at));
  const finished = results.filter((r) => r.status === 'succeeded').length;
  console.log(
    JSON.stringify(
      {
        waiters: n,
        api_rss_mib_before: Math.round(before.rss),
        api_rss_mib_with_waiters: Math.round(during.rss),
        rss_kib_per_waiter: Math.round(((during.rss - before.rss) * 1024) / n * 10) / 10,
        redis_commands_on_the_namespace_while_waiting: commands,
        by_command: Object.fromEntries(byName),
        hold_seconds: holdSeconds,
        answered_succeeded: finished,
        seconds_from_worker_start_to_last_answer: (lastAnswer - workerStarted) / 1000,
        seconds_waits_were_open: (lastAnswer - opened) / 1000,
      },
      null,
      2,
    ),
  );
} finally {
  for (const child of children) child.kill('SIGTERM');
  await sleep(1_500);
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  agent.destroy();
  await cleanupNamespace(ns);
}
