import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../harness.js';

let h: ApiHarness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await h?.close();
  h = undefined;
});

async function listen(env: Record<string, string>): Promise<number> {
  h = await startApiHarness({ API_KEYS: 'k1', ...env });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  return (h.app.server.address() as { port: number }).port;
}

async function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<unknown> }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  return { socket, received: () => text, closed };
}

describe('HTTP server limits', () => {
  it('answers 408 and closes a request whose body trickles in longer than HTTP_REQUEST_TIMEOUT', async () => {
    const port = await listen({ HTTP_REQUEST_TIMEOUT: '1' });
    const client = await open(port);
    client.socket.write('POST /tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: k1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const trickle = setInterval(() => client.socket.write(' '), 200); // a byte every 200 ms: never idle
    const started = Date.now();
    try {
      await client.closed;
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes connections past HTTP_MAX_CONNECTIONS as they arrive, and takes new ones once some are gone', async () => {
    const port = await listen({ HTTP_MAX_CONNECTIONS: '2' });
    const first = await open(port);
    await open(port);
    await new Promise((r) => setTimeout(r, 100)); // the server has counted both
    const third = await open(port);
    await third.closed;
    expect(third.received()).toBe('');

    first.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await open(port);
    again.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await again.closed;
    expect(again.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('takes its timeouts from the one config, and closes a quiet keep-alive connection after HTTP_KEEP_ALIVE_TIMEOUT', async () => {
    const port = await listen({ HTTP_CONNECTION_TIMEOUT: '20', HTTP_KEEP_ALIVE_TIMEOUT: '3', HTTP_REQUEST_TIMEOUT: '7' });
    expect(h!.app.server.timeout).toBe(20_000);
    expect(h!.app.server.keepAliveTimeout).toBe(3_000);
    expect(h!.app.server.requestTimeout).toBe(7_000);
    // a keep-alive connection that goes quiet after its response is closed after HTTP_KEEP_ALIVE_TIMEOUT
    const client = await open(port);
    client.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    await client.closed;
    expect(Date.now() - started).toBeGreaterThan(2_500);
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
  });
});
