export { isForbiddenAddress } from './address-policy.js';
export { webhookRetryDelayMs } from './backoff.js';
export { checkCallbackUrl, MAX_CALLBACK_URL_LENGTH, type CheckCallbackUrlOptions, type LookupFn } from './callback-url.js';
export { deliverWebhook, WEBHOOK_USER_AGENT, type DeliveryAttempt, type DeliveryRequest } from './deliver.js';
export { CallbackUrlRefusedError, DnsUnavailableError } from './errors.js';
