/**
 * The dashboard in a real headless Chromium against the real API, worker, RabbitMQ and Redis:
 * sign-in, a live progress bar, cancel and terminate, dead-letter retry, the overview's chart of the
 * last hour, a list of 1 000 tasks scrolled through, a read-only session, sign-out, and an
 * accessibility check (axe-core) of every page.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, TASK_STATUSES } from '@celerity/core';
import { createKeys, createRedis } from '@celerity/store';
import { testRedisUrl, waitFor } from '@celerity/testkit';
import type { BrowserContext, Page } from 'playwright-core';
import { ADMIN_KEY, launchBrowser, READER_KEY, startStack, type Stack } from '../stack.js';

interface Record {
  id: string;
  status: string;
}

let stack: Stack;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  context = browser.context;
  page = context.pages()[0] ?? (await context.newPage());
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const submit = async (body: object) => {
  const res = await stack.call<Record>('POST', '/tasks', body);
  expect(res.status).toBe(202);
  return res.body;
};
/** expect.poll with room for a loaded machine (its default gives up after 1 s) */
const poll = <T,>(check: () => Promise<T> | T, message?: string) => expect.poll(check, { timeout: 10_000, ...(message ? { message } : {}) });
const statusOf = async (id: string) => (await stack.call<Record>('GET', `/tasks/${id}`)).body.status;

async function signIn(key: string) {
  await page.goto(`${stack.base}/ui/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).first().waitFor();
}

async function signOut() {
  await page.getByTestId('sign-out').click();
  await page.getByLabel('API key').waitFor();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core run in the page (evaluated over the DevTools protocol, so the page's CSP still holds for everything else). */
async function seriousViolations(): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[]; help: string }[] }> } }).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes}): ${v.help}`);
}

