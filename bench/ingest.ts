/**
 * (3) Ingest: POST /tasks at a fixed number of concurrent clients for a fixed time, with autocannon.
 * The workers keep running, so this is the API's rate while the rest of the system works too.
 */
import autocannon from 'autocannon';
import { checkTime, taskInput } from './util.js';

/** autocannon, stopped early (and reported as timed out) when the phase's signal fires. */
export function runAutocannon(options: autocannon.Options, signal: AbortSignal): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (err: unknown, result: autocannon.Result) => {
      signal.removeEventListener('abort', stop);
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(result);
    });
    const stop = (): void => instance.stop();
    signal.addEventListener('abort', stop, { once: true });
  });
}

export interface IngestOptions {
  apiUrl: string;
  clients: number;
  durationSeconds: number;
  payloadBytes: number;
  signal: AbortSignal;
}

export interface IngestResult {
  clients: number;
  durationSeconds: number;
  accepted: number;
  refused: number;
  errors: number;
  timeouts: number;
  /** 202 responses / duration */
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

export async function measureIngest(options: IngestOptions): Promise<IngestResult> {
  const result = await runAutocannon(
    {
      url: `${options.apiUrl}/tasks`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'demo.noop', ...taskInput(options.payloadBytes) }),
      connections: options.clients,
      duration: options.durationSeconds,
      timeout: 10,
    },
    options.signal,
  );
  checkTime(options.signal, 'ingest');
  const accepted = result['2xx'];
  return {
    clients: options.clients,
    durationSeconds: result.duration,
    accepted,
    refused: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    perSecond: accepted / result.duration,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
  };
}
