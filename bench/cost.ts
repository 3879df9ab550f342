/**
 * (5) Cost: CPU seconds per 1 000 tasks for each process (utime + stime from /proc/<pid>/stat,
 * all threads), for RabbitMQ and Redis too when they run on this machine, and the whole machine's
 * busy time so the CPU nobody here accounts for is visible (other users of the 2 cores).
 */
import { CLK_TCK, findPid, sampleMachine, sampleProcess } from './processes.js';

export interface Measured {
  name: string;
  pid: number;
}

export interface CpuSample {
  at: number;
  ticks: Map<number, number>;
  mainThreadTicks: Map<number, number>;
  benchMicros: number;
  machine: { busyTicks: number; totalTicks: number };
}

export interface CpuFigure {
  cpuSeconds: number;
  perThousandTasks: number;
}

export interface Cost {
  tasks: number;
  seconds: number;
  /** mainThreadCpuSeconds: the event loop alone; the rest is GC helpers, libuv and (worker) execution threads */
  api: CpuFigure & { mainThreadCpuSeconds: number };
  /** all worker processes together */
  workers: CpuFigure & { mainThreadCpuSeconds: number; perProcess: number[] };
  rabbitmq: CpuFigure | null;
  redis: CpuFigure | null;
  /** this process: load generators, polling */
  bench: CpuFigure;
  /** average busy cores over the window, and the busy CPU seconds not accounted for above */
  machine: { busyCores: number; cores: number; unaccountedCpuSeconds: number };
}

/** `api` and `workers` are absent while only the broker runs (the ceiling): their figures are then NaN. */
export function createCostMeter(api: Measured | undefined, workers: readonly Measured[]) {
  const rabbitPid = findPid('beam.smp');
  const redisPid = findPid('redis-server');
  const pids = [api?.pid, ...workers.map((w) => w.pid), rabbitPid, redisPid].filter((p): p is number => p !== undefined);

  function sample(): CpuSample {
    const ticks = new Map<number, number>();
    const mainThreadTicks = new Map<number, number>();
    for (const pid of pids) {
      const s = sampleProcess(pid);
      if (s) ticks.set(pid, s.cpuTicks);
      if (s) mainThreadTicks.set(pid, s.mainThreadTicks);
    }
    const usage = process.cpuUsage();
    return { at: performance.now(), ticks, mainThreadTicks, benchMicros: usage.user + usage.system, machine: sampleMachine() };
  }

  function between(before: CpuSample, after: CpuSample, tasks: number): Cost {
    const seconds = (after.at - before.at) / 1000;
    const figure = (cpuSeconds: number): CpuFigure => ({ cpuSeconds, perThousandTasks: (cpuSeconds / tasks) * 1000 });
    const cpuOf = (pid: number | undefined, kind: 'ticks' | 'mainThreadTicks' = 'ticks'): number | undefined => {
      if (pid === undefined) return undefined;
      const a = after[kind].get(pid);
      const b = before[kind].get(pid);
      return a === undefined || b === undefined ? undefined : (a - b) / CLK_TCK;
    };
    const mainThreads = (list: readonly Measured[]): number => list.reduce((sum, p) => sum + (cpuOf(p.pid, 'mainThreadTicks') ?? Number.NaN), 0);
    const apiCpu = cpuOf(api?.pid) ?? Number.NaN;
    const perWorker = workers.map((w) => cpuOf(w.pid) ?? Number.NaN);
    const workersCpu = perWorker.reduce((sum, v) => sum + v, 0);
    const rabbitCpu = cpuOf(rabbitPid);
    const redisCpu = cpuOf(redisPid);
    const benchCpu = (after.benchMicros - before.benchMicros) / 1e6;
    const busy = (after.machine.busyTicks - before.machine.busyTicks) / CLK_TCK;
    const cores = (after.machine.totalTicks - before.machine.totalTicks) / CLK_TCK / seconds;
    return {
      tasks,
      seconds,
      api: { ...figure(apiCpu), mainThreadCpuSeconds: api ? mainThreads([api]) : Number.NaN },
      workers: { ...figure(workersCpu), mainThreadCpuSeconds: mainThreads(workers), perProcess: perWorker },
      rabbitmq: rabbitCpu === undefined ? null : figure(rabbitCpu),
      redis: redisCpu === undefined ? null : figure(redisCpu),
      bench: figure(benchCpu),
      machine: {
        busyCores: busy / seconds,
        cores: Math.round(cores),
        unaccountedCpuSeconds: busy - (api ? apiCpu : 0) - workersCpu - (rabbitCpu ?? 0) - (redisCpu ?? 0) - benchCpu,
      },
    };
  }

  return { sample, between, found: { rabbitmq: rabbitPid !== undefined, redis: redisPid !== undefined } };
}
export type CostMeter = ReturnType<typeof createCostMeter>;

/** Peak RSS so far (VmHWM) and current RSS, MiB. */
export function memoryOf(processes: readonly Measured[]): { name: string; pid: number; peakRssMiB: number; rssMiB: number }[] {
  return processes.map((p) => {
    const s = sampleProcess(p.pid);
    return { name: p.name, pid: p.pid, peakRssMiB: (s?.vmHwmKb ?? Number.NaN) / 1024, rssMiB: (s?.vmRssKb ?? Number.NaN) / 1024 };
  });
}
