import { AppError } from '@celerity/core';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { WebSocket } from '@fastify/websocket';
import type { ApiDeps } from '../deps.js';
import type { StreamRegistry, StreamSlot } from '../events/stream-registry.js';
import { openTaskFeed, type FeedItem, type TaskFeed } from '../events/task-feed.js';
import { problem, problemInstance, sendProblem } from '../http-errors.js';
import { ClientMessage, WS_DESCRIPTION } from '../schemas/task-events.js';
import { problems } from '../schemas/tasks.js';
import { DEFAULT_HEARTBEAT_MS, REVOKE_MESSAGES } from './task-events.js';

export const WS_PATH = '/tasks/events/ws';
/** WebSocket close code for a stream the server ended because its credential ended (RFC 6455: policy violation) */
const CLOSE_POLICY = 1008;
/** A client this far behind is cut off; it reconnects and subscribes again for a fresh state. */
const MAX_BUFFERED_BYTES = 4 << 20;
const DEAD_AFTER_MIN_MS = 30_000;

interface Subscription {
  feed?: TaskFeed;
  /** unsubscribed (or re-subscribed) while its feed was still opening */
  dropped: boolean;
}

function itemFrame(taskId: string, item: FeedItem): object {
  if (item.kind === 'state') return { type: 'state', task_id: taskId, event_id: item.id, record: item.record };
  const { type, ...fields } = item.event;
  return { type, task_id: taskId, event_id: item.id, ...fields, ...(item.record !== undefined ? { record: item.record } : {}) };
}

/** GET /tasks/events/ws: one WebSocket follows many tasks (protocol in WS_DESCRIPTION). */
export function taskEventWsRoutes(deps: ApiDeps, registry: StreamRegistry): FastifyPluginAsyncZod {
  const limits = {
    maxSubscriptions: deps.config.EVENTS_MAX_SUBSCRIPTIONS,
    heartbeatMs: deps.eventsHeartbeatMs ?? DEFAULT_HEARTBEAT_MS,
  };
  return async (app) => {
    app.route({
      method: 'GET',
      url: WS_PATH,
      config: { access: 'watch' },
      schema: {
        // not an operation in the document: Swagger UI's "Try it out" cannot open a WebSocket (info.description names it)
        hide: true,
        tags: ['events'],
        summary: 'Follow many tasks over one WebSocket',
        description: WS_DESCRIPTION,
        response: { 101: z.null().describe('Switching Protocols'), ...problems(401, 426, 429) },
      },
      // over the caller's stream limit: a 429 before the upgrade
      preHandler: async (request) => registry.assertRoom(request),
      // without an Upgrade header the request reaches this plain handler
      handler: async (request, reply) =>
        sendProblem(
          reply.header('upgrade', 'websocket'),
          problem(426, 'UPGRADE_REQUIRED', `${WS_PATH} speaks WebSocket only; GET /tasks/{id}/events streams one task over HTTP`, {
            instance: problemInstance(request),
            trace_id: String(request.id),
          }),
        ),
      wsHandler: (socket, request) => serveSocket(socket, deps, limits, registry, request),
    });
  };
}

function serveSocket(socket: WebSocket, deps: ApiDeps, limits: { maxSubscriptions: number; heartbeatMs: number }, registry: StreamRegistry, request: FastifyRequest): void {
  const log: FastifyBaseLogger = request.log;
  /** the task ids a watch token allows, null with an API key (or auth off) */
  const scope = request.watchScope;
  const subscriptions = new Map<string, Subscription>();

  let slot: StreamSlot;
  try {
    slot = registry.open(request, (reason) => {
      send({ type: 'error', code: reason, message: REVOKE_MESSAGES[reason] });
      socket.close(CLOSE_POLICY, reason);
    });
  } catch (err) {
    // another upgrade of the same caller took the last slot after the preHandler looked
    socket.send(JSON.stringify({ type: 'error', code: (err as AppError).code, message: (err as Error).message }));
    socket.close(CLOSE_POLICY, 'TOO_MANY_STREAMS');
    return;
  }

  const send = (frame: object) => {
    if (socket.readyState !== socket.OPEN) return;
    socket.send(JSON.stringify(frame));
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) socket.terminate();
  };
  const error = (code: string, message: string, taskId?: string) => send({ type: 'error', ...(taskId ? { task_id: taskId } : {}), code, message });

  const drop = (taskId: string) => {
    const sub = subscriptions.get(taskId);
    if (!sub) return;
    subscriptions.delete(taskId);
    slot.unsubscribe();
    sub.dropped = true;
    void sub.feed?.close();
  };

  const subscribe = async (taskId: string) => {
    if (subscriptions.has(taskId)) drop(taskId); // subscribing again starts over with a fresh state
    if (!slot.subscribe()) {
      return error('TOO_MANY_SUBSCRIPTIONS', `at most ${limits.maxSubscriptions} followed tasks per caller; unsubscribe some first`, taskId);
    }
    const sub: Subscription = { dropped: false };
    subscriptions.set(taskId, sub); // holds the slot while the feed opens
    let feed: TaskFeed;
    try {
      feed = await openTaskFeed(deps.store, taskId, { scope });
    } catch (err) {
      if (subscriptions.get(taskId) === sub) {
        subscriptions.delete(taskId);
        slot.unsubscribe();
      }
      if (sub.dropped) return;
      if (err instanceof AppError) return error(err.code, err.message, taskId);
      log.error({ err, task_id: taskId }, 'subscribe failed');
      return error('INTERNAL', 'internal error', taskId);
    }
    if (sub.dropped) {
      await feed.close(); // unsubscribed while it was opening
      return;
    }
    sub.feed = feed;
    feed.start(
      (item) => send(itemFrame(taskId, item)),
      () => {
        // a finished task never changes again: its subscription ends after the final status
        if (subscriptions.get(taskId) === sub) {
          subscriptions.delete(taskId);
          slot.unsubscribe();
        }
        void feed.close();
      },
      // no timer of its own: the connection's heartbeat resyncs every feed (a subscription stays cheap)
    );
  };

  socket.on('message', (data, isBinary) => {
    if (isBinary) return error('BAD_MESSAGE', 'send JSON text frames');
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(data));
    } catch {
      return error('BAD_MESSAGE', 'not JSON');
    }
    const message = ClientMessage.safeParse(parsed);
    if (!message.success) {
      const detail = message.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ');
      return error('BAD_MESSAGE', `expected {"type":"subscribe"|"unsubscribe","ids":[...]}: ${detail}`);
    }
    const ids = [...new Set(message.data.ids)];
    if (message.data.type === 'subscribe') for (const id of ids) subscribe(id).catch((err: unknown) => log.error({ err, task_id: id }, 'subscribe failed'));
    else {
      for (const id of ids) drop(id);
      send({ type: 'unsubscribed', ids });
    }
  });

  // a client that stops answering pings (a dead network path) is cut off, which frees its watches;
  // the floor keeps a short heartbeat from cutting off a client that is merely busy
  const deadAfterMs = Math.max(2 * limits.heartbeatMs, DEAD_AFTER_MIN_MS);
  let lastPong = Date.now();
  socket.on('pong', () => (lastPong = Date.now()));
  const ping = setInterval(() => {
    if (Date.now() - lastPong > deadAfterMs) return socket.terminate();
    socket.ping();
    for (const sub of subscriptions.values()) sub.feed?.resync();
  }, limits.heartbeatMs);

  socket.on('close', () => {
    clearInterval(ping);
    for (const taskId of [...subscriptions.keys()]) drop(taskId);
    slot.release();
  });
}
