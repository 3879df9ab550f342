import { describe, expect, it } from 'vitest';
import { privateServices } from '../../src/index.js';

describe('privateServices()', () => {
  it('refuses outside the faults project, so a fault test never disturbs a shared broker', () => {
    const saved = process.env.CELERITY_PRIVATE_SERVICES;
    delete process.env.CELERITY_PRIVATE_SERVICES;
    try {
      expect(() => privateServices()).toThrow(/only in the vitest project "faults"/);
    } finally {
      if (saved !== undefined) process.env.CELERITY_PRIVATE_SERVICES = saved;
    }
  });
});
