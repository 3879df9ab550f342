import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderOpenApi } from '../../src/openapi.js';

describe('openapi/openapi.json', () => {
  it('matches the document generated from the route schemas (run `make openapi` after changing a route)', async () => {
    const committed = readFileSync(new URL('../../../../openapi/openapi.json', import.meta.url), 'utf8');
    expect(await renderOpenApi()).toBe(committed);
  });
});
