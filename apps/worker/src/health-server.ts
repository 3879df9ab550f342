import { createServer } from 'node:http';
import type { Logger } from '@celerity/core';

/** How late a 100 ms timer may fire before the event loop counts as stuck. */
const STUCK_LOOP_MS = 5_000;

/**
 * GET /health for orchestrators (WORKER_HEALTH_PORT): 200 while the event loop turns and the broker
 * channel the worker consumes on is open, else 503, with the reasons. Nothing else is served.
 */
export async function startHealthServer(options: { port: number; host: string; isConsuming: () => boolean; log: Logger }) {
  let lastTickMs = Date.now();
  let worstLagMs = 0;
  const ticker = setInterval(() => {
    const now = Date.now();
    worstLagMs = Math.max(0, now - lastTickMs - 100);
    lastTickMs = now;
  }, 100);
  ticker.unref();

  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/health') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"not_found"}');
      return;
    }
    const consuming = options.isConsuming();
    const loopOk = worstLagMs < STUCK_LOOP_MS;
    const body = { status: consuming && loopOk ? 'ok' : 'unhealthy', broker: consuming ? 'consuming' : 'channel closed', event_loop_lag_ms: worstLagMs };
    response.writeHead(consuming && loopOk ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  options.log.info({ host: options.host, port }, 'worker health endpoint listening');
  return {
    port,
    async close() {
      clearInterval(ticker);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
