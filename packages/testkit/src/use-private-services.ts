/**
 * vitest setupFile of the `faults` project: points this test file's process at the private services
 * (so testAmqpUrl(), testRedisUrl(), testConfig() and spawned processes use them) and enables
 * privateServices() for the disturbing steps.
 */
import { inject } from 'vitest';
import { PRIVATE_SERVICES_ENV } from './private-services-env.js';

const info = inject('celerityPrivateServices');
process.env.RABBITMQ_URL = info.amqpUrl;
process.env.REDIS_URL = info.redisUrl;
process.env[PRIVATE_SERVICES_ENV] = JSON.stringify(info);
