import { EVENT_ID_HEADER, SIGNATURE_HEADER, TRACE_ID_HEADER, signWebhook } from '@celerity/sdk';
import { Agent, request } from 'undici';
import { assertAllowedLiteral, parseCallbackUrl } from './callback-url.js';
import { CallbackUrlRefusedError } from './errors.js';
import { guardedLookup } from './guarded-lookup.js';

export const WEBHOOK_USER_AGENT = 'Celerity-Webhook/0.1';

export interface DeliveryRequest {
  url: string;
  /** the JSON payload, exactly as signed and sent */
  body: string;
  /** signs the request (Celerity-Signature) when set */
  secret: string | undefined;
  /** the same for every attempt of one callback, so the receiver can de-duplicate */
  eventId: string;
  traceId: string;
  /** bounds the whole attempt: connect, response headers and the (bounded) body read */
  timeoutMs: number;
  /** how much of the response body is read before the connection is dropped */
  maxResponseBytes: number;
  allowPrivate: boolean;
}

export interface DeliveryAttempt {
  delivered: boolean;
  /** the receiver's HTTP status, null when none arrived */
  status: number | null;
  error: string | null;
  durationMs: number;
}

// One connection pool per policy, shared by every delivery so keep-alive connections are reused.
// The guarded pool checks addresses inside the connection's own DNS lookup (see guardedLookup).
let guardedAgent: Agent | undefined;
let openAgent: Agent | undefined;
function agentFor(allowPrivate: boolean): Agent {
  if (allowPrivate) return (openAgent ??= new Agent());
  return (guardedAgent ??= new Agent({ connect: { lookup: guardedLookup } }));
}

/**
 * POSTs one callback. Never throws for the receiver's or the network's failures: they come back as
 * `delivered: false` with the reason, for the caller to retry or give up. Redirects are not
 * followed (a public URL could redirect to an internal one), so a 3xx is a failure like any non-2xx.
 */
export async function deliverWebhook(req: DeliveryRequest): Promise<DeliveryAttempt> {
  if (!(req.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${req.timeoutMs}`);
  if (!(req.maxResponseBytes >= 0)) throw new RangeError(`maxResponseBytes must be >= 0, got ${req.maxResponseBytes}`);

  const started = performance.now();
  const outcome = (delivered: boolean, status: number | null, error: string | null): DeliveryAttempt => ({
    delivered,
    status,
    error,
    durationMs: Math.round(performance.now() - started),
  });

  let url: URL;
  try {
    url = parseCallbackUrl(req.url);
    // The connection's lookup is skipped for IP literals, so they are checked here.
    assertAllowedLiteral(url, req.allowPrivate);
  } catch (err) {
    if (err instanceof CallbackUrlRefusedError) return outcome(false, null, err.message);
    throw err;
  }

  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': WEBHOOK_USER_AGENT,
    [EVENT_ID_HEADER]: req.eventId,
    [TRACE_ID_HEADER]: req.traceId,
  };
  // signed per attempt: a retry carries a fresh timestamp and so passes the receiver's tolerance
  if (req.secret) headers[SIGNATURE_HEADER] = signWebhook(req.secret, req.body);

  const signal = AbortSignal.timeout(req.timeoutMs);
  let status: number;
  try {
    const response = await request(url, {
      method: 'POST',
      headers,
      body: req.body,
      dispatcher: agentFor(req.allowPrivate),
      // one deadline for connect, headers and body alike
      signal,
    });
    status = response.statusCode;
    await discardBody(response.body, req.maxResponseBytes);
  } catch (err) {
    return outcome(false, null, signal.aborted ? `timed out after ${req.timeoutMs} ms` : describeError(err));
  }

  if (status >= 200 && status < 300) return outcome(true, status, null);
  if (status >= 300 && status < 400) return outcome(false, status, `HTTP ${status} (redirects are not followed)`);
  return outcome(false, status, `HTTP ${status}`);
}

/**
 * Reads and drops at most `limit` bytes, then destroys the stream: the status is all that counts,
 * and a receiver must not be able to make the worker read (or hold) an endless body. Reading a
 * small body to its end lets the connection be reused; destroying a large one frees the socket.
 * Errors while reading are ignored, since the status has already arrived.
 */
async function discardBody(body: AsyncIterable<Uint8Array> & { destroy(): unknown; destroyed?: boolean }, limit: number): Promise<void> {
  let seen = 0;
  try {
    if (limit > 0) {
      for await (const chunk of body) {
        seen += chunk.byteLength;
        if (seen >= limit) break;
      }
    }
  } catch {
    // the receiver's problem, not the delivery's
  } finally {
    if (!body.destroyed) body.destroy();
  }
}

function describeError(err: unknown): string {
  if (err instanceof CallbackUrlRefusedError) return err.message;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}${typeof code === 'string' && !err.message.includes(code) ? ` (${code})` : ''}`;
  }
  return String(err);
}
