import { crc32, gunzipSync, gzipSync } from 'node:zlib';

/**
 * Below this many bytes of JSON a result is stored as a gzip member with one *stored* (uncompressed)
 * deflate block: still gzip, read by any gunzip, but made without a zlib stream. A zlib stream costs
 * a few hundred KiB of native memory and tens of microseconds to set up, more than a no-op task's
 * whole run; and a result this small does not shrink anyway (gzip's own 18 bytes of framing).
 */
export const STORED_RESULT_MAX_BYTES = 1_024;

/** gzip header (RFC 1952): magic, deflate, no flags, no mtime, no extra flags, OS unknown */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]);

/**
 * Results are stored as gzip-compressed JSON (DESIGN.md "Guarantees"). Encoding happens in the
 * execution thread that produced the result, decoding in whoever reads the record.
 */
export function encodeResult(value: unknown): Buffer {
  const json = JSON.stringify(value ?? null);
  if (json.length > STORED_RESULT_MAX_BYTES) return gzipSync(json, { level: 1 });
  return storedGzip(Buffer.from(json, 'utf8'));
}

export function decodeResult(blob: Uint8Array): unknown {
  const buffer = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  return JSON.parse((readStoredGzip(buffer) ?? gunzipSync(buffer)).toString('utf8'));
}

/** A gzip member holding `data` (≤ 65 535 bytes) in one final stored deflate block (RFC 1951 §3.2.4). */
function storedGzip(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(GZIP_HEADER.length + 5 + data.length + 8);
  GZIP_HEADER.copy(out, 0);
  let at = GZIP_HEADER.length;
  out[at++] = 0x01; // BFINAL = 1, BTYPE = 00 (stored)
  out.writeUInt16LE(data.length, at);
  out.writeUInt16LE(~data.length & 0xffff, at + 2);
  at += 4;
  data.copy(out, at);
  at += data.length;
  out.writeUInt32LE(crc32(data), at);
  out.writeUInt32LE(data.length, at + 4);
  return out;
}

/** The data of a member written by storedGzip (checked against its CRC), or undefined for any other gzip. */
function readStoredGzip(blob: Buffer): Buffer | undefined {
  const start = GZIP_HEADER.length + 5;
  if (blob.length < start + 8 || blob[0] !== 0x1f || blob[1] !== 0x8b || blob[2] !== 0x08 || blob[3] !== 0x00 || blob[10] !== 0x01) return undefined;
  const length = blob.readUInt16LE(11);
  if ((~length & 0xffff) !== blob.readUInt16LE(13) || blob.length !== start + length + 8) return undefined;
  const data = blob.subarray(start, start + length);
  return crc32(data) === blob.readUInt32LE(start + length) ? data : undefined;
}
