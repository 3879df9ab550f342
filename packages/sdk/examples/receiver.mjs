// @ts-check
// A minimal Celerity webhook receiver: plain node:http, no framework.
//
//   WEBHOOK_SECRET=... PORT=4000 node examples/receiver.mjs
//
// It verifies each callback against the raw body, drops repeats by Celerity-Event-Id, logs the
// payload and answers 204; a request that fails verification gets 400 and is not acted on.
import { createServer } from 'node:http';
import { EVENT_ID_HEADER, verifyWebhook, WebhookVerificationError } from '@celerity/sdk';

const secret = process.env.WEBHOOK_SECRET ?? '';
if (secret === '') {
  console.error('WEBHOOK_SECRET is required (the same value the Celerity worker signs with)');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 4000);

/**
 * Callbacks are retried until one attempt gets a 2xx, so the same event can arrive more than once.
 * In memory here; a real receiver keeps handled ids in its database, with an expiry.
 * @type {Set<string>}
 */
const seen = new Set();

/** The callback body is small JSON; refuse anything much larger than a payload can be. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * @param {import('node:http').IncomingMessage} req
 * @returns {Promise<Buffer | null>} the exact bytes received, or null when over MAX_BODY_BYTES
 */
async function readRawBody(req) {
  /** @type {Buffer[]} */
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
async function handle(req, res) {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  const body = await readRawBody(req);
  if (body === null) {
    res.writeHead(413).end();
    return;
  }

  let verified;
  try {
    verified = verifyWebhook(secret, req.headers, body);
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    console.warn(`refused a callback: ${err.reason}: ${err.message}`);
    res.writeHead(400, { 'content-type': 'text/plain' }).end(err.reason);
    return;
  }

  const eventId = verified.eventId;
  if (eventId !== undefined && seen.has(eventId)) {
    console.log(`duplicate ${EVENT_ID_HEADER} ${eventId}: already handled`);
    res.writeHead(204).end();
    return;
  }
  if (eventId !== undefined) seen.add(eventId);

  const payload = /** @type {import('@celerity/sdk').WebhookPayload} */ (verified.payload);
  console.log(`task ${payload.id} (${payload.task}) ${payload.status} after ${payload.attempts} attempt(s)`, payload);
  res.writeHead(204).end();
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    // a 5xx makes Celerity retry later, with the same event id
    console.error('failed to handle a callback', err);
    if (res.headersSent) res.destroy();
    else res.writeHead(500).end();
  });
});

server.listen(port, () => console.log(`listening for Celerity webhooks on http://localhost:${port}`));
