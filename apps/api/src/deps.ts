import type { Broker } from '@celerity/broker';
import type { Env, Logger } from '@celerity/core';
import type { Producer } from '@celerity/producer';
import type { createRedis, TaskStore } from '@celerity/store';
import type { Credentials } from './credentials.js';

/** What the HTTP app needs; main.ts (startApi) builds it, tests pass real ones of their own. */
export interface ApiDeps {
  /** the environment settings (EnvSchema); the API reads its limits, keys and timeouts from here */
  config: Readonly<Env>;
  log: Logger;
  store: TaskStore;
  /** the Redis client of the store, for the rate-limit counters (without it they are per process) */
  redis?: ReturnType<typeof createRedis>;
  broker: Broker;
  producer: Producer;
  /** the accepted API keys, replaceable at run time (default: API_KEYS, fixed) */
  credentials?: Credentials;
  /** the queues this API declared (router.queues; default: the default topology); their sizes and consumers go into /metrics, /stats, /health/tasks */
  queues?: readonly string[];
  /** true once shutdown has begun: /ready answers 503 so load balancers stop sending traffic */
  isDraining?: () => boolean;
  /** the dashboard's built files (default: apps/ui/dist through the @celerity/ui package) */
  uiDir?: string;
  /** heartbeat of event streams: SSE comment lines, WebSocket pings, re-reading missed events (default 15 s) */
  eventsHeartbeatMs?: number;
}
