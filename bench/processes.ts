/**
 * The service processes the bench starts itself (API, workers), and what /proc says about them:
 * CPU ticks (utime + stime, all threads) and peak RSS (VmHWM).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHttpClient, pause, sleep } from './util.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../apps/cli/dist/main.js', import.meta.url));

/** Clock ticks per second for /proc/<pid>/stat. */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export interface ServiceProcess {
  name: string;
  pid: number;
  /** pino lines at warn level or above, and anything that is not a log line (last 20 kept) */
  problems: string[];
  warnCount: number;
  /** error/fatal lines and lines that are not pino's (a crash, a stack trace) */
  errorCount: number;
  exitCode(): number | null | undefined;
  stop(): Promise<void>;
}

/** The node flags production uses (`npm start`, the Dockerfile): heap sizes that keep peak RSS down (docs/benchmarks.md "Memory"). */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=512'];
/** Extra node flags for the API and workers only, e.g. BENCH_SERVICE_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them. */
const EXTRA_NODE_FLAGS = (process.env.BENCH_SERVICE_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/** Starts `celerity <args>` (node apps/cli/dist/main.js) with the given extra environment. */
export function spawnService(name: string, args: string[], env: Record<string, string>): ServiceProcess {
  const child: ChildProcess = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...EXTRA_NODE_FLAGS, CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  let exit: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = code ?? (signal ? -1 : null);
      resolve();
    }),
  );
  const service: ServiceProcess = {
    name,
    pid,
    problems: [],
    warnCount: 0,
    errorCount: 0,
    exitCode: () => exit,
    async stop() {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      let level = 60;
      try {
        level = (JSON.parse(line) as { level?: number }).level ?? 60;
      } catch {
        // not a pino line: keep it
      }
      if (level < 40) continue;
      if (level < 50) service.warnCount += 1;
      else service.errorCount += 1;
      service.problems.push(line.slice(0, 500));
      if (service.problems.length > 20) service.problems.shift();
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return service;
}

/** Polls GET /health until it answers 200. */
export async function waitForHealth(service: ServiceProcess, url: string, signal: AbortSignal): Promise<void> {
  const client = createHttpClient(url, 1);
  try {
    for (;;) {
      if (service.exitCode() !== undefined) throw new Error(`${service.name} exited (${service.exitCode()}): ${service.problems.join('\n')}`);
      const ok = await client.request('GET', '/health').then((r) => r.status === 200, () => false);
      if (ok) return;
      await pause(50, signal, `${service.name} /health`);
    }
  } finally {
    client.close();
  }
}

/**
 * Waits until `count` consumers are registered. The worker logs "worker started" only at info
 * level, which the bench turns off (per-task info lines would cost CPU), so readiness is read from
 * the broker instead: a worker subscribes to its queues last, after its thread pool is up.
 */
export async function waitForConsumers(check: () => Promise<number>, count: number, workers: ServiceProcess[], signal: AbortSignal): Promise<void> {
  for (;;) {
    const dead = workers.find((w) => w.exitCode() !== undefined);
    if (dead) throw new Error(`${dead.name} exited (${dead.exitCode()}): ${dead.problems.join('\n')}`);
    if ((await check()) >= count) return;
    await pause(50, signal, 'workers to start consuming');
  }
}

export interface ProcSample {
  /** utime + stime of all the process's threads, in clock ticks */
  cpuTicks: number;
  /** utime + stime of the main thread alone (the event loop; tid = pid) */
  mainThreadTicks: number;
  /** peak resident set size so far, KiB */
  vmHwmKb: number;
  vmRssKb: number;
}

export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const cpuTicks = statTicks(`/proc/${pid}/stat`);
    const mainThreadTicks = statTicks(`/proc/${pid}/task/${pid}/stat`);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { cpuTicks, mainThreadTicks, vmHwmKb: kb('VmHWM'), vmRssKb: kb('VmRSS') };
  } catch {
    return undefined; // gone, or not ours to read
  }
}

function statTicks(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  return Number(fields[11]) + Number(fields[12]); // fields 14 and 15: utime, stime
}

/** Busy and total ticks of the whole machine (/proc/stat "cpu" line). */
export function sampleMachine(): { busyTicks: number; totalTicks: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((sum, v) => sum + v, 0); // user..steal; guest is already in user
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  return { busyTicks: total - idle, totalTicks: total };
}

/** The pid of a single running program (RabbitMQ's beam.smp, redis-server), if exactly one runs. */
export function findPid(program: string): number | undefined {
  try {
    const pids = execFileSync('pidof', [program], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    return pids.length === 1 ? pids[0] : undefined;
  } catch {
    return undefined;
  }
}
