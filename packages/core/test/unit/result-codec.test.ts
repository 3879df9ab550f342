import { describe, expect, it } from 'vitest';
import { decodeResult, encodeResult } from '../../src/result-codec.js';

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
});
