import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  TRACE_ID_HEADER,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookPayload,
  type WebhookVerificationFailure,
} from '../../src/index.js';

const SECRET = 'whsec_test_0123456789';
const payload: WebhookPayload = {
  id: '0190a6c4-7b1e-7c3d-8e4f-5a6b7c8d9e0f',
  task: 'emails.send',
  status: 'succeeded',
  result: { sent: 3, note: 'héllo ✓' },
  error: null,
  attempts: 1,
  finished_at: '2025-01-01T00:00:00.000Z',
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  metadata: null,
};
const body = JSON.stringify(payload);
const now = () => Math.floor(Date.now() / 1000);

function reasonOf(fn: () => unknown): WebhookVerificationFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return (err as WebhookVerificationError).reason;
  }
  throw new Error('expected verifyWebhook to throw');
}

describe('signWebhook', () => {
  it('signs "<t>.<body>" with HMAC-SHA256, hex, in the documented header format', () => {
    const header = signWebhook(SECRET, body, 1_700_000_000);
    const hex = createHmac('sha256', SECRET).update(`1700000000.${body}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${hex}`);
  });

  it('gives the same signature for a string and its UTF-8 bytes', () => {
    expect(signWebhook(SECRET, new TextEncoder().encode(body), 42)).toBe(signWebhook(SECRET, body, 42));
  });

  it('uses the current time by default', () => {
    const t = Number(/^t=(\d+),/.exec(signWebhook(SECRET, body))![1]);
    expect(Math.abs(t - now())).toBeLessThanOrEqual(1);
  });

  it('refuses an empty secret and a non-integer timestamp', () => {
    expect(() => signWebhook('', body)).toThrow(TypeError);
    expect(() => signWebhook(SECRET, body, 1.5)).toThrow(TypeError);
  });

  it('treats an empty secret or a NaN tolerance on the receiving side as a programming error', () => {
    const headers = { 'celerity-signature': signWebhook(SECRET, body) };
    expect(() => verifyWebhook('', headers, body)).toThrow(TypeError);
    expect(() => verifyWebhook(SECRET, headers, body, Number.NaN)).toThrow(TypeError);
  });
});

describe('verifyWebhook', () => {
  it('round-trips: returns the parsed payload, timestamp and event id', () => {
    const t = now();
    const verified = verifyWebhook(SECRET, { 'celerity-signature': signWebhook(SECRET, body, t), 'celerity-event-id': 'evt-1' }, body);
    expect(verified).toEqual({ eventId: 'evt-1', timestamp: t, payload });
  });

  it('accepts the raw body as bytes', () => {
    const bytes = Buffer.from(body);
    expect(verifyWebhook(SECRET, { 'celerity-signature': signWebhook(SECRET, bytes) }, bytes).payload).toEqual(payload);
  });

  it('reads a fetch Headers object and a plain object with any key case alike', () => {
    const signature = signWebhook(SECRET, body);
    const fromHeaders = verifyWebhook(SECRET, new Headers({ [SIGNATURE_HEADER]: signature, [EVENT_ID_HEADER]: 'evt-2' }), body);
    const fromLower = verifyWebhook(SECRET, { 'celerity-signature': signature, 'celerity-event-id': 'evt-2' }, body);
    const fromMixed = verifyWebhook(SECRET, { 'CELERITY-Signature': signature, 'Celerity-Event-Id': 'evt-2' }, body);
    expect(fromHeaders).toEqual(fromLower);
    expect(fromMixed).toEqual(fromLower);
    expect(fromLower.eventId).toBe('evt-2');
  });

  it('leaves eventId undefined when the header is absent', () => {
    expect(verifyWebhook(SECRET, { 'celerity-signature': signWebhook(SECRET, body) }, body).eventId).toBeUndefined();
  });

  it('refuses a tampered body', () => {
    const signature = signWebhook(SECRET, body);
    const tampered = body.replace('"attempts":1', '"attempts":2');
    expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': signature }, tampered))).toBe('signature_mismatch');
  });

  it('refuses a signature made with another secret', () => {
    const signature = signWebhook('another-secret', body);
    expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': signature }, body))).toBe('signature_mismatch');
  });

  it('refuses a signature whose timestamp was changed', () => {
    const [, v1] = signWebhook(SECRET, body, now() - 10).split(',');
    expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': `t=${now()},${v1}` }, body))).toBe('signature_mismatch');
  });

  it('refuses an expired or future timestamp, and accepts one inside the tolerance', () => {
    const old = signWebhook(SECRET, body, now() - 301);
    const future = signWebhook(SECRET, body, now() + 301);
    expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': old }, body))).toBe('timestamp_out_of_tolerance');
    expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': future }, body))).toBe('timestamp_out_of_tolerance');
    expect(verifyWebhook(SECRET, { 'celerity-signature': signWebhook(SECRET, body, now() - 250) }, body).payload).toEqual(payload);
    // a wider tolerance accepts the old one
    expect(verifyWebhook(SECRET, { 'celerity-signature': old }, body, 600).payload).toEqual(payload);
  });

  it('accepts any of several v1 entries (secret rotation)', () => {
    const t = now();
    const [, withOld] = signWebhook('old-secret', body, t).split(',');
    const [, withNew] = signWebhook(SECRET, body, t).split(',');
    const header = `t=${t},${withOld},${withNew}`;
    expect(verifyWebhook(SECRET, { 'celerity-signature': header }, body).payload).toEqual(payload);
    expect(verifyWebhook('old-secret', { 'celerity-signature': header }, body).payload).toEqual(payload);
    expect(reasonOf(() => verifyWebhook('third-secret', { 'celerity-signature': header }, body))).toBe('signature_mismatch');
  });

  it('joins a header sent more than once (string[] from Node)', () => {
    const t = now();
    const [, withOld] = signWebhook('old-secret', body, t).split(',');
    const [, withNew] = signWebhook(SECRET, body, t).split(',');
    expect(verifyWebhook(SECRET, { 'celerity-signature': [`t=${t},${withOld}`, withNew!] }, body).timestamp).toBe(t);
  });

  it('ignores unknown signature schemes next to v1', () => {
    const header = `${signWebhook(SECRET, body)},v0=abc`;
    expect(verifyWebhook(SECRET, { 'celerity-signature': header }, body).payload).toEqual(payload);
  });

  it('reports a missing header', () => {
    expect(reasonOf(() => verifyWebhook(SECRET, {}, body))).toBe('missing_signature');
    expect(reasonOf(() => verifyWebhook(SECRET, new Headers(), body))).toBe('missing_signature');
    expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': '' }, body))).toBe('missing_signature');
    expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': undefined }, body))).toBe('missing_signature');
  });

  it('reports a malformed header', () => {
    const v1 = `v1=${'a'.repeat(64)}`;
    for (const header of ['garbage', `t=abc,${v1}`, v1, `t=${now()}`, `t=${now()},v1=xyz`, `t=${now()},t=${now()},${v1}`, `t=-5,${v1}`]) {
      expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': header }, body)), header).toBe('malformed_signature');
    }
  });

  it('reports a body that is authentic but not JSON', () => {
    const text = 'not json';
    expect(reasonOf(() => verifyWebhook(SECRET, { 'celerity-signature': signWebhook(SECRET, text) }, text))).toBe('invalid_json');
  });

  it('exports the header names', () => {
    expect([SIGNATURE_HEADER, EVENT_ID_HEADER, TRACE_ID_HEADER]).toEqual(['Celerity-Signature', 'Celerity-Event-Id', 'X-Trace-Id']);
  });
});
