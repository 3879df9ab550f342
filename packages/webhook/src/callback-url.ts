import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { forbiddenRange } from './address-policy.js';
import { CallbackUrlRefusedError, DnsUnavailableError, refusedAddress } from './errors.js';

/** Resolver answers that say "not now" rather than "no such name". */
const TEMPORARY_DNS_ERRORS = new Set(['EAI_AGAIN', 'ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED', 'EREFUSED']);

export const MAX_CALLBACK_URL_LENGTH = 2048;

/** The shape of `dns.promises.lookup(host, { all: true })`, injectable for tests. */
export type LookupFn = (hostname: string, options: { all: true }) => Promise<Array<{ address: string; family: number }>>;

export interface CheckCallbackUrlOptions {
  /** skip the address policy (local development, receivers on a private network) */
  allowPrivate: boolean;
  lookup?: LookupFn;
}

const systemLookup: LookupFn = (hostname, options) => dns.lookup(hostname, options);

/**
 * The checks that need no network: length, scheme, no credentials. Credentials are refused because
 * they would be stored with the task and sent on every retry; a signed callback needs none.
 */
export function parseCallbackUrl(raw: string): URL {
  if (raw.length > MAX_CALLBACK_URL_LENGTH) {
    throw new CallbackUrlRefusedError(`callback_url is ${raw.length} characters long; at most ${MAX_CALLBACK_URL_LENGTH} are allowed`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CallbackUrlRefusedError('callback_url is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CallbackUrlRefusedError(`callback_url must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new CallbackUrlRefusedError('callback_url must not contain a username or password; callbacks are signed instead');
  }
  return url;
}

/** The IP address a URL's hostname spells out (brackets of IPv6 removed), or null for a name. */
export function ipLiteral(url: URL): string | null {
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 ? null : host;
}

/**
 * Refuses an IP-literal host outside the public unicast space. Names are not checked here: at
 * delivery the connection's own lookup checks the address actually connected to.
 */
export function assertAllowedLiteral(url: URL, allowPrivate: boolean): void {
  const literal = ipLiteral(url);
  if (literal === null || allowPrivate) return;
  const range = forbiddenRange(literal);
  if (range !== null) throw refusedAddress(literal, literal, range);
}

/**
 * Submit-time check of a task's callback_url; returns the parsed URL or throws
 * CallbackUrlRefusedError. A name is refused when ANY of its addresses is forbidden: which one the
 * worker would connect to is not known in advance. With allowPrivate there is no address policy to
 * apply, so names are not resolved (a name only the worker's network knows is then accepted).
 */
export async function checkCallbackUrl(url: string, options: CheckCallbackUrlOptions): Promise<URL> {
  const parsed = parseCallbackUrl(url);
  assertAllowedLiteral(parsed, options.allowPrivate);
  if (options.allowPrivate || ipLiteral(parsed) !== null) return parsed;

  const host = parsed.hostname;
  let addresses: Array<{ address: string }>;
  try {
    addresses = await (options.lookup ?? systemLookup)(host, { all: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && TEMPORARY_DNS_ERRORS.has(code)) {
      throw new DnsUnavailableError(`could not resolve the callback_url host ${host} right now (${code}); try again`, { cause: err });
    }
    throw new CallbackUrlRefusedError(`callback_url host ${host} does not resolve${typeof code === 'string' ? ` (${code})` : ''}`, 'callback_url', { cause: err });
  }
  if (addresses.length === 0) throw new CallbackUrlRefusedError(`callback_url host ${host} does not resolve to any address`);
  for (const { address } of addresses) {
    const range = forbiddenRange(address);
    if (range !== null) throw refusedAddress(host, address, range);
  }
  return parsed;
}
