/**
 * A small caller of Celerity through @celerity/client: submits a task, follows its progress as it
 * happens, waits for the result, and submits a typed one. With the service running (`make run`):
 *
 *   npx tsx examples/client-app/report.ts 2026-11
 *
 * CELERITY_URL (default http://127.0.0.1:3000) and CELERITY_API_KEY say where and as whom.
 * celerity-tasks.ts beside it is written by `celerity types --out examples/client-app/celerity-tasks.ts`
 * (JOBS_ROOT=examples/jobs): it makes the compiler check each task name and input below.
 */
import { ApiError, createClient } from '@celerity/client';
import type { CelerityTasks } from './celerity-tasks.js';

const celerity = createClient<CelerityTasks>({
  baseUrl: process.env.CELERITY_URL ?? 'http://127.0.0.1:3000',
  ...(process.env.CELERITY_API_KEY ? { apiKey: process.env.CELERITY_API_KEY } : {}),
});
const print = (line: string) => process.stdout.write(`${line}\n`);

// 1. submit, then follow its events until it finishes (the stream resumes by itself after a drop)
const countdown = await celerity.submit('demo.countdown', { steps: 4, step_ms: 250 }, { metadata: { from: 'client-app' } });
print(`submitted ${countdown.task} as ${countdown.id} (queue ${countdown.queue})`);
for await (const event of celerity.events(countdown.id)) {
  if (event.event === 'progress') print(`  ${event.data.percent}% ${event.data.message ?? ''}`);
  if (event.event === 'status') print(`  ${event.data.status}`);
}

// 2. a typed task: its input is checked by the compiler and at submit, its result is typed
const month = process.argv[2] ?? '2026-11';
try {
  const report = await celerity.submit('reports.monthly.generate', { month });
  const done = await celerity.wait(report, { timeout: 30_000 });
  if (done.status === 'succeeded' && done.result) print(`report for ${done.result.month}: ${done.result.rows} rows`);
  else print(`report ended ${done.status}: ${done.error?.message ?? ''}`);
} catch (err) {
  // a problem+json answer: branch on its code, never on the message
  if (err instanceof ApiError && err.code === 'INVALID_JOB_INPUT') print(`refused: ${err.problem.detail}`);
  else throw err;
}
