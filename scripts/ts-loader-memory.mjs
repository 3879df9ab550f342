// Memory of execution threads that load a job module: tsx's loader vs Node's own type stripping.
//   node scripts/ts-loader-memory.mjs <js|tsx|native> <job module> [threads=2]
//   scripts/with-node 24 node scripts/ts-loader-memory.mjs native examples/jobs/reports/monthly.ts 4
// Each thread imports the module (tsx: after registering tsx in that thread, as the worker does) and
// stays alive; then the process's RSS and thread count are printed. docs/node-versions.md has figures.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const [mode = 'js', file = 'examples/jobs/demo.js', threads = '2'] = process.argv.slice(2);
const tsxApi = import.meta.resolve('tsx/esm/api');
const code = `
const { parentPort } = require('node:worker_threads');
(async () => {
  if (${JSON.stringify(mode)} === 'tsx') (await import(${JSON.stringify(tsxApi)})).register();
  await import(${JSON.stringify(pathToFileURL(resolve(file)).href)});
  parentPort.postMessage('loaded');
  setInterval(() => {}, 60_000);
})();`;
const started = performance.now();
await Promise.all(
  Array.from({ length: Number(threads) }, () => {
    const worker = new Worker(code, { eval: true });
    return new Promise((done, fail) => worker.once('message', done).once('error', fail));
  }),
);
const loadMs = Math.round(performance.now() - started);
await new Promise((done) => setTimeout(done, 500));
const status = readFileSync('/proc/self/status', 'utf8');
const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]);
console.log(JSON.stringify({ node: process.version, mode, threads: Number(threads), rss_mib: Math.round(field('VmRSS') / 1024), os_threads: field('Threads'), load_ms: loadMs }));
process.exit(0);
