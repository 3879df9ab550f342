import { describe, expect, it } from 'vitest';
import { createKeys, namespaceKeyPattern } from '../../src/keys.js';

describe('createKeys', () => {
  it('uses the hash tag "{celerity}" without a namespace', () => {
    const keys = createKeys(undefined);
    expect(keys.prefix).toBe('{celerity}:');
    expect(keys.task('0190a6c4-7b1e-7c3d-8e4f-5a6b7c8d9e0f')).toBe('{celerity}:task:0190a6c4-7b1e-7c3d-8e4f-5a6b7c8d9e0f');
    expect(keys.index).toBe('{celerity}:tasks');
    expect(keys.control).toBe('{celerity}:control');
  });

  it('puts the namespace inside the hash tag', () => {
    const keys = createKeys('ns1');
    expect(keys.prefix).toBe('{celerity:ns1}:');
    expect(keys.task('abc')).toBe('{celerity:ns1}:task:abc');
    expect(keys.index).toBe('{celerity:ns1}:tasks');
    expect(keys.control).toBe('{celerity:ns1}:control');
  });

  it('treats an empty namespace like none', () => {
    expect(createKeys('').prefix).toBe('{celerity}:');
  });

  it('gives every key of a namespace the same hash tag (one Redis Cluster slot), and another namespace another', () => {
    const tagOf = (key: string) => key.slice(key.indexOf('{') + 1, key.indexOf('}'));
    const keys = createKeys('ns1');
    const all = [
      keys.task('x'), keys.events('x'), keys.callbacks, keys.index, keys.scheduled, keys.leases, keys.schedulerLock,
      keys.idempotency('client:k:1'), keys.deadLetters, keys.schedules, keys.schedule('s'), keys.scheduleTasks('s'),
      `${keys.rateLimits}write:caller`, keys.control,
    ];
    expect(new Set(all.map(tagOf))).toEqual(new Set(['celerity:ns1']));
    expect(tagOf(createKeys('ns2').task('x'))).not.toBe('celerity:ns1');
  });

  it('matches exactly one namespace\'s keys in a SCAN pattern, the braces escaped', () => {
    expect(namespaceKeyPattern('ns1')).toBe('\\{celerity:ns1\\}:*');
    expect(namespaceKeyPattern(undefined)).toBe('\\{celerity\\}:*');
  });
});
