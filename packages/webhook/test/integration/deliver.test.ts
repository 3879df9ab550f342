import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWebhook, type WebhookPayload } from '@celerity/sdk';
import { deliverWebhook, type DeliveryRequest } from '../../src/index.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  port: number;
  url: string;
  requests: Received[];
  connections: number;
  close(): Promise<void>;
}

const open: Receiver[] = [];

/** A real HTTP server on 127.0.0.1; `handle` answers after the whole request body has arrived. */
async function startReceiver(handle: (req: Received, res: ServerResponse, raw: IncomingMessage) => void): Promise<Receiver> {
  const requests: Received[] = [];
  const server: Server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const received = { method: raw.method ?? '', path: raw.url ?? '', headers: raw.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      handle(received, res, raw);
    });
  });
  const receiver: Receiver = {
    port: 0,
    url: '',
    requests,
    connections: 0,
    async close() {
      server.closeAllConnections();
      server.close();
      if (server.listening) await once(server, 'close');
    },
  };
  server.on('connection', () => receiver.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  open.push(receiver);
  return receiver;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

const SECRET = 'whsec_integration';
const payload: WebhookPayload = {
  id: '0190a6c4-7b1e-7c3d-8e4f-5a6b7c8d9e0f',
  task: 'reports.build',
  status: 'succeeded',
  result: { rows: 12 },
  error: null,
  attempts: 1,
  finished_at: '2025-01-01T00:00:00.000Z',
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  metadata: { tenant: 'acme' },
};

function delivery(url: string, overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return {
    url,
    body: JSON.stringify(payload),
    secret: SECRET,
    eventId: 'evt-0190a6c4',
    traceId: payload.trace_id,
    timeoutMs: 5_000,
    maxResponseBytes: 64 * 1024,
    allowPrivate: true,
    ...overrides,
  };
}

describe('deliverWebhook against a real receiver', () => {
  it('POSTs a signed callback that the receiver verifies with @celerity/sdk', async () => {
    let verified: ReturnType<typeof verifyWebhook> | undefined;
    const receiver = await startReceiver((req, res) => {
      verified = verifyWebhook(SECRET, req.headers, req.body);
      res.writeHead(204).end();
    });

    const attempt = await deliverWebhook(delivery(`${receiver.url}/hooks/celerity?x=1`));

    expect(attempt).toMatchObject({ delivered: true, status: 204, error: null });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
    expect(receiver.requests).toHaveLength(1);
    const [req] = receiver.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/hooks/celerity?x=1');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['user-agent']).toBe('Celerity-Webhook/0.1');
    expect(req!.headers['celerity-event-id']).toBe('evt-0190a6c4');
    expect(req!.headers['x-trace-id']).toBe(payload.trace_id);
    expect(verified).toMatchObject({ eventId: 'evt-0190a6c4', payload });
  });

  it('sends no signature when no secret is set', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(200).end('ok'));
    const attempt = await deliverWebhook(delivery(receiver.url, { secret: undefined }));
    expect(attempt.delivered).toBe(true);
    expect(receiver.requests[0]!.headers['celerity-signature']).toBeUndefined();
  });

  it('reports a 500 as not delivered, with the status', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('boom'));
    const attempt = await deliverWebhook(delivery(receiver.url));
    expect(attempt).toMatchObject({ delivered: false, status: 500, error: 'HTTP 500' });
  });

  it('does not follow a redirect: a 302 is not delivered and its target is never requested', async () => {
    const receiver = await startReceiver((req, res) => {
      if (req.path === '/hook') res.writeHead(302, { location: `${receiver.url}/elsewhere` }).end();
      else res.writeHead(204).end();
    });
    const attempt = await deliverWebhook(delivery(`${receiver.url}/hook`));
    expect(attempt.delivered).toBe(false);
    expect(attempt.status).toBe(302);
    expect(attempt.error).toMatch(/^HTTP 302/);
    // give a (wrongly) followed redirect time to arrive
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hook']);
  });

  it('gives up on a receiver that never answers, within about timeoutMs', async () => {
    const receiver = await startReceiver(() => {
      /* never answers */
    });
    const attempt = await deliverWebhook(delivery(receiver.url, { timeoutMs: 300 }));
    expect(attempt).toMatchObject({ delivered: false, status: null, error: 'timed out after 300 ms' });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(250);
    expect(attempt.durationMs).toBeLessThan(2_000);
  });

  it('reads a bounded part of an endless response body, then drops the connection', async () => {
    let written = 0;
    let closed = false;
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.on('close', () => (closed = true));
      const pump = () => {
        while (!closed) {
          written += chunk.length;
          // a safety stop, never reached when reading is bounded
          if (written > 512 * 1024 * 1024) {
            res.end();
            return;
          }
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });

    const attempt = await deliverWebhook(delivery(receiver.url, { maxResponseBytes: 32 * 1024, timeoutMs: 10_000 }));

    expect(attempt).toMatchObject({ delivered: true, status: 200, error: null });
    expect(attempt.durationMs).toBeLessThan(5_000);
    await expect.poll(() => closed).toBe(true);
    // what was written before the close is what fit in socket buffers, far from the safety stop
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('bounds the body of a failure response too', async () => {
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(503);
      const timer = setInterval(() => res.write(Buffer.alloc(8 * 1024, 'y')), 5);
      res.on('close', () => clearInterval(timer));
    });
    const attempt = await deliverWebhook(delivery(receiver.url, { maxResponseBytes: 16 * 1024, timeoutMs: 10_000 }));
    expect(attempt).toMatchObject({ delivered: false, status: 503, error: 'HTTP 503' });
    expect(attempt.durationMs).toBeLessThan(5_000);
  });

  it('reports a refused connection without throwing', async () => {
    const receiver = await startReceiver((_req, res) => res.end());
    const url = receiver.url;
    await receiver.close();
    const attempt = await deliverWebhook(delivery(url));
    expect(attempt).toMatchObject({ delivered: false, status: null });
    expect(attempt.error).toMatch(/ECONNREFUSED/);
  });

  it('without allowPrivate refuses 127.0.0.1 before connecting', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    const attempt = await deliverWebhook(delivery(`${receiver.url}/hook`, { allowPrivate: false }));
    expect(attempt).toMatchObject({ delivered: false, status: null });
    expect(attempt.error).toBe('callback_url host 127.0.0.1 is a loopback address, not a public one (set WEBHOOK_ALLOW_PRIVATE=true to allow)');
    expect(receiver.requests).toHaveLength(0);
    expect(receiver.connections).toBe(0);
  });

  it('without allowPrivate refuses a name that resolves to loopback at connect time (http://localhost)', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    const attempt = await deliverWebhook(delivery(`http://localhost:${receiver.port}/hook`, { allowPrivate: false }));
    expect(attempt).toMatchObject({ delivered: false, status: null });
    expect(attempt.error).toMatch(/callback_url host localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(receiver.requests).toHaveLength(0);
    expect(receiver.connections).toBe(0);
  });

  it('with allowPrivate delivers to http://localhost', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    const attempt = await deliverWebhook(delivery(`http://localhost:${receiver.port}/hook`, { allowPrivate: true }));
    expect(attempt).toMatchObject({ delivered: true, status: 204 });
    expect(receiver.requests).toHaveLength(1);
  });

  it('returns refusals of the URL itself instead of throwing', async () => {
    expect(await deliverWebhook(delivery('ftp://127.0.0.1/x'))).toMatchObject({ delivered: false, status: null, error: expect.stringMatching(/http or https/) });
    expect(await deliverWebhook(delivery('not a url'))).toMatchObject({ delivered: false, status: null });
  });
});
