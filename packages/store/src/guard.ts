import { ReplyError } from 'ioredis';
import { StoreUnavailableError } from '@celerity/core';

/** Error replies that mean "not now" (loading, failover, a busy script, out of memory), not "wrong request". */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|OOM|CLUSTERDOWN)\b/;

/**
 * A Redis outage becomes StoreUnavailableError, which the API answers with 503 and Retry-After. An
 * error reply to a well-formed connection (a bad argument, a script bug) is not an outage: it goes
 * on as it is, so it surfaces as a 500 instead of a 503 that asks the caller to retry forever.
 */
export async function guard<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof ReplyError && !UNAVAILABLE_REPLY.test((err as Error).message)) throw err;
    throw new StoreUnavailableError('Redis is unavailable', { cause: err });
  }
}
