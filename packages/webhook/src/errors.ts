import { AppError, InvalidTaskError } from '@celerity/core';

/**
 * A callback_url Celerity will not call (HTTP 422 at submit time): wrong scheme, credentials in the
 * URL, too long, a name that does not resolve, or an address that is not public. The message says
 * which, in words meant for whoever submitted the task.
 */
export class CallbackUrlRefusedError extends InvalidTaskError {
  override readonly code = 'CALLBACK_URL_REFUSED';
  /** same signature as InvalidTaskError, so a batch can re-throw it with the task's position in `field` */
  constructor(message: string, field = 'callback_url', options?: { cause?: unknown }) {
    super(message, field, options);
  }
}

/** The resolver could not answer for now (not "no such name"): try the submit again later (HTTP 503). */
export class DnsUnavailableError extends AppError {
  readonly code = 'DNS_UNAVAILABLE';
  override readonly retryable = true;
}

/** How a refused address is named in messages; unknown ipaddr.js range names are shown as they are. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  unspecified: 'unspecified',
  carrierGradeNat: 'carrier-grade NAT',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
  unparseable: 'unparseable',
};

export const ALLOW_PRIVATE_HINT = 'set WEBHOOK_ALLOW_PRIVATE=true to allow';

/** "callback_url host localhost resolves to 127.0.0.1, a loopback address (set WEBHOOK_ALLOW_PRIVATE=true to allow)" */
export function refusedAddress(host: string, address: string, range: string): CallbackUrlRefusedError {
  const what = `a ${RANGE_WORDS[range] ?? range} address, not a public one`;
  const where = host === address ? `callback_url host ${host} is ${what}` : `callback_url host ${host} resolves to ${address}, ${what}`;
  return new CallbackUrlRefusedError(`${where} (${ALLOW_PRIVATE_HINT})`);
}
