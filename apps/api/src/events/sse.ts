import type { ServerResponse } from 'node:http';

/** A client this far behind is cut off: it reconnects with Last-Event-ID and catches up from the event list. */
const MAX_BUFFERED_BYTES = 1 << 20;

export interface SseWriter {
  /** one event; `id` null for an event that is not a task event (it leaves Last-Event-ID as it was) */
  send(id: string | null, event: string, data: unknown): void;
  /** Ends the response; `closeConnection` also closes the socket once the end is written (shutdown). */
  end(options?: { closeConnection?: boolean }): void;
  readonly closed: boolean;
}

export interface SseOptions {
  /** extra response headers (a hijacked reply skips the app's onSend hooks) */
  headers: Record<string, string>;
  /** a comment line this often keeps proxies and load balancers from closing an idle stream */
  heartbeatMs: number;
  /** called once when the response is finished or the client has gone */
  onClose: () => void;
}

/** Writes a text/event-stream response on a raw Node response (the reply must be hijacked). */
export function openSse(res: ServerResponse, options: SseOptions): SseWriter {
  let closed = false;
  let ended = false;
  res.writeHead(200, {
    ...options.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no', // nginx would otherwise buffer the stream
  });
  res.flushHeaders(); // the client sees 200 even before the first event

  const write = (text: string) => {
    if (closed || ended) return;
    res.write(text);
    if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
  };
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs);
  res.once('close', () => {
    closed = true;
    clearInterval(heartbeat);
    options.onClose();
  });

  return {
    get closed() {
      return closed;
    },
    // JSON.stringify never emits a raw newline, so `data` stays one line
    send: (id, event, data) => write(`${id === null ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    end(options = {}) {
      clearInterval(heartbeat);
      if (closed || ended) return;
      ended = true;
      // an idle keep-alive connection would hold a closing server open until the client drops it
      res.end(options.closeConnection ? () => res.socket?.destroy() : undefined);
    },
  };
}
