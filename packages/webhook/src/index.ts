export { isForbiddenAddress } from './address-policy.js';
export { webhookBackoff } from './backoff.js';
export { createCallbackDns, type CallbackDnsOptions, type ResolveHost } from './callback-dns.js';
export { checkCallbackUrl, DEFAULT_CALLBACK_PORTS, MAX_CALLBACK_URL_LENGTH, type CheckCallbackUrlOptions } from './callback-url.js';
export { deliverWebhook, WEBHOOK_USER_AGENT, type DeliveryAttempt, type DeliveryRequest } from './deliver.js';
export { CallbackUrlRefusedError, DnsUnavailableError } from './errors.js';
