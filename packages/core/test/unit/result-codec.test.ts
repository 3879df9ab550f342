import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { decodeResult, encodeResult, STORED_RESULT_MAX_BYTES } from '../../src/result-codec.js';

describe('result codec', () => {
  it.each([
    [{ rows: 42, nested: { list: [1, 'two', true, null] } }],
    [[1, 2, 3]],
    ['héllo wörld — 日本語 🚀'],
    [{ emoji: '🧪', text: 'Ünïcödé' }],
    [0],
    [false],
    [null],
  ])('round-trips %j', (value) => {
    expect(decodeResult(encodeResult(value))).toEqual(value);
  });

  it('stores undefined as null', () => {
    expect(decodeResult(encodeResult(undefined))).toBeNull();
  });

  it('starts with the gzip magic bytes', () => {
    const blob = encodeResult({ a: 1 });
    expect(blob[0]).toBe(0x1f);
    expect(blob[1]).toBe(0x8b);
  });

  it('compresses a 100 KB repetitive result to under 10 KB', () => {
    const value = { rows: Array.from({ length: 2_500 }, (_, i) => ({ id: i % 10, status: 'succeeded', note: 'same text' })) };
    const json = Buffer.byteLength(JSON.stringify(value));
    expect(json).toBeGreaterThan(100_000);
    const blob = encodeResult(value);
    expect(blob.length).toBeLessThan(10_000);
    expect(decodeResult(blob)).toEqual(value);
  });

  it('writes a small result as a stored gzip block that any gunzip reads, with a checked CRC', () => {
    const blob = encodeResult({ a: 'ü' });
    expect(gunzipSync(blob).toString('utf8')).toBe('{"a":"ü"}');
    expect(blob.length).toBe(10 + 5 + Buffer.byteLength('{"a":"ü"}') + 8);
    const corrupt = Buffer.from(blob);
    corrupt.writeUInt8(corrupt.readUInt8(16) ^ 0xff, 16); // a byte of the JSON: the CRC no longer matches
    expect(() => gunzipSync(corrupt)).toThrow();
  });

  it('compresses a result from the stored limit on', () => {
    const atLimit = 'x'.repeat(STORED_RESULT_MAX_BYTES - 2); // JSON adds the two quotes
    const over = 'x'.repeat(STORED_RESULT_MAX_BYTES);
    expect(encodeResult(atLimit).length).toBeGreaterThan(STORED_RESULT_MAX_BYTES);
    expect(encodeResult(over).length).toBeLessThan(100);
    expect(decodeResult(encodeResult(atLimit))).toBe(atLimit);
    expect(decodeResult(encodeResult(over))).toBe(over);
  });
});
