import { StoreUnavailableError } from '@celerity/core';

/** Any Redis failure becomes StoreUnavailableError, which the API answers with 503. */
export async function guard<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    throw new StoreUnavailableError('Redis is unavailable', { cause: err });
  }
}
