export { EVENT_ID_HEADER, SIGNATURE_HEADER, TRACE_ID_HEADER, type HeaderRecord, type HeadersLike } from './headers.js';
export type { WebhookPayload, WebhookTaskStatus } from './payload.js';
export {
  DEFAULT_TOLERANCE_SECONDS,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type VerifiedWebhook,
  type WebhookVerificationFailure,
} from './signature.js';
