import { assertTaskId, TooManyRequestsError, UnauthorizedError } from '@celerity/core';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { openSse, type SseWriter } from '../events/sse.js';
import type { RevokeReason, StreamRegistry } from '../events/stream-registry.js';
import { openTaskFeed, type FeedItem } from '../events/task-feed.js';
import { SSE_DESCRIPTION, TaskEventsHeaders, TaskEventsQuery, WatchTokenBody, WatchTokenSchema } from '../schemas/task-events.js';
import type { Credentials } from '../credentials.js';
import { problems, TaskIdParams } from '../schemas/tasks.js';

export const DEFAULT_HEARTBEAT_MS = 15_000;

function write(sse: SseWriter, taskId: string, item: FeedItem): void {
  if (item.kind === 'state') sse.send(item.id, 'state', item.record);
  else sse.send(item.id, item.event.type, { task_id: taskId, ...item.event, ...(item.record !== undefined ? { record: item.record } : {}) });
}

/** GET /tasks/:id/events: Server-Sent Events of one task's status and progress changes; POST /events/tokens. */
export const REVOKE_MESSAGES: Record<RevokeReason, string> = {
  TOKEN_EXPIRED: 'the access_token expired; ask for a new one (POST /events/tokens)',
  CREDENTIAL_REVOKED: 'the API key or access_token of this stream is no longer valid',
};

export function taskEventRoutes(deps: ApiDeps, credentials: Credentials, registry: StreamRegistry): FastifyPluginAsyncZod {
  const heartbeatMs = deps.eventsHeartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  return async (app) => {
    app.post(
      '/events/tokens',
      {
        schema: {
          tags: ['events'],
          summary: 'Issue a watch token for browsers',
          description:
            'Call it from your backend with an API key; give the token to the browser, which passes it as `?access_token=` to GET /tasks/{id}/events (EventSource) or the WebSocket. It opens only those two, only for the task ids named, until it expires. Signed with a key derived from API_KEYS: every replica accepts it, and rotating the keys revokes it.',
          body: WatchTokenBody,
          response: { 201: WatchTokenSchema, ...problems(400, 401) },
        },
      },
      async (request, reply) => {
        const ids = [...new Set(request.body.task_ids)];
        for (const id of ids) assertTaskId(id);
        return reply.code(201).send({ ...credentials.watchTokens().issue(ids, request.body.ttl_seconds), task_ids: ids });
      },
    );

    // open streams never finish by themselves, so closing the app would wait for them forever
    const streams = new Set<SseWriter>();
    app.addHook('preClose', async () => {
      for (const sse of streams) sse.end({ closeConnection: true });
    });

    app.get(
      '/tasks/:id/events',
      {
        config: { access: 'watch' },
        schema: {
          tags: ['events'],
          summary: "Stream a task's status and progress changes (Server-Sent Events)",
          description: SSE_DESCRIPTION,
          params: TaskIdParams,
          headers: TaskEventsHeaders,
          querystring: TaskEventsQuery,
          response: {
            200: { description: 'text/event-stream (see above)', content: { 'text/event-stream': { schema: z.string() } } },
            204: z.null().describe('Resumed after the final status: nothing more will come'),
            ...problems(400, 401, 403, 404, 429, 503),
          },
        },
      },
      async (request, reply) => {
        const taskId = request.params.id;
        const after = request.headers['last-event-id'] ?? request.query.last_event_id;
        // the caller's stream and subscription limits, and the end of its credential (token expiry, rotation)
        let revoked: RevokeReason | undefined;
        let sse: SseWriter | undefined;
        const slot = registry.open(request, (reason) => {
          revoked = reason;
          if (!sse) return;
          sse.send(null, 'error', { code: reason, message: REVOKE_MESSAGES[reason] });
          sse.end();
        });
        if (!slot.subscribe()) {
          slot.release();
          throw new TooManyRequestsError('TOO_MANY_SUBSCRIPTIONS', `at most ${deps.config.EVENTS_MAX_SUBSCRIPTIONS} followed tasks per caller; close some streams first`, 5);
        }
        // everything that can fail with a problem+json happens here, before the stream starts
        let feed;
        try {
          feed = await openTaskFeed(deps.store, taskId, { resumeAfter: after, scope: request.watchScope });
          if (revoked) throw new UnauthorizedError(REVOKE_MESSAGES[revoked]);
        } catch (err) {
          await feed?.close();
          slot.release();
          throw err;
        }
        if (feed.ended && feed.initial.length === 0) {
          await feed.close();
          slot.release();
          return reply.code(204).send(null);
        }

        reply.hijack();
        if (request.raw.socket.destroyed) {
          await feed.close(); // the client left while the feed was opening
          slot.release();
          return;
        }
        const opened = feed;
        sse = openSse(reply.raw, {
          // the reply's headers so far (CORS among them), since a hijacked reply writes its own
          headers: { ...(reply.getHeaders() as Record<string, string>), 'x-trace-id': String(request.id) },
          heartbeatMs,
          onClose: () => {
            streams.delete(sse!);
            slot.release();
            void opened.close();
            request.log.debug({ task_id: taskId }, 'event stream closed');
          },
        });
        streams.add(sse);
        const writer = sse;
        feed.start(
          (item) => write(writer, taskId, item),
          () => writer.end(), // right after the final status
          { resyncMs: heartbeatMs },
        );
      },
    );
  };
}
