import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** resets every open connection; with `refuse`, new ones too until restore() */
  cut(refuse: boolean): void;
  /**
   * stops forwarding what clients send (it is dropped, unanswered): their commands stay in flight.
   * Follow it with cut(): the dropped bytes leave the open streams broken, so restore() is for new connections.
   */
  hold(): void;
  /** forwards again and accepts new connections */
  restore(): void;
  close(): void;
}

/** A TCP proxy on 127.0.0.1 in front of a local port, to cut or stall a client's connection on cue. */
export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  let refusing = false;
  let holding = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (!holding) upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    cut(refuse) {
      refusing = refuse;
      for (const s of sockets) s.destroy();
    },
    hold: () => void (holding = true),
    restore() {
      refusing = false;
      holding = false;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
