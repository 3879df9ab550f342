import { gunzipSync, gzipSync } from 'node:zlib';

/** Results are stored as gzip-compressed JSON (DESIGN.md "Guarantees"). */
export function encodeResult(value: unknown): Buffer {
  return gzipSync(JSON.stringify(value ?? null), { level: 1 });
}

export function decodeResult(blob: Buffer): unknown {
  return JSON.parse(gunzipSync(blob).toString('utf8'));
}
