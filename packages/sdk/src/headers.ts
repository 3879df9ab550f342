/** The header that carries `t=<unix seconds>,v1=<hex HMAC-SHA256>` (several `v1=` while a secret is rotated). */
export const SIGNATURE_HEADER = 'Celerity-Signature';
/** Stable per callback: the same value on every retry of one delivery, so receivers can de-duplicate. */
export const EVENT_ID_HEADER = 'Celerity-Event-Id';
/** The trace id of the task, for joining the receiver's logs with Celerity's. */
export const TRACE_ID_HEADER = 'X-Trace-Id';

/** Anything with a case-insensitive `get`, such as the fetch API's `Headers`. */
export interface HeadersLike {
  get(name: string): string | null;
}

/** Node's `IncomingHttpHeaders` (lowercase keys) or any plain object of header values. */
export type HeaderRecord = Record<string, string | string[] | undefined>;

/**
 * Every value of one header, whatever the container. Plain objects are searched case-insensitively
 * because frameworks differ: Node lowercases keys, hand-built objects often do not.
 */
export function headerValues(headers: HeadersLike | HeaderRecord, name: string): string[] {
  if (typeof headers.get === 'function') {
    const value = (headers as HeadersLike).get(name);
    return value === null ? [] : [value];
  }
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers as HeaderRecord)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    if (Array.isArray(value)) values.push(...value);
    else values.push(value);
  }
  return values;
}
