import { createHmac, timingSafeEqual } from 'node:crypto';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, headerValues, type HeaderRecord, type HeadersLike } from './headers.js';

/** How far a signature's timestamp may be from the receiver's clock, either way, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookVerificationFailure =
  | 'missing_signature'
  | 'malformed_signature'
  | 'timestamp_out_of_tolerance'
  | 'signature_mismatch'
  | 'invalid_json';

/** Thrown by `verifyWebhook`; answer the request with a 4xx and do not act on it. */
export class WebhookVerificationError extends Error {
  constructor(
    readonly reason: WebhookVerificationFailure,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export interface VerifiedWebhook {
  /** the `Celerity-Event-Id` header: the same on every retry of one callback */
  eventId: string | undefined;
  /** the signed timestamp, unix seconds */
  timestamp: number;
  /** the parsed JSON body (a `WebhookPayload` for task callbacks) */
  payload: unknown;
}

/**
 * The `Celerity-Signature` header value for a body: `t=<unix seconds>,v1=<hex HMAC-SHA256>`, where
 * the MAC is keyed with `secret` over the bytes `"<t>." + rawBody`. Signing the timestamp with the
 * body is what makes a replayed old request detectable.
 */
export function signWebhook(
  secret: string,
  rawBody: string | Uint8Array,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError(`timestampSeconds must be a non-negative integer, got ${timestampSeconds}`);
  }
  return `t=${timestampSeconds},v1=${mac(secret, timestampSeconds, rawBody).toString('hex')}`;
}

/**
 * Checks a received callback and returns its parsed body. `rawBody` must be the exact bytes that
 * arrived: a body parsed and re-serialized by a framework will not match.
 */
export function verifyWebhook(
  secret: string,
  headers: HeadersLike | HeaderRecord,
  rawBody: string | Uint8Array,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): VerifiedWebhook {
  // NaN would make every timestamp pass the tolerance check below
  if (!(toleranceSeconds >= 0)) throw new TypeError(`toleranceSeconds must be >= 0, got ${toleranceSeconds}`);
  const header = headerValues(headers, SIGNATURE_HEADER).join(',');
  if (header.trim() === '') {
    throw new WebhookVerificationError('missing_signature', `the ${SIGNATURE_HEADER} header is missing`);
  }
  const { timestamp, signatures } = parseSignatureHeader(header);

  const expected = mac(secret, timestamp, rawBody);
  // Compare against every candidate without stopping early: during a secret rotation the sender
  // signs with both secrets, and any one matching is enough.
  let matched = false;
  for (const candidate of signatures) {
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) {
    throw new WebhookVerificationError('signature_mismatch', `no ${SIGNATURE_HEADER} v1 signature matches this body and secret`);
  }

  // Checked after the MAC so that only an authentic request learns that its timestamp is stale.
  const now = Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > toleranceSeconds) {
    throw new WebhookVerificationError(
      'timestamp_out_of_tolerance',
      `signature timestamp ${timestamp} is ${now - timestamp}s from now; at most ±${toleranceSeconds}s is accepted`,
    );
  }

  let payload: unknown;
  try {
    payload = JSON.parse(typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody));
  } catch {
    throw new WebhookVerificationError('invalid_json', 'the body is not valid JSON');
  }

  const eventId = headerValues(headers, EVENT_ID_HEADER)[0];
  return { eventId, timestamp, payload };
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** `t=` exactly once, at least one well-formed `v1=`; unknown schemes are skipped so new ones can be added. */
function parseSignatureHeader(header: string): { timestamp: number; signatures: Buffer[] } {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw malformed(`"${item}" is not key=value`);
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined) throw malformed('more than one t= entry');
      if (!/^\d{1,12}$/.test(value)) throw malformed(`t=${value} is not unix seconds`);
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) throw malformed('a v1= entry is not 64 hex digits');
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined) throw malformed('no t= entry');
  if (signatures.length === 0) throw malformed('no v1= entry');
  return { timestamp, signatures };
}

function malformed(detail: string): WebhookVerificationError {
  return new WebhookVerificationError('malformed_signature', `malformed ${SIGNATURE_HEADER} header: ${detail}`);
}

function mac(secret: string, timestampSeconds: number, rawBody: string | Uint8Array): Buffer {
  // An empty key would make every "signed" request trivially forgeable: a configuration mistake.
  if (typeof secret !== 'string' || secret === '') throw new TypeError('the webhook secret must be a non-empty string');
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestampSeconds}.`, 'utf8');
  if (typeof rawBody === 'string') hmac.update(rawBody, 'utf8');
  else hmac.update(rawBody);
  return hmac.digest();
}
