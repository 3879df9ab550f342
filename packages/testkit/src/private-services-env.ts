import { Redis } from 'ioredis';
import { runRabbitmqctl, type PrivateServicesInfo } from './private-services.js';

export const PRIVATE_SERVICES_ENV = 'CELERITY_PRIVATE_SERVICES';

export interface PrivateServiceControls {
  info: PrivateServicesInfo;
  /** rabbitmqctl on the private node only (stop_app, start_app, eval …) */
  rabbitmqctl(args: string[], timeoutMs?: number): Promise<string>;
  /** CLIENT PAUSE on the private Redis */
  pauseRedis(ms: number): Promise<void>;
}

/**
 * The controls a fault test disturbs its services with. Throws outside the `faults` project, so a
 * fault test run any other way fails instead of stopping a shared broker.
 */
export function privateServices(): PrivateServiceControls {
  const raw = process.env[PRIVATE_SERVICES_ENV];
  if (!raw) throw new Error('fault tests run only in the vitest project "faults" (make test-faults), against private RabbitMQ and Redis that it starts');
  const info = JSON.parse(raw) as PrivateServicesInfo;
  return {
    info,
    rabbitmqctl: (args, timeoutMs) => runRabbitmqctl(info.rabbitmqctl, args, timeoutMs),
    async pauseRedis(ms) {
      const redis = new Redis(info.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        await redis.call('CLIENT', 'PAUSE', String(ms), 'ALL');
      } finally {
        redis.disconnect();
      }
    },
  };
}
