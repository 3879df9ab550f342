import { describe, expect, it } from 'vitest';
import { retryAfterSeconds } from '../../src/errors.js';
import { readSse, type SseMessage } from '../../src/sse.js';

/** A body delivered in the chunks given, as a network would cut it. */
function body(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function read(chunks: string[]): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const message of readSse(body(chunks))) out.push(message);
  return out;
}

describe('readSse', () => {
  it('parses events split anywhere across chunks, with any line ending; skips comments', async () => {
    const text = 'id: 1\nevent: status\ndata: {"a":1}\n\n: heartbeat\n\nid: 2\r\nevent: progress\r\ndata: {"b":2}\r\n\r\nid: 3\revent: x\rdata: one\rdata: two\r\r';
    const whole = await read([text]);
    expect(whole).toEqual([
      { id: '1', event: 'status', data: '{"a":1}' },
      { id: '2', event: 'progress', data: '{"b":2}' },
      { id: '3', event: 'x', data: 'one\ntwo' },
    ]);
    // one byte at a time: a \r\n split between chunks is still one line end
    expect(await read([...text])).toEqual(whole);
  });

  it('drops an event cut off by the end of the stream, and defaults the event name to message', async () => {
    expect(await read(['data: whole\n\n', 'id: 9\nevent: status\ndata: {"cut'])).toEqual([{ id: undefined, event: 'message', data: 'whole' }]);
  });
});

describe('retryAfterSeconds', () => {
  it('reads seconds or an HTTP date', () => {
    expect(retryAfterSeconds('5')).toBe(5);
    expect(retryAfterSeconds(null)).toBeUndefined();
    expect(retryAfterSeconds('soon')).toBeUndefined();
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(retryAfterSeconds('Sun, 29 Nov 2026 12:00:30 GMT', now)).toBe(30);
    expect(retryAfterSeconds('Sun, 29 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });
});
