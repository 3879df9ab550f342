import { describe, expect, it } from 'vitest';
import { createWatchTokens } from '../../src/watch-tokens.js';

const now = new Date('2026-11-22T10:00:00Z');
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);

describe('watch tokens', () => {
  it('round-trips the task ids until the token expires', () => {
    const tokens = createWatchTokens(['k1', 'k2']);
    const { token, expires_at } = tokens.issue(['a', 'b'], 60, now);
    expect(expires_at).toBe('2026-11-22T10:01:00.000Z');
    expect([...tokens.verify(token, later(59))]).toEqual(['a', 'b']);
    expect(() => tokens.verify(token, later(60))).toThrow(/expired/);
  });

  it('is accepted by every replica with the same API keys (in any order) and by none with other keys', () => {
    const { token } = createWatchTokens(['k1', 'k2']).issue(['a'], 60, now);
    expect([...createWatchTokens(['k2', 'k1']).verify(token, now)]).toEqual(['a']);
    expect(() => createWatchTokens(['k1', 'k3']).verify(token, now)).toThrow(/invalid/);
  });

  it('refuses a token whose scope was edited, and malformed ones', () => {
    const tokens = createWatchTokens(['k1']);
    const [version, , signature] = tokens.issue(['a'], 60, now).token.split('.');
    const widened = Buffer.from(JSON.stringify({ ids: ['a', 'b'], exp: 9_999_999_999 })).toString('base64url');
    expect(() => tokens.verify(`${version}.${widened}.${signature}`, now)).toThrow(/invalid/);
    for (const bad of ['', 'v1', 'v1..', 'v2.abc.def', 'not a token']) expect(() => tokens.verify(bad, now)).toThrow(/malformed|invalid/);
  });
});
