#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError, createLogger, installShutdown, loadConfig, type Closable } from '@celerity/core';
import { CelerityError } from '@celerity/client';
import { CLIENT_COMMANDS, ClientUsageError, runClientCommand, type ClientCommand } from './client-commands.js';
import { InitError, initJobProject } from './init.js';
import { renderTaskTypes, TaskTypesError } from './task-types.js';

const USAGE = `usage: celerity <command> [options]

commands:
  start                      API + worker + beat in one process (the quick start)
  api                        the HTTP API only
  beat                       the scheduler alone; run two or more for high availability
                             (each fire time still fires once)
  worker [--queues a,b] [--concurrency N] [--burst]
                             a worker; run as many as you like; --burst: drain the
                             queues, then exit 0
  openapi [--out FILE]       print (or write) the OpenAPI document
  types [--out FILE]         print (or write) the task names under JOBS_ROOT with their input
                             and result types, for createClient<CelerityTasks>() of @celerity/client
  init [DIR]                 create a job project in DIR (default: .): package.json,
                             a JavaScript and a TypeScript job; then JOBS_ROOT=DIR/jobs

talking to a running API (CELERITY_URL, default http://127.0.0.1:3000; CELERITY_API_KEY):
  submit TASK [--input JSON] [--wait]
                             submit a task; --wait: until it is finished (long poll)
  status ID [--wait]         a task's record
  cancel ID [--terminate]    cancel a task (--terminate: kill one that ignores its signal)
  inspect queues|workers|tasks [--status S] [--limit N]
                             queues, workers, or the newest tasks
  purge QUEUE                remove a queue's waiting messages (admin key)
  these print tables; --json prints the API's JSON instead

options: -h, --help          this text

Configuration comes from the environment (see .env.example).`;

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        queues: { type: 'string' },
        concurrency: { type: 'string' },
        burst: { type: 'boolean' },
        input: { type: 'string' },
        wait: { type: 'boolean' },
        json: { type: 'boolean' },
        status: { type: 'string' },
        limit: { type: 'string' },
        terminate: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message); // an unknown or malformed option
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv);
  const [command, ...args] = positionals;
  if (!command || command === 'help' || values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if ((CLIENT_COMMANDS as readonly string[]).includes(command)) {
    const options = { json: values.json ?? false, input: values.input, wait: values.wait ?? false, status: values.status, terminate: values.terminate ?? false, limit: values.limit };
    process.stdout.write(await runClientCommand(command as ClientCommand, args, options, process.env));
    return;
  }
  if (command === 'init') {
    if (args.length > 1) throw new UsageError('init takes one directory');
    process.stdout.write(initJobProject(args[0] ?? '.'));
    return;
  }
  if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
  if (command === 'openapi') {
    const { renderOpenApi } = await import('@celerity/api');
    const document = await renderOpenApi();
    if (values.out) writeFileSync(values.out, document);
    else process.stdout.write(document);
    return;
  }
  if (command === 'types') {
    const source = await renderTaskTypes(loadConfig(process.env).JOBS_ROOT);
    if (values.out) writeFileSync(values.out, source);
    else process.stdout.write(source);
    return;
  }
  if (!['start', 'api', 'worker', 'beat'].includes(command)) throw new UsageError(`unknown command "${command}"`);

  const config = loadConfig(process.env);
  const log = createLogger({ service: `celerity-${command}`, level: config.LOG_LEVEL });
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw new UsageError('--concurrency must be a positive integer');
  const queues = values.queues?.split(',').map((q) => q.trim()).filter(Boolean);

  // started in order; closed in reverse (the API stops taking tasks before the worker drains). Each
  // part is imported only when it runs: a worker process does not carry the HTTP stack, nor the API a pool.
  if (values.burst && command !== 'worker') throw new UsageError('--burst is an option of worker');
  const started: Closable[] = [];
  // a shutdown request from the API, or a burst worker's drained queues, stop the process as SIGTERM does
  let stopProcess: ((reason: string) => Promise<void>) | undefined;
  let stopReason: string | undefined;
  const onStopRequested = (reason: string) => {
    stopReason ??= reason;
    if (stopProcess) void stopProcess(reason).then(() => process.exit(0));
  };
  try {
    if (command === 'start' || command === 'worker') {
      started.push(await (await import('@celerity/worker')).startWorker(config, log, { queues, concurrency, burst: values.burst, onStopRequested }));
    }
    if (command === 'start' || command === 'api') started.push(await (await import('@celerity/api')).startApi(config, log));
    if (command === 'start' || command === 'beat') started.push(await (await import('@celerity/beat')).startBeat(config, log));
  } catch (err) {
    for (const part of started.reverse()) await part.close().catch(() => undefined);
    throw err;
  }
  stopProcess = installShutdown(log, [...started].reverse(), (config.WORKER_SHUTDOWN_GRACE + 10) * 1000);
  if (stopReason) onStopRequested(stopReason);
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Expected start-up problems get one line a newcomer can act on; anything else gets the stack.
  if (err instanceof UsageError) process.stderr.write(`celerity: ${err.message}\n\n${USAGE}\n`);
  else if (err instanceof ClientUsageError) process.stderr.write(`celerity: ${err.message} (celerity --help)\n`);
  else if (err instanceof CelerityError) process.stderr.write(`celerity: ${err.message}\n`); // the API's problem, or no API to talk to
  else if (err instanceof AppError || err instanceof InitError || err instanceof TaskTypesError) process.stderr.write(`celerity: ${err.message}\n`);
  else process.stderr.write(`celerity: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
