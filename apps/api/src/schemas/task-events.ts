import { z } from 'zod';
import { EVENT_ID } from '../events/task-feed.js';

/** Wire shapes of the task event streams (SSE and WebSocket). */

const EventId = z.string().max(64).regex(EVENT_ID, 'an event id: the number sent in `id:`, or 0');

export const TaskEventsHeaders = z.object({
  'last-event-id': EventId.optional().describe('Resume after this event id: the missed events are sent instead of the state'),
});

const AccessToken = z.string().max(100_000).describe('A watch token (POST /events/tokens) instead of an API key, for browsers');

export const TaskEventsQuery = z
  .object({
    last_event_id: EventId.optional().describe('Same as the Last-Event-ID header, for clients that cannot set headers (the header wins)'),
    access_token: AccessToken.optional(),
  })
  .strict();

export const WatchTokenBody = z
  .object({
    task_ids: z.array(z.string().max(100)).min(1).max(1_000).describe('The tasks the token may follow'),
    ttl_seconds: z.int().min(1).max(86_400).default(900).describe('How long the token is valid (default 15 min)'),
  })
  .strict()
  .meta({ id: 'WatchTokenRequest' });

export const WatchTokenSchema = z
  .object({ token: z.string(), expires_at: z.string(), task_ids: z.array(z.string()) })
  .meta({ id: 'WatchToken', description: 'Pass as `?access_token=` to GET /tasks/{id}/events or the WebSocket' });

export const SSE_DESCRIPTION = [
  'A `text/event-stream` of the task\'s changes; works from any API replica.',
  '',
  '- First `event: state`, `id:` the newest event id, `data:` the task record. With `Last-Event-ID` (header or `last_event_id`) the missed events are sent instead.',
  '- Then `event: status` (`{task_id, type, status, at, attempts, error?, eta?}`) and `event: progress` (`{task_id, type, at, percent, message, data}`), each with its `id:`, oldest first, each once.',
  '- A final status (succeeded, failed, timed_out, cancelled) carries the finished record (result decoded) as `data.record`, and the stream ends after it.',
  '- A `: heartbeat` comment line keeps idle connections open.',
  '- 204 when resuming after the final status: the client has seen everything (EventSource stops reconnecting).',
  '- Auth: an API key, or for browsers (EventSource sends no headers) `?access_token=` from POST /events/tokens, which covers only the task ids it names (403 otherwise).',
  '- Errors before the stream starts are problem+json: 400 malformed id or Last-Event-ID, 404 unknown or expired task, 429 when the caller (API key or token) holds EVENTS_MAX_STREAMS streams or follows EVENTS_MAX_SUBSCRIPTIONS tasks in this process.',
  '- The stream ends with `event: error` (`{code: "TOKEN_EXPIRED"|"CREDENTIAL_REVOKED", message}`, no `id:`) when its access_token expires or its API key is rotated out.',
].join('\n');

export const WS_DESCRIPTION = [
  'Upgrade to a WebSocket (send `X-API-Key` or `Authorization: Bearer` with the upgrade request, or from a browser `?access_token=` from POST /events/tokens, which allows only the task ids it names: others are answered with a FORBIDDEN error frame): one connection follows many tasks. JSON text frames.',
  '',
  '- Client: `{"type":"subscribe","ids":["<task id>", ...]}`, `{"type":"unsubscribe","ids":[...]}`.',
  '- Server, for each subscribed id: `{"type":"state","task_id","event_id","record"}`, or `{"type":"error","task_id","code":"TASK_NOT_FOUND"|"MALFORMED_TASK_ID"|"TOO_MANY_SUBSCRIPTIONS","message"}`.',
  '- Then `{"type":"status"|"progress","task_id","event_id",...event fields}`, each once, in order per task; a final status carries `record` and ends that subscription.',
  '- Unsubscribe is answered `{"type":"unsubscribed","ids":[...]}`. A frame that is not understood is answered `{"type":"error","code":"BAD_MESSAGE","message"}`; the connection stays open.',
  '- A plain GET (without Upgrade) is answered 426; 429 when the caller already holds EVENTS_MAX_STREAMS streams. Subscriptions count against EVENTS_MAX_SUBSCRIPTIONS per caller over all its streams.',
  '- When the access_token expires or the API key is rotated out: `{"type":"error","code":"TOKEN_EXPIRED"|"CREDENTIAL_REVOKED","message"}`, then close code 1008.',
].join('\n');

const TaskIds = z.array(z.string().max(100)).min(1).max(1_000);

export const ClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), ids: TaskIds }).strict(),
  z.object({ type: z.literal('unsubscribe'), ids: TaskIds }).strict(),
]);
export type ClientMessage = z.output<typeof ClientMessage>;
