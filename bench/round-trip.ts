/**
 * (4) Round trip at low load, by polling: POST one demo.noop task, then GET /tasks/:id about every
 * millisecond until it is final; one task at a time. Client-side time, plus the server's own
 * created_at → finished_at read from the records afterwards.
 */
import type { Redis } from 'ioredis';
import { checkTime, createHttpClient, sleep, summarize, taskInput } from './util.js';

export interface RoundTripOptions {
  apiUrl: string;
  rounds: number;
  payloadBytes: number;
  /** pause between two polls of the same task */
  pollIntervalMs: number;
  redis: Redis;
  taskKey: (id: string) => string;
  signal: AbortSignal;
}

type Summary = ReturnType<typeof summarize>;

export interface RoundTripResult {
  rounds: number;
  completed: number;
  notSucceeded: number;
  pollIntervalMs: number;
  /** client side: POST sent → GET returned a final status */
  clientMs: Summary;
  /** client side: POST sent → 202 received */
  submitMs: Summary;
  pollsPerRound: number;
  /** server side, from the records (millisecond timestamps) */
  serverMs: { createdToFinished: Summary; createdToStarted: Summary; startedToFinished: Summary };
}

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'expired']);

export async function measureRoundTrip(options: RoundTripOptions): Promise<RoundTripResult> {
  const client = createHttpClient(options.apiUrl, 1);
  const body = { task: 'demo.noop', ...taskInput(options.payloadBytes) };
  const roundTrips: number[] = [];
  const submits: number[] = [];
  const ids: string[] = [];
  let polls = 0;
  let notSucceeded = 0;
  try {
    for (let i = 0; i < options.rounds; i += 1) {
      checkTime(options.signal, `round trip ${i + 1} of ${options.rounds}`);
      const started = performance.now();
      const submitted = await client.request<{ id: string; detail?: string }>('POST', '/tasks', body);
      if (submitted.status !== 202) throw new Error(`POST /tasks answered ${submitted.status}: ${submitted.body.detail ?? ''}`);
      submits.push(performance.now() - started);
      const { id } = submitted.body;
      ids.push(id);
      for (;;) {
        const record = await client.request<{ status: string }>('GET', `/tasks/${id}`);
        polls += 1;
        if (FINAL.has(record.body.status)) {
          if (record.body.status !== 'succeeded') notSucceeded += 1;
          break;
        }
        checkTime(options.signal, `round trip ${i + 1}: task ${id} still ${record.body.status}`);
        await sleep(options.pollIntervalMs);
      }
      roundTrips.push(performance.now() - started);
    }
  } finally {
    client.close();
  }

  const pipeline = options.redis.pipeline();
  for (const id of ids) pipeline.hmget(options.taskKey(id), 'created_at', 'started_at', 'finished_at');
  const rows = (await pipeline.exec()) ?? [];
  const createdToFinished: number[] = [];
  const createdToStarted: number[] = [];
  const startedToFinished: number[] = [];
  for (const row of rows) {
    const [created, started, finished] = ((row[1] ?? []) as (string | null)[]).map((s) => Date.parse(s ?? ''));
    if (![created, started, finished].every(Number.isFinite)) continue;
    createdToFinished.push(finished! - created!);
    createdToStarted.push(started! - created!);
    startedToFinished.push(finished! - started!);
  }
  return {
    rounds: options.rounds,
    completed: roundTrips.length,
    notSucceeded,
    pollIntervalMs: options.pollIntervalMs,
    clientMs: summarize(roundTrips),
    submitMs: summarize(submits),
    pollsPerRound: polls / Math.max(1, roundTrips.length),
    serverMs: { createdToFinished: summarize(createdToFinished), createdToStarted: summarize(createdToStarted), startedToFinished: summarize(startedToFinished) },
  };
}
