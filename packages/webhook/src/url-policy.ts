/**
 * The submit-time part only (no HTTP client): what the producer imports, so the API process does
 * not load undici for a check that needs none.
 */
export { isForbiddenAddress } from './address-policy.js';
export { createCallbackDns, type CallbackDnsOptions, type ResolveHost } from './callback-dns.js';
export { checkCallbackUrl, DEFAULT_CALLBACK_PORTS, MAX_CALLBACK_URL_LENGTH, type CheckCallbackUrlOptions } from './callback-url.js';
export { CallbackUrlRefusedError, DnsUnavailableError } from './errors.js';
