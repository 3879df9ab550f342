import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@celerity/core';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { PrioritySlots } from './priority-slots.js';

/**
 * One worker process's own metrics at GET /metrics (WORKER_METRICS_PORT): prom-client's process
 * and Node.js metrics (CPU, resident memory, heap, event-loop lag, ...) and its execution slots.
 * The task counters are the deployment's and come from the API's /metrics.
 */
export async function startMetricsServer(options: { host: string; port: number; worker: string; slots: PrioritySlots; concurrency: number; log: Logger }) {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: options.worker });
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'celerity_worker_slots', help: 'Tasks this worker runs at once (WORKER_CONCURRENCY)', registers: [registry] }).set(options.concurrency);
  new Gauge({
    name: 'celerity_worker_busy_slots',
    help: 'Execution slots running a task now',
    registers: [registry],
    collect() {
      this.set(options.slots.active);
    },
  });
  new Gauge({
    name: 'celerity_worker_waiting_deliveries',
    help: 'Prefetched deliveries waiting for a free slot',
    registers: [registry],
    collect() {
      this.set(options.slots.waiting);
    },
  });

  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        options.log.warn({ err }, 'worker metrics failed');
        response.writeHead(500).end();
      },
    );
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  options.log.info({ port, host: options.host }, 'worker metrics listening');
  return {
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
