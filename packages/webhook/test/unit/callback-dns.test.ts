import { describe, expect, it, vi } from 'vitest';
import { checkCallbackUrl, createCallbackDns, DnsUnavailableError, type ResolveHost } from '../../src/index.js';

/** A resolver that answers only when told to, and counts how many names it holds at once. */
function heldResolver() {
  const waiting: Array<{ hostname: string; answer: (addresses: string[]) => void }> = [];
  let active = 0;
  let peak = 0;
  const calls: string[] = [];
  const resolve: ResolveHost = (hostname) => {
    calls.push(hostname);
    active += 1;
    peak = Math.max(peak, active);
    return new Promise<string[]>((answer) => waiting.push({ hostname, answer })).finally(() => (active -= 1));
  };
  return { resolve, calls, waiting, peak: () => peak };
}

const neverAnswers: ResolveHost = () => new Promise<string[]>(() => undefined);

describe('createCallbackDns', () => {
  it('gives up on a name after the deadline with DNS_UNAVAILABLE (503), however long the resolver would take', async () => {
    const resolve = createCallbackDns({ timeoutMs: 100, concurrency: 4, resolve: neverAnswers });
    const started = Date.now();
    const err = await checkCallbackUrl('https://slow.example/x', { allowPrivate: false, resolve }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsUnavailableError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('resolves at most `concurrency` names at once for the whole process, and the deadline counts the wait for a slot', async () => {
    // a fake clock: all 50 names are asked at one instant, so they share one deadline however busy the machine is
    vi.useFakeTimers();
    try {
      const held = heldResolver();
      const resolve = createCallbackDns({ timeoutMs: 200, concurrency: 3, resolve: held.resolve });
      const outcomes = Promise.allSettled(Array.from({ length: 50 }, (_, i) => resolve(`host-${i}.example`)));
      await vi.advanceTimersByTimeAsync(199);
      expect(held.peak()).toBe(3);
      await vi.advanceTimersByTimeAsync(1);
      const settled = await outcomes;
      // the 47 names queued behind the 3 held ones reached a free slot past their deadline and were not asked at all
      expect(held.calls).toEqual(['host-0.example', 'host-1.example', 'host-2.example']);
      expect(settled.every((o) => o.status === 'rejected' && o.reason instanceof DnsUnavailableError)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('asks a queued name when a slot frees before its own deadline', async () => {
    vi.useFakeTimers();
    try {
      const held = heldResolver();
      const resolve = createCallbackDns({ timeoutMs: 200, concurrency: 1, resolve: held.resolve });
      const first = resolve('first.example').catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(50);
      const second = resolve('second.example');
      await vi.advanceTimersByTimeAsync(150); // the first times out at 200 and frees the slot; the second has until 250
      expect(await first).toBeInstanceOf(DnsUnavailableError);
      expect(held.calls).toEqual(['first.example', 'second.example']);
      held.waiting[1]!.answer(['93.184.216.34']);
      expect(await second).toEqual(['93.184.216.34']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('asks once for a name wanted by many at once, and caches answers and "no such name"', async () => {
    const calls: string[] = [];
    const resolve = createCallbackDns({
      timeoutMs: 1_000,
      concurrency: 4,
      resolve: async (hostname) => {
        calls.push(hostname);
        if (hostname === 'nope.example') throw Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' });
        return ['93.184.216.34'];
      },
    });
    expect(await Promise.all(Array.from({ length: 20 }, () => resolve('hooks.example.com')))).toHaveLength(20);
    await resolve('HOOKS.example.com');
    await expect(resolve('nope.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolve('nope.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(calls).toEqual(['hooks.example.com', 'nope.example']);
  });

  it('does not cache a temporary failure', async () => {
    let attempt = 0;
    const resolve = createCallbackDns({
      timeoutMs: 1_000,
      concurrency: 4,
      resolve: async () => {
        attempt += 1;
        if (attempt === 1) throw Object.assign(new Error('queryA ESERVFAIL'), { code: 'ESERVFAIL' });
        return ['93.184.216.34'];
      },
    });
    await expect(resolve('flaky.example')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    expect(await resolve('flaky.example')).toEqual(['93.184.216.34']);
  });

  it('keeps at most cacheSize names', async () => {
    const calls: string[] = [];
    const resolve = createCallbackDns({ timeoutMs: 1_000, concurrency: 4, cacheSize: 2, resolve: async (h) => (calls.push(h), ['93.184.216.34']) });
    for (const host of ['a.example', 'b.example', 'c.example', 'a.example']) await resolve(host);
    expect(calls).toEqual(['a.example', 'b.example', 'c.example', 'a.example']);
  });
});
