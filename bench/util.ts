import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** A phase that ran out of time: reported as "timed out", never left hanging. */
export class PhaseTimeout extends Error {
  constructor(readonly what: string) {
    super(`timed out: ${what}`);
    this.name = 'PhaseTimeout';
  }
}

/** Throws PhaseTimeout once the phase's signal has fired. */
export function checkTime(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new PhaseTimeout(what);
}

/** Sleeps, but wakes (and throws PhaseTimeout) as soon as the phase's signal fires. */
export async function pause(ms: number, signal: AbortSignal, what: string): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
  checkTime(signal, what);
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: readonly number[]): { count: number; p50: number; p95: number; p99: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1);
  return { count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN, mean };
}

export const round = (value: number, digits = 2): number => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

/**
 * Minimal JSON-over-HTTP client on a keep-alive agent: cheaper per request than fetch, which
 * matters when the load generator shares two cores with everything it measures.
 */
export function createHttpClient(baseUrl: string, maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const base = new URL(baseUrl);
  return {
    request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            agent,
            host: base.hostname,
            port: base.port,
            method,
            path,
            headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
            timeout: 30_000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              try {
                resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T });
              } catch (err) {
                reject(new Error(`${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: err }));
              }
            });
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
    close(): void {
      agent.destroy();
    },
  };
}
export type HttpClient = ReturnType<typeof createHttpClient>;

/** The task input the e2e, ingest and round-trip phases send: none, or a string padding it to about `bytes`. */
export function taskInput(bytes: number): { input?: { pad: string } } {
  return bytes > 0 ? { input: { pad: 'x'.repeat(Math.max(0, bytes - 10)) } } : {};
}
