import type { Broker } from '@celerity/broker';
import { createLogger, EnvSchema } from '@celerity/core';
import type { Producer } from '@celerity/producer';
import type { TaskStore } from '@celerity/store';
import { buildApp } from './app.js';

/** The OpenAPI document, generated from the route schemas without touching RabbitMQ or Redis. */
export async function renderOpenApi(): Promise<string> {
  const app = await buildDocumentApp();
  const document = JSON.stringify(app.swagger(), null, 2) + '\n';
  await app.close();
  return document;
}

/** The app with every route and the docs, on stand-ins that throw if a route runs: for the document and /docs. */
export async function buildDocumentApp(): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const unused = new Proxy({}, { get: () => { throw new Error('not available while rendering the OpenAPI document'); } });
  // closing the app closes the store's event subscriber: the one thing the store may do here
  const store = Object.assign(Object.create(unused) as object, { events: { close: () => undefined } }) as TaskStore;
  const app = await buildApp({
    config: EnvSchema.parse({}), // the defaults: the document must not depend on the environment it is made in
    log: createLogger({ service: 'openapi', level: 'silent' }),
    store,
    broker: unused as Broker,
    producer: unused as Producer,
  });
  await app.ready();
  return app;
}
