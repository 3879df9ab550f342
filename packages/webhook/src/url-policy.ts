/**
 * The submit-time part only (no HTTP client): what the producer imports, so the API process does
 * not load undici for a check that needs none.
 */
export { isForbiddenAddress } from './address-policy.js';
export { checkCallbackUrl, MAX_CALLBACK_URL_LENGTH, type CheckCallbackUrlOptions, type LookupFn } from './callback-url.js';
export { CallbackUrlRefusedError, DnsUnavailableError } from './errors.js';
