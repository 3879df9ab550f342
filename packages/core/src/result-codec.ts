import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * Results are stored as gzip-compressed JSON (DESIGN.md "Guarantees"). Encoding happens in the
 * execution thread that produced the result, decoding in whoever reads the record.
 */
export function encodeResult(value: unknown): Buffer {
  return gzipSync(JSON.stringify(value ?? null), { level: 1 });
}

export function decodeResult(blob: Uint8Array): unknown {
  return JSON.parse(gunzipSync(blob).toString('utf8'));
}
