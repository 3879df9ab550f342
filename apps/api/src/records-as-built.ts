import type { FastifySerializerCompiler } from 'fastify';

/**
 * The serializer of the busiest routes (submit, batch submit, get a task): their bodies are task
 * records built field by field to TaskRecordSchema by the store (toRecord, createRecords) and
 * problem+json built by problem(), so they are written as built instead of being parsed by zod once
 * more on the way out, which cost a sixth of a submit's CPU. The response schemas still document
 * the routes, and a test holds every such body to its schema (tasks-api.test.ts).
 */
export const serializeAsBuilt: FastifySerializerCompiler<unknown> = () => (data) => JSON.stringify(data);
