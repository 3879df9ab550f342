/**
 * vitest globalSetup of the `faults` project: starts the private RabbitMQ and Redis once for the run
 * (private-services.ts), hands their URLs to the test files (use-private-services.ts), removes them
 * at the end. RABBITMQ_URL / REDIS_URL are ignored here on purpose: fault tests never touch a
 * broker the user already runs.
 */
import type { TestProject } from 'vitest/node';
import { startPrivateServices, type PrivateServicesInfo } from './private-services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    celerityPrivateServices: PrivateServicesInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = performance.now();
  const services = await startPrivateServices();
  process.stderr.write(`[faults] private RabbitMQ and Redis (${services.info.how}) up in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  project.provide('celerityPrivateServices', services.info);
  return () => services.stop();
}
