/**
 * Screenshots of every dashboard page for docs/ui.md (`make ui-screenshots`): the same stack as the
 * browser tests (real API, worker, RabbitMQ, Redis, Chromium), some tasks of each kind, then one
 * PNG a page under docs/ui/.
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
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
