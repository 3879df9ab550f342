import { createHash, timingSafeEqual } from 'node:crypto';
import { createWatchTokens, type WatchTokens } from './watch-tokens.js';

/**
 * The API keys a process accepts, and the watch-token signer derived from them. The keys can be
 * replaced while the process runs (API_KEYS_FILE, re-read on SIGHUP): a key taken out is refused from
 * then on, every watch token signed with the old set stops verifying, and listeners (open event
 * streams) are told so they can close what the old credentials opened.
 */
export interface Credentials {
  /** false when no API key is configured (auth off, loopback only) */
  readonly enabled: boolean;
  /** `key:<16 hex of its SHA-256>` for a known key, null for an unknown one; constant time over the set */
  identify(presented: string): string | null;
  /** whether a caller id from identify() still names a current key */
  isCurrent(callerId: string): boolean;
  /**
   * Whether a caller id from identify() names an admin key. Optional until admin keys are configured
   * apart: without it every key is an admin key (ui-session.ts roleOf is the one reader).
   */
  isAdmin?(callerId: string): boolean;
  /** the signer of the current key set */
  watchTokens(): WatchTokens;
  rotate(apiKeys: readonly string[]): void;
  /** called after every rotate(); returns the function that stops it */
  onRotate(listener: () => void): () => void;
}

const digest = (key: string) => createHash('sha256').update(key).digest();
export const keyCallerId = (keyDigest: Buffer) => `key:${keyDigest.toString('hex', 0, 8)}`;
/** a watch token's own identity (its limits are its own, apart from the key that asked for it) */
export const tokenCallerId = (token: string) => `token:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;

export function createCredentials(initialKeys: readonly string[]): Credentials {
  let known: Buffer[] = [];
  let ids = new Set<string>();
  let signer: WatchTokens;
  const listeners = new Set<() => void>();
  const load = (keys: readonly string[]) => {
    known = keys.map(digest);
    ids = new Set(known.map(keyCallerId));
    signer = createWatchTokens(keys);
  };
  load(initialKeys);

  return {
    enabled: initialKeys.length > 0,
    identify(presented) {
      const candidate = digest(presented);
      // compare against every key so the time taken does not reveal which one matched
      const match = known.reduce<Buffer | null>((found, key) => (timingSafeEqual(key, candidate) ? key : found), null);
      return match ? keyCallerId(match) : null;
    },
    isCurrent: (callerId) => ids.has(callerId),
    watchTokens: () => signer,
    rotate(apiKeys) {
      if (apiKeys.length === 0) throw new Error('refusing to rotate to an empty set of API keys');
      load(apiKeys);
      for (const listener of listeners) listener();
    },
    onRotate(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
