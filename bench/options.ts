import { parseArgs } from 'node:util';

/** Fixed shape of the end-to-end load (not knobs, so runs stay comparable). */
export const BATCH_PARALLEL = 4;
export const SINGLE_IN_FLIGHT = 64;

export interface Knobs {
  /** tasks per end-to-end run (and messages for the broker ceiling unless --ceiling-n) */
  n: number;
  ceilingN: number;
  /** WORKER_CONCURRENCY of each worker process; unset: the service's own default */
  concurrency: number | undefined;
  /** WORKER_PREFETCH of each worker process; unset: the service's own default */
  prefetch: number | undefined;
  /** WORKER_THREADS of each worker process; unset: the service's own default */
  threads: number | undefined;
  workers: number;
  payloadBytes: number;
  batchSize: number;
  clients: number;
  durationSeconds: number;
  roundTrips: number;
  phaseTimeoutSeconds: number;
}

export const USAGE = `usage: make bench ARGS="[options]"   (or: npx tsx bench/run.ts [options])

  --n N               tasks per end-to-end run, batch and single each (default 20000)
  --ceiling-n N       messages for the broker ceiling (default: --n)
  --concurrency N     WORKER_CONCURRENCY per worker process (default: the service's default)
  --prefetch N        WORKER_PREFETCH per worker process (default: the service's default)
  --threads N         WORKER_THREADS per worker process (default: the service's default)
  --workers N         worker processes (default 1)
  --payload-bytes N   size of each task's input (default 0: no input)
  --batch-size N      tasks per POST /tasks/batch (default 500 = BATCH_MAX_SIZE)
  --clients N         concurrent clients for the ingest phase (default 32)
  --duration S        seconds of the ingest phase (default 10)
  --round-trips N     sequential round trips (default 500)
  --phase-timeout S   a phase still running after S seconds is reported "timed out" (default 120)`;

export function parseKnobs(argv: string[]): Knobs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      'ceiling-n': { type: 'string' },
      concurrency: { type: 'string' },
      prefetch: { type: 'string' },
      threads: { type: 'string' },
      workers: { type: 'string' },
      'payload-bytes': { type: 'string' },
      'batch-size': { type: 'string' },
      clients: { type: 'string' },
      duration: { type: 'string' },
      'round-trips': { type: 'string' },
      'phase-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const int = (name: keyof typeof values, fallback: number, min = 1): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, not "${String(raw)}"`);
    return value;
  };
  const n = int('n', 20_000);
  return {
    n,
    ceilingN: int('ceiling-n', n),
    concurrency: values.concurrency === undefined ? undefined : int('concurrency', 0),
    prefetch: values.prefetch === undefined ? undefined : int('prefetch', 0),
    threads: values.threads === undefined ? undefined : int('threads', 0),
    workers: int('workers', 1),
    payloadBytes: int('payload-bytes', 0, 0),
    batchSize: int('batch-size', 500),
    clients: int('clients', 32),
    durationSeconds: int('duration', 10),
    roundTrips: int('round-trips', 500),
    phaseTimeoutSeconds: int('phase-timeout', 120),
  };
}
