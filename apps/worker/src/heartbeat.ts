import type { Logger } from '@celerity/core';
import type { WorkerHeartbeat, WorkerRegistry } from '@celerity/store';
import { runPeriodically } from './periodic.js';

/**
 * Writes the worker's heartbeat to Redis every interval (and at once on beatNow(), after a control
 * request changed its state), so GET /workers shows it; a worker that stops beating is shown lost.
 * close() takes it off the list: it stopped cleanly.
 */
export function startHeartbeat(deps: { registry: WorkerRegistry; intervalSeconds: number; describe: () => WorkerHeartbeat; log: Logger }) {
  const beat = () => deps.registry.beat(deps.describe());
  const onError = (err: unknown) => deps.log.warn({ err }, 'heartbeat not written; retrying at the next one');
  const periodic = runPeriodically(deps.intervalSeconds * 1000, beat, onError);
  return {
    ready: beat().catch(onError),
    beatNow: () => beat().catch(onError),
    async close() {
      await periodic.close();
      const { id } = deps.describe();
      await deps.registry.remove(id).catch((err: unknown) => deps.log.warn({ err }, 'could not take this worker off the list; it shows as lost until it expires'));
    },
  };
}
