/**
 * Screenshots of every dashboard page for docs/ui.md (`make ui-screenshots`): the same stack as the
 * browser tests (real API, worker, RabbitMQ, Redis, Chromium), some tasks of each kind, then one
 * PNG a page under docs/ui/.
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@celerity/core';
import { createKeys, createRedis } from '@celerity/store';
import { testRedisUrl } from '@celerity/testkit';
import { ADMIN_KEY, launchBrowser, startStack } from './stack.js';

const out = new URL('../../../docs/ui/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const stack = await startStack();
const browser = await launchBrowser();
try {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const post = async (body: object) => (await stack.call<{ id: string }>('POST', '/tasks', body)).body.id;
  for (let i = 0; i < 6; i += 1) await post({ task: 'demo.echo', input: { n: i }, metadata: { customer: `c-${i}` } });
  await post({ task: 'demo.fail', input: { message: 'card declined' }, max_retries: 0 });
  await post({ task: 'demo.fail', input: { message: 'upstream timeout' }, max_retries: 0, queue: 'high_priority' });
  await post({ task: 'demo.sleep', input: { ms: 120_000 }, queue: 'low_priority' });
  await post({ task: 'demo.echo', input: 'later', countdown: 3600 });
  await stack.call('POST', '/schedules', { name: 'nightly-report', task: 'demo.echo', input: { report: 'daily' }, cron: '0 3 * * *' });
  await stack.call('POST', '/schedules', { name: 'heartbeat', task: 'demo.noop', every: 300 });
  // the stack is seconds old: an hour of minute snapshots of the counters (made up, a daily-looking
  // swell of traffic) so the overview's chart shows what a running deployment's does
  const redis = createRedis({ url: testRedisUrl(), log: createLogger({ service: 'ui-screenshots', level: 'silent' }), failFast: true, name: 'ui-screenshots' });
  await redis.connect();
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const totals = { submitted: 0, succeeded: 0, failed: 0 };
  for (let i = 60; i >= 1; i -= 1) {
    const perSecond = 30 + 18 * Math.sin(i / 9) + 6 * Math.sin(i / 2.3);
    totals.submitted += Math.round(perSecond * 60);
    totals.succeeded += Math.round(perSecond * 60 * 0.95);
    totals.failed += Math.round(perSecond * 60 * (i > 20 && i < 26 ? 0.2 : 0.03));
    const raw = { 'n|default|demo.echo|submitted': totals.submitted, 'n|default|demo.echo|succeeded': totals.succeeded, 'n|default|demo.echo|failed': totals.failed };
    await redis.zadd(createKeys(stack.ns).statsHistory, minute - i * 60_000, `${minute - i * 60_000} ${JSON.stringify(raw)}`);
  }
  // the counters go on from there (the API's own snapshot at start, of the counters without them, is left out)
  await redis.zremrangebyscore(createKeys(stack.ns).statsHistory, minute, '+inf');
  for (const [event, n] of Object.entries(totals)) await redis.hincrby(createKeys(stack.ns).stats, `n|default|demo.echo|${event}`, n);
  redis.disconnect();
  const watched = await post({ task: 'demo.countdown', input: { steps: 20, step_ms: 400 }, metadata: { requested_by: 'ops' } });
  await sleep(1_500);

  await page.goto(`${stack.base}/ui/`);
  await page.screenshot({ path: `${out}sign-in.png` });
  await page.getByLabel('API key').fill(ADMIN_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).first().waitFor();

  const shots: [string, string][] = [
    ['task', `/tasks/${watched}`],
    ['overview', '/'],
    ['tasks', '/tasks'],
    ['dead-letters', '/dead-letters'],
    ['schedules', '/schedules'],
    ['workers', '/workers'],
    ['queues', '/queues'],
  ];
  for (const [name, path] of shots) {
    await page.goto(`${stack.base}/ui/#${path}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await sleep(name === 'overview' ? 11_000 : 1_500); // the task page a few progress steps in; a few samples on the chart
    await page.screenshot({ path: `${out}${name}.png`, fullPage: name !== 'task' });
    console.log(`docs/ui/${name}.png`);
  }
} finally {
  await browser.close();
  await stack.close();
}
