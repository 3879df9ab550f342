import { createHash, timingSafeEqual } from 'node:crypto';
import { createWatchTokens, type WatchTokens } from './watch-tokens.js';

/**
 * The API keys a process accepts, and the watch-token signer derived from them. The keys can be
 * replaced while the process runs (API_KEYS_FILE, re-read on SIGHUP): a key taken out is refused from
 * then on, every watch token signed with the old set stops verifying, and listeners (open event
 * streams) are told so they can close what the old credentials opened. Admin keys (ADMIN_API_KEYS)
 * are API keys that may also call the admin routes (purges, stats reset, worker control); they come
 * from the environment only and are not rotated.
 */
export interface Credentials {
  /** false when no API key is configured (auth off, loopback only) */
  readonly enabled: boolean;
  /** `key:<16 hex of its SHA-256>` for a known key, null for an unknown one; constant time over the set */
  identify(presented: string): string | null;
  /** whether a caller id from identify() still names a current key */
  isCurrent(callerId: string): boolean;
  /** whether a caller id from identify() names an admin key */
  isAdmin(callerId: string): boolean;
  /** whether any admin key is configured */
  readonly adminEnabled: boolean;
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

export function createCredentials(initialKeys: readonly string[], adminKeys: readonly string[] = []): Credentials {
  let known: Buffer[] = [];
  let ids = new Set<string>();
  let signer: WatchTokens;
  const admins = new Set(adminKeys.map((key) => keyCallerId(digest(key))));
  const listeners = new Set<() => void>();
  const load = (keys: readonly string[]) => {
    const all = [...new Set([...keys, ...adminKeys])];
    known = all.map(digest);
    ids = new Set(known.map(keyCallerId));
    signer = createWatchTokens(all);
  };
  load(initialKeys);

  return {
    enabled: initialKeys.length + adminKeys.length > 0,
    adminEnabled: adminKeys.length > 0,
    identify(presented) {
      const candidate = digest(presented);
      // compare against every key so the time taken does not reveal which one matched
      const match = known.reduce<Buffer | null>((found, key) => (timingSafeEqual(key, candidate) ? key : found), null);
      return match ? keyCallerId(match) : null;
    },
    isCurrent: (callerId) => ids.has(callerId),
    isAdmin: (callerId) => admins.has(callerId),
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
