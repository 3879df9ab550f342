import { isIP } from 'node:net';
import { MAX_CALLBACK_URL_LENGTH } from '@celerity/core';
import { forbiddenRange } from './address-policy.js';
import { createCallbackDns, type ResolveHost } from './callback-dns.js';
import { CallbackUrlRefusedError, DnsUnavailableError, refusedAddress } from './errors.js';

/** Resolver answers that say "not now" rather than "no such name". */
const TEMPORARY_DNS_ERRORS = new Set(['EAI_AGAIN', 'ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED', 'EREFUSED', 'ECANCELLED']);

export { MAX_CALLBACK_URL_LENGTH };
/** The ports a callback may name unless configured otherwise (WEBHOOK_ALLOWED_PORTS). */
export const DEFAULT_CALLBACK_PORTS: readonly number[] = [80, 443];

export interface CheckCallbackUrlOptions {
  /** skip the address and port policy (local development, receivers on a private network) */
  allowPrivate: boolean;
  /** ports allowed on a checked URL (default 80 and 443); the scheme's default port counts as named */
  allowedPorts?: readonly number[];
  /** how names are resolved (default: a process-wide createCallbackDns with a 5 s deadline) */
  resolve?: ResolveHost;
}

let defaultResolve: ResolveHost | undefined;

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

/** `localhost` and `*.localhost` are loopback by definition (RFC 6761), whatever a DNS server says. */
const isLocalhostName = (host: string) => /(^|\.)localhost\.?$/i.test(host);

/**
 * Submit-time check of a task's callback_url; returns the parsed URL or throws
 * CallbackUrlRefusedError (or DnsUnavailableError when the resolver cannot answer in time). A name is
 * refused when ANY of its addresses is forbidden: which one the worker would connect to is not known
 * in advance. A port other than the allowed ones (80, 443) is refused, so callbacks cannot be used to
 * probe other services of a public host. With allowPrivate there is no address or port policy to
 * apply, so names are not resolved (a name only the worker's network knows is then accepted).
 */
export async function checkCallbackUrl(url: string, options: CheckCallbackUrlOptions): Promise<URL> {
  const parsed = parseCallbackUrl(url);
  if (options.allowPrivate) return parsed;
  assertAllowedLiteral(parsed, false);
  const host = parsed.hostname;
  if (isLocalhostName(host)) throw refusedAddress(host, '127.0.0.1', 'loopback');
  const allowedPorts = options.allowedPorts ?? DEFAULT_CALLBACK_PORTS;
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  if (!allowedPorts.includes(port)) {
    throw new CallbackUrlRefusedError(`callback_url port ${port} is not allowed; allowed: ${allowedPorts.join(', ')} (WEBHOOK_ALLOWED_PORTS)`);
  }
  if (ipLiteral(parsed) !== null) return parsed;

  let addresses: string[];
  try {
    const resolve = options.resolve ?? (defaultResolve ??= createCallbackDns({ timeoutMs: 5_000, concurrency: 16 }));
    addresses = await resolve(host);
  } catch (err) {
    if (err instanceof DnsUnavailableError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || TEMPORARY_DNS_ERRORS.has(code)) {
      throw new DnsUnavailableError(`could not resolve the callback_url host ${host} right now${typeof code === 'string' ? ` (${code})` : ''}; try again`, { cause: err });
    }
    throw new CallbackUrlRefusedError(`callback_url host ${host} does not resolve (${code})`, 'callback_url', { cause: err });
  }
  if (addresses.length === 0) throw new CallbackUrlRefusedError(`callback_url host ${host} does not resolve to any address`);
  for (const address of addresses) {
    const range = forbiddenRange(address);
    if (range !== null) throw refusedAddress(host, address, range);
  }
  return parsed;
}