describe('dashboard (Chromium, real API, worker, RabbitMQ and Redis)', () => {
  it('sign-in exchanges the key for an HttpOnly SameSite=Strict cookie; the page keeps no key', async () => {
    await page.goto(`${stack.base}/ui/`);
    expect(await seriousViolations()).toEqual([]);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.getByRole('alert').textContent()).toContain('not accepted');

    await signIn(ADMIN_KEY);
    expect(await page.getByTestId('role').textContent()).toBe('admin');
    const [cookie] = await context.cookies(stack.base);
    expect(cookie).toMatchObject({ name: 'celerity_session', httpOnly: true, sameSite: 'Strict' });
    expect(cookie!.value).not.toContain(ADMIN_KEY);
    const stored = await page.evaluate(() => {
      const g = globalThis as unknown as { document: { cookie: string }; localStorage: object; sessionStorage: object };
      return JSON.stringify({ cookie: g.document.cookie, local: { ...g.localStorage }, session: { ...g.sessionStorage } });
    });
    expect(stored).not.toContain(ADMIN_KEY);
    expect(stored).not.toContain(cookie!.value);
    // without the CSRF header the session changes nothing, even from this origin
    const bare = await page.evaluate(async () => (await fetch('/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"task":"demo.noop"}' })).status);
    expect(bare).toBe(403);
  });

  it('a task submitted through the API: its progress bar reaches 100% in the page', async () => {
    const task = await submit({ task: 'demo.countdown', input: { steps: 8, step_ms: 250 }, countdown: 1 });
    await page.goto(`${stack.base}/ui/#/tasks/${task.id}`);
    const bar = page.getByRole('progressbar');
    await poll(() => bar.getAttribute('aria-valuenow')).not.toBe(null);
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          seen.add((await bar.getAttribute('aria-valuenow')) ?? '');
          return page.getByTestId('status').first().textContent();
        },
        { timeout: 15_000 },
      )
      .toBe('succeeded');
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    // it moved in steps while the page watched, not only at the end
    expect([...seen].filter((v) => v !== '0' && v !== '100').length).toBeGreaterThan(0);
    await poll(() => page.getByTestId('timeline').textContent()).toContain('succeeded');
    expect(await page.getByRole('region', { name: 'Result' }).textContent()).toContain('"steps": 8');
    expect(await seriousViolations()).toEqual([]);
  });

  it('cancels a running task from the page, after a confirmation', async () => {
    const task = await submit({ task: 'demo.sleep', input: { ms: 60_000 } });
    await waitFor(async () => ((await statusOf(task.id)) === 'running' ? true : undefined), { what: 'the task to run' });
    await page.goto(`${stack.base}/ui/#/tasks/${task.id}`);
    await page.getByTestId('cancel').click();
    await page.getByRole('dialog').waitFor();
    await page.getByTestId('cancel-confirm').click();
    await poll(() => page.getByTestId('status').first().textContent()).toBe('cancelled');
    expect(await statusOf(task.id)).toBe('cancelled');
  });

  it('terminates a running task that ignores its signal from the page: it ends cancelled, its execution killed', async () => {
    const task = await submit({ task: 'demo.busyLoop', input: { ms: 120_000 } });
    await waitFor(async () => ((await statusOf(task.id)) === 'running' ? true : undefined), { what: 'the busy loop to run' });
    await page.goto(`${stack.base}/ui/#/tasks/${task.id}`);
    await page.getByTestId('terminate').click();
    await page.getByRole('dialog').waitFor();
    expect(await page.getByRole('dialog').textContent()).toContain('Kills the execution');
    await page.getByTestId('terminate-confirm').click();
    // the thread is killed and the record stops saying `stopping`: the page settles on plain `cancelled`
    await poll(() => page.getByTestId('status').first().textContent()).toBe('cancelled');
    expect((await stack.call<{ status: string; stopping: boolean }>('GET', `/tasks/${task.id}`)).body).toMatchObject({ status: 'cancelled', stopping: false });
    expect(await page.getByTestId('terminate').count()).toBe(0);
    // the worker goes on: the slot the busy loop held runs the next task
    const next = await submit({ task: 'demo.echo', input: 'after the terminate' });
    await waitFor(async () => ((await statusOf(next.id)) === 'succeeded' ? true : undefined), { what: 'a task after the terminate' });
  });

  it('lists tasks live and retries a dead letter from the dead-letter page', async () => {
    const failing = await submit({ task: 'demo.fail', input: { message: 'boom for the dashboard' }, max_retries: 0 });
    await page.goto(`${stack.base}/ui/#/tasks`);
    // the list refreshes itself: the failed task appears without a reload
    await poll(async () => page.getByTestId('task-table').textContent()).toContain(failing.id);
    expect(await seriousViolations()).toEqual([]);
    expect(await page.getByLabel('Status').locator('option').allTextContents()).toEqual(['any', ...TASK_STATUSES]);
    // filtered by status (and a finished-time range that holds it): only failed tasks
    await page.getByLabel('Status').selectOption('failed');
    await page.getByLabel('Finished after').fill(new Date(Date.now() - 3_600_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 19));
    await page.getByRole('button', { name: 'Filter' }).click();
    await poll(async () => page.getByTestId('status').allTextContents()).toEqual(['failed']);

    await waitFor(async () => ((await statusOf(failing.id)) === 'failed' ? true : undefined), { what: 'the task to fail' });
    await page.goto(`${stack.base}/ui/#/dead-letters`);
    const row = page.getByTestId('dead-letter').filter({ hasText: 'boom for the dashboard' });
    await row.waitFor();
    expect(await seriousViolations()).toEqual([]);
    await row.getByTestId('retry-dead-letter').click();
    // the page opens the new task; the dead letter is gone
    await page.waitForURL((url) => url.hash.startsWith('#/tasks/') && !url.hash.includes(failing.id));
    const newId = new URL(page.url()).hash.slice('#/tasks/'.length);
    expect(newId).not.toBe(failing.id);
    expect((await stack.call<{ task: string }>('GET', `/tasks/${newId}`)).body.task).toBe('demo.fail');
    const dead = await stack.call<{ items: { task_id: string }[] }>('GET', '/dead-letters?limit=100');
    expect(dead.body.items.map((d) => d.task_id)).not.toContain(failing.id);
  });

  it('the overview shows health, counts and the rate chart from the API, the chart from the hour before the page opened', async () => {
    // half an hour of minute snapshots, as the API would have taken them (60 tasks a minute submitted)
    const redis = createRedis({ url: testRedisUrl(), log: createLogger({ service: 'ui-test', level: 'silent' }), failFast: true, name: 'ui-test' });
    await redis.connect();
    const history = createKeys(stack.ns).statsHistory;
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    try {
      for (let i = 30; i >= 1; i -= 1) {
        const at = minute - i * 60_000;
        await redis.zadd(history, at, `${at} ${JSON.stringify({ 'n|default|demo.noop|submitted': (31 - i) * 60 })}`);
      }
    } finally {
      redis.disconnect();
    }
    await page.goto(`${stack.base}/ui/#/`);
    const chart = page.getByTestId('rate-chart');
    // at once, not a sample every 5 s: the minutes come from GET /stats/history
    await poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(30);
    const health = page.getByRole('region', { name: 'Health' });
    await poll(() => health.getByTestId('status').first().textContent()).toMatch(/^(ok|warning|critical)$/);
    // the failed task of the previous test was retried away; what the API counts is what the page shows
    const stats = (await stack.call<{ dead_letters: number; running: number }>('GET', '/stats')).body;
    await poll(() => page.getByTestId('dead-letter-count').textContent()).toBe(String(stats.dead_letters));
    await page.getByRole('img', { name: /Tasks per second/ }).waitFor();
    expect(await seriousViolations()).toEqual([]);
    await page.goto(`${stack.base}/ui/#/schedules`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await seriousViolations()).toEqual([]);
  });

  it('pauses the worker from the workers page, purges a queue from the queues page, resumes the worker; pauses and resumes one queue\'s consumers', async () => {
    await page.goto(`${stack.base}/ui/#/workers`);
    const worker = page.getByTestId('worker');
    await poll(() => worker.count()).toBe(1);
    expect(await seriousViolations()).toEqual([]);
    await worker.getByTestId('pause-worker').click();
    // the worker takes the pause from Redis and says so in its next heartbeat (WORKER_HEARTBEAT 1 s)
    await poll(() => worker.getByTestId('status').textContent()).toBe('paused');

    const waiting = [await submit({ task: 'demo.echo', input: 1, queue: 'low_priority' }), await submit({ task: 'demo.echo', input: 2, queue: 'low_priority' })];
    await page.goto(`${stack.base}/ui/#/queues`);
    const row = page.getByTestId('queue').filter({ hasText: 'low_priority' });
    await poll(async () => (await row.locator('td').nth(1).textContent())?.trim()).toBe('2');
    expect(await seriousViolations()).toEqual([]);
    await row.getByTestId('purge-queue').click();
    await page.getByRole('dialog').waitFor();
    expect(await seriousViolations()).toEqual([]);
    await row.getByTestId('purge-queue-confirm').click();
    await poll(() => page.getByTestId('notice').textContent()).toContain('Purge: done');
    for (const task of waiting) expect(await statusOf(task.id)).toBe('cancelled');
    await poll(async () => (await row.locator('td').nth(1).textContent())?.trim()).toBe('0');

    await page.goto(`${stack.base}/ui/#/workers`);
    await worker.getByTestId('resume-worker').click();
    await poll(() => worker.getByTestId('status').textContent()).toBe('running');

    // one queue's consumers: paused and resumed from the queues page
    await page.goto(`${stack.base}/ui/#/queues`);
    const high = page.getByTestId('queue').filter({ hasText: 'high_priority' });
    const consumers = async () => (await high.locator('td').nth(3).textContent())?.trim();
    await poll(consumers).toBe('1');
    await high.getByTestId('pause-queue').click();
    await poll(consumers).toBe('0');
    await high.getByTestId('resume-queue').click();
    await poll(consumers).toBe('1');
    const after = await submit({ task: 'demo.echo', input: 'after the pause' });
    await waitFor(async () => ((await statusOf(after.id)) === 'succeeded' ? true : undefined), { what: 'a task after the resume' });
  });

  it('a list of 1 000 tasks (one trace id) loads as it is scrolled and draws only the rows in view', async () => {
    const trace = `scroll-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      // scheduled an hour out: listed, not run
      const res = await fetch(`${stack.base}/tasks/batch`, {
        method: 'POST',
        headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json', 'x-trace-id': trace },
        body: JSON.stringify({ tasks: Array.from({ length: 500 }, (_, j) => ({ task: 'demo.noop', input: { i, j }, countdown: 3_600 })) }),
      });
      expect(res.status).toBe(202);
      ids.push(...((await res.json()) as { tasks: { id: string }[] }).tasks.map((t) => t.id));
    }
    const oldest = [...ids].sort()[0]!;
    await page.goto(`${stack.base}/ui/#/tasks?trace_id=${trace}`);
    await poll(async () => Number(await page.getByTestId('task-table').getAttribute('data-rows'))).toBe(100);
    expect(await page.getByLabel('Trace id').inputValue()).toBe(trace);
    expect(await page.getByTestId('task-row').count()).toBeLessThan(60); // 100 loaded, those in view drawn
    expect(await seriousViolations()).toEqual([]);

    // scrolled to the end a frame at a time (400 px a frame), long tasks (> 50 ms) and frame times recorded
    const run = await page.evaluate(async () => {
      const g = globalThis as unknown as {
        document: { querySelector(s: string): { scrollTop: number; clientHeight: number; scrollHeight: number; querySelector(s: string): { dataset: { rows?: string } } } };
        requestAnimationFrame(cb: () => void): void;
        PerformanceObserver: new (cb: (list: { getEntries(): { duration: number }[] }) => void) => { observe(o: object): void; disconnect(): void };
      };
      const longTasks: number[] = [];
      const observer = new g.PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration)));
      observer.observe({ type: 'longtask' });
      const box = g.document.querySelector('.task-rows');
      const frames: number[] = [];
      let last = performance.now();
      const started = last;
      while (frames.length < 3_000) {
        box.scrollTop += 400;
        await new Promise<void>((resolve) => g.requestAnimationFrame(resolve));
        const now = performance.now();
        frames.push(now - last);
        last = now;
        if (Number(box.querySelector('table').dataset.rows) >= 1_000 && box.scrollTop + box.clientHeight >= box.scrollHeight - 1) break;
      }
      observer.disconnect();
      frames.sort((a, b) => a - b);
      return { ms: performance.now() - started, frames: frames.length, p50: frames[Math.floor(frames.length / 2)]!, p95: frames[Math.floor(frames.length * 0.95)]!, max: frames.at(-1)!, longTasks };
    });
    process.stdout.write(`[task list] 1 000 rows scrolled in ${Math.round(run.ms)} ms, ${run.frames} frames: p50 ${run.p50.toFixed(1)} / p95 ${run.p95.toFixed(1)} / max ${run.max.toFixed(1)} ms; long tasks > 50 ms: ${run.longTasks.length}${run.longTasks.length ? ` (max ${Math.max(...run.longTasks).toFixed(0)} ms)` : ''}\n`);

    // every row loaded, the oldest drawn at the bottom, and only those in view (and a few around them) in the page
    expect(Number(await page.getByTestId('task-table').getAttribute('data-rows'))).toBe(1_000);
    await poll(() => page.getByTestId('task-count').textContent()).toBe('1000 tasks loaded, the whole list');
    await poll(async () => page.getByTestId('task-row').last().textContent()).toContain(oldest);
    expect(await page.getByTestId('task-row').count()).toBeLessThan(60);
  });

  it('a read-only session sees no actions, and the API refuses it one; sign-out ends the session', async () => {
    await signOut();
    // by keyboard alone: the key field takes the first Tab, Enter signs in, the skip link and the pages follow
    await page.goto(`${stack.base}/ui/`);
    await page.getByLabel('API key').waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.type(READER_KEY);
    await page.keyboard.press('Enter');
    await page.getByTestId('role').waitFor();
    expect(await page.getByTestId('role').textContent()).toBe('read-only');
    const focused = () => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document.activeElement?.textContent);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Tasks');
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.hash === '#/tasks');
    // the light theme reads as well as the dark one
    await page.getByRole('button', { name: /theme/ }).click();
    await page.getByTestId('task-table').waitFor();
    expect(await seriousViolations()).toEqual([]);
    await page.getByRole('button', { name: /theme/ }).click();

    const task = await submit({ task: 'demo.sleep', input: { ms: 60_000 } });
    await page.goto(`${stack.base}/ui/#/tasks/${task.id}`);
    await page.getByRole('progressbar').waitFor();
    expect(await page.getByTestId('cancel').count()).toBe(0);
    // the same request the admin page sends, CSRF token and all: refused for a read-only session
    const refused = await page.evaluate(async (id) => {
      const session = (await (await fetch('/ui/session')).json()) as { csrf_token: string };
      const res = await fetch(`/tasks/${id}`, { method: 'DELETE', headers: { 'x-csrf-token': session.csrf_token } });
      return { status: res.status, body: (await res.json()) as { detail: string } };
    }, task.id);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain('read-only');
    expect(await statusOf(task.id)).not.toBe('cancelled');
    await stack.call('DELETE', `/tasks/${task.id}`);
    // an admin route too, and the queues page offers no purge
    const purge = await page.evaluate(async () => {
      const session = (await (await fetch('/ui/session')).json()) as { csrf_token: string };
      return (await fetch('/queues/default/purge', { method: 'POST', headers: { 'x-csrf-token': session.csrf_token } })).status;
    });
    expect(purge).toBe(403);
    await page.goto(`${stack.base}/ui/#/queues`);
    await poll(() => page.getByTestId('queue').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('purge-queue').count()).toBe(0);

    const [cookie] = await context.cookies(stack.base);
    await signOut();
    expect(await context.cookies(stack.base)).toEqual([]);
    // the old cookie is dead on the server too, not only forgotten by the browser
    const replay = await fetch(`${stack.base}/tasks`, { headers: { cookie: `celerity_session=${cookie!.value}` } });
    expect(replay.status).toBe(401);
  });
});
