import { Resolver } from 'node:dns/promises';
import pLimit from 'p-limit';
import { DnsUnavailableError } from './errors.js';

/**
 * Resolves a host name to all its addresses (IPv4 and IPv6). Throws an error with a node:dns `code`:
 * ENOTFOUND / ENODATA for "no such name", anything else for "cannot say now".
 */
export type ResolveHost = (hostname: string) => Promise<string[]>;

export interface CallbackDnsOptions {
  /** how long one name may take, waiting for a free slot included; then 503 DNS_UNAVAILABLE */
  timeoutMs: number;
  /** names resolved at once by this process, over all requests */
  concurrency: number;
  /** names remembered (answers up to their DNS TTL, capped; "no such name" for a minute) */
  cacheSize?: number;
  /** the resolver underneath (tests); default: c-ares through node:dns Resolver, off the libuv thread pool */
  resolve?: ResolveHost;
  now?: () => number;
}

const MAX_ANSWER_TTL_MS = 5 * 60_000;
const NOT_FOUND_TTL_MS = 60_000;
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * The system resolver's servers queried with c-ares (node:dns Resolver): unlike dns.lookup, which
 * runs getaddrinfo on the four threads of the libuv pool (shared with file and crypto work), a slow
 * name here holds no thread, so it cannot stall other requests or webhook deliveries.
 */
export function systemResolveHost(timeoutMs: number): ResolveHost {
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 2)), tries: 2 });
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
    const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (addresses.length > 0) return addresses;
    // no address of either family: report the more telling failure ("cannot say now" over "no such name")
    const failures = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [r.reason as NodeJS.ErrnoException] : []));
    throw failures.find((err) => !NOT_FOUND_CODES.has(err.code ?? '')) ?? failures[0] ?? Object.assign(new Error(`no address for ${hostname}`), { code: 'ENODATA' });
  };
}

interface CacheEntry {
  expiresAt: number;
  addresses?: string[];
  error?: unknown;
}

/**
 * The submit-time resolver of callback hosts: each name within a deadline, at most `concurrency` at
 * once per process, concurrent asks for one name share one query, and answers are cached, so a batch
 * of hundreds of callbacks to a few hosts costs a few queries, and a flood of unresolvable names can
 * hold neither threads nor other callers for longer than the deadline.
 */
export function createCallbackDns(options: CallbackDnsOptions): ResolveHost {
  const { timeoutMs, concurrency, cacheSize = 1_000, now = Date.now } = options;
  const resolve = options.resolve ?? systemResolveHost(timeoutMs);
  const limit = pLimit(concurrency);
  const cache = new Map<string, CacheEntry>(); // insertion order = age, for eviction
  const inFlight = new Map<string, Promise<string[]>>();

  const remember = (hostname: string, entry: CacheEntry) => {
    cache.delete(hostname);
    cache.set(hostname, entry);
    while (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  };

  const query = (hostname: string, deadline: number): Promise<string[]> =>
    limit(async () => {
      // a name that waited past its deadline for a slot is not asked at all
      if (now() >= deadline) throw timedOut(hostname);
      try {
        // the slot is freed at the deadline even if the resolver never answers
        const addresses = await withDeadline(resolve(hostname), deadline, now, hostname);
        remember(hostname, { addresses, expiresAt: now() + MAX_ANSWER_TTL_MS });
        return addresses;
      } catch (err) {
        if (NOT_FOUND_CODES.has((err as { code?: string }).code ?? '')) remember(hostname, { error: err, expiresAt: now() + NOT_FOUND_TTL_MS });
        throw err;
      }
    });

  return async (hostname) => {
    const key = hostname.toLowerCase();
    const cached = cache.get(key);
    if (cached && cached.expiresAt > now()) {
      if (cached.error !== undefined) throw cached.error;
      return cached.addresses!;
    }
    let pending = inFlight.get(key);
    if (!pending) {
      pending = query(key, now() + timeoutMs).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    // a caller that joined a query already under way still waits no longer than its own deadline
    return withDeadline(pending, now() + timeoutMs, now, hostname);
  };
}

/**
 * Rejects at `deadline` as `now()` tells it. A timer may fire a little early by that clock (the
 * event loop's cached time lags it on a busy machine), so it is re-armed until the deadline has
 * really passed: a slot freed at the deadline is then never taken by a name whose own deadline,
 * checked with the same clock, has not passed yet.
 */
async function withDeadline<T>(promise: Promise<T>, deadline: number, now: () => number, hostname: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    const check = () => {
      const left = deadline - now();
      if (left <= 0) reject(timedOut(hostname));
      else timer = setTimeout(check, left);
    };
    check();
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function timedOut(hostname: string): DnsUnavailableError {
  return new DnsUnavailableError(`could not resolve the callback_url host ${hostname} in time; try again`);
}
