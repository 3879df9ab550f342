import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import WebSocket from 'ws';

const DEFAULT_WAIT_MS = 5_000;

/** One parsed SSE block: an event (id, event, data) or a comment line. */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: any;
  comment?: string;
}

/** A queue of arriving items that a test takes from in order, each wait bounded in time. */
class Inbox<T> {
  private items: T[] = [];
  private waiters: { resolve: (item: T) => void; reject: (err: Error) => void }[] = [];
  done = false;

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.items.push(item);
  }

  finish(): void {
    this.done = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('the stream ended'));
  }

  /** The next item, or a rejection after `timeoutMs` (or when the stream ends first). */
  next(timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.done) return Promise.reject(new Error('the stream ended'));
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        resolve: (value: T) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`nothing arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** What arrived but was not taken yet. */
  pending(): T[] {
    return [...this.items];
  }
}

export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  /** the next event, skipping comments */
  next(timeoutMs?: number): Promise<SseMessage>;
  /** the next block, comments included */
  nextBlock(timeoutMs?: number): Promise<SseMessage>;
  /** resolves when the server has ended the response */
  ended: Promise<void>;
  /** the body as text, for a response that is not a stream */
  text(): Promise<string>;
  /** disconnects, as a client that goes away */
  close(): void;
}

function parseBlock(block: string): SseMessage {
  const message: SseMessage = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) message.comment = line.slice(1).trim();
    else {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') message.id = value;
      else if (field === 'event') message.event = value;
      else if (field === 'data') message.data = JSON.parse(value);
    }
  }
  return message;
}

/**
 * GETs an SSE endpoint and parses the stream as it arrives. Each client has its own connection
 * (no agent), so close() is a real disconnect and no pooled spare connection outlives the test.
 */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false });
  const res = await new Promise<IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject));
  res.setEncoding('utf8');
  const inbox = new Inbox<SseMessage>();
  const streaming = res.statusCode === 200 && (res.headers['content-type'] ?? '').startsWith('text/event-stream');
  let body = '';
  const ended = new Promise<void>((resolve) => {
    res.on('data', (chunk: string) => {
      body += chunk;
      if (!streaming) return;
      for (let end = body.indexOf('\n\n'); end >= 0; end = body.indexOf('\n\n')) {
        inbox.push(parseBlock(body.slice(0, end)));
        body = body.slice(end + 2);
      }
    });
    res.once('close', () => {
      inbox.finish();
      resolve();
    });
  });
  req.on('error', () => undefined); // close() aborts it
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    async next(timeoutMs) {
      for (;;) {
        const message = await inbox.next(timeoutMs);
        if (message.comment === undefined) return message;
      }
    },
    nextBlock: (timeoutMs) => inbox.next(timeoutMs),
    ended,
    text: async () => {
      await ended;
      return body;
    },
    close: () => req.destroy(),
  };
}

export interface WsClient {
  socket: WebSocket;
  send(message: unknown): void;
  sendRaw(text: string): void;
  next(timeoutMs?: number): Promise<any>;
  /** frames that arrived but were not taken yet */
  pending(): any[];
  close(): Promise<void>;
}

/** A `ws` client that queues the JSON frames it receives. */
export async function openWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const socket = new WebSocket(url, { headers });
  const inbox = new Inbox<any>();
  socket.on('message', (data) => inbox.push(JSON.parse(String(data))));
  socket.on('close', () => inbox.finish());
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { statusCode: res.statusCode })));
  });
  return {
    socket,
    send: (message) => socket.send(JSON.stringify(message)),
    sendRaw: (text) => socket.send(text),
    next: (timeoutMs) => inbox.next(timeoutMs),
    pending: () => inbox.pending(),
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      }),
  };
}

/** Opens SSE and WebSocket clients and closes them all at once (call closeAll() in afterEach). */
export function eventClients() {
  const open: (SseClient | WsClient)[] = [];
  return {
    async sse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
      const client = await openSse(url, headers);
      open.push(client);
      return client;
    },
    async ws(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
      const client = await openWs(url, headers);
      open.push(client);
      return client;
    },
    /** the clients opened so far, oldest first */
    opened: (): readonly (SseClient | WsClient)[] => open,
    async closeAll(): Promise<void> {
      for (const client of open.splice(0)) await client.close();
    },
  };
}
