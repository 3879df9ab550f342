import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import amqp from 'amqplib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testAmqpUrl } from '@celerity/testkit';
import { socketOf, writeTurnsAtOnce } from '../../src/amqp-socket.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

/** A client socket connected to a local server that collects what it receives. */
async function socketPair(): Promise<{ client: Socket; received: () => string }> {
  let received = '';
  const server: Server = createServer((s) => s.on('data', (chunk: Buffer) => (received += chunk.toString())));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await once(client, 'connect');
  open.push({ close: () => client.destroy() }, { close: () => new Promise((resolve) => server.close(resolve)) });
  return { client, received: () => received };
}

describe('writeTurnsAtOnce', () => {
  it("sends one turn's writes as one writev, in order, and later turns' writes too", async () => {
    const { client, received } = await socketPair();
    writeTurnsAtOnce(client);
    const writev = vi.spyOn(client as unknown as { _writev: (...args: unknown[]) => void }, '_writev');
    const writeOne = vi.spyOn(client as unknown as { _write: (...args: unknown[]) => void }, '_write');

    for (let i = 0; i < 100; i++) client.write(`frame ${i};`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writev).toHaveBeenCalledTimes(1);
    expect(writeOne).not.toHaveBeenCalled();

    client.write('next turn;');
    const expected = `${Array.from({ length: 100 }, (_, i) => `frame ${i};`).join('')}next turn;`;
    for (let waited = 0; received() !== expected && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received()).toBe(expected);
  });
});

describe('socketOf', () => {
  it("finds the socket under a real amqplib connection (so an amqplib upgrade that moves it shows here)", async () => {
    const model = await amqp.connect(testAmqpUrl());
    open.push(model);
    const socket = socketOf(model);
    expect(socket).toBeDefined();
    expect(socket!.writable).toBe(true);
  });
});
