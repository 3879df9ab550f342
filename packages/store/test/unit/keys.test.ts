import { describe, expect, it } from 'vitest';
import { createKeys } from '../../src/keys.js';

describe('createKeys', () => {
  it('uses "celerity:" without a namespace', () => {
    const keys = createKeys(undefined);
    expect(keys.prefix).toBe('celerity:');
    expect(keys.task('0190a6c4-7b1e-7c3d-8e4f-5a6b7c8d9e0f')).toBe('celerity:task:0190a6c4-7b1e-7c3d-8e4f-5a6b7c8d9e0f');
    expect(keys.index).toBe('celerity:tasks');
    expect(keys.control).toBe('celerity:control');
  });

  it('inserts the namespace after "celerity:"', () => {
    const keys = createKeys('ns1');
    expect(keys.prefix).toBe('celerity:ns1:');
    expect(keys.task('abc')).toBe('celerity:ns1:task:abc');
    expect(keys.index).toBe('celerity:ns1:tasks');
    expect(keys.control).toBe('celerity:ns1:control');
  });

  it('treats an empty namespace like none', () => {
    expect(createKeys('').prefix).toBe('celerity:');
  });

  it('keeps every key of one namespace apart from another', () => {
    const a = createKeys('a');
    const b = createKeys('b');
    expect(a.task('x')).not.toBe(b.task('x'));
    expect(a.index).not.toBe(b.index);
    expect(a.control).not.toBe(b.control);
  });
});
