/** Job modules on disk (a temporary JOBS_ROOT): a module fixed after a failed load loads on the next try. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobRegistry } from '../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'celerity-registry-'));
writeFileSync(join(root, 'package.json'), '{"type": "module"}\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const registry = createJobRegistry(root);

describe('job registry: reloading a fixed module', () => {
  it.each([
    ['a syntax error', 'broken.js', 'export async function run() { return ; ; )'],
    ['a throw while it is evaluated', 'throws.js', 'throw new Error("not configured yet");'],
    ['a TypeScript syntax error', 'typed.ts', 'export async function run(input: number): Promise<number> { return input + ; }'],
  ])('%s: the error says so and how it reloads; once fixed, the next resolve loads it', async (_what, file, broken) => {
    const name = file.replace(/\.(js|ts)$/, '');
    writeFileSync(join(root, file), broken);
    await expect(registry.resolve(`${name}.run`)).rejects.toThrow(/failed to load: [\s\S]*loads afresh on the next task/);
    await expect(registry.resolve(`${name}.run`)).rejects.toThrow(/failed to load/); // still broken: still refused
    writeFileSync(join(root, file), 'export async function run(input) { return input; }'.replace('(input)', file.endsWith('.ts') ? '(input: unknown)' : '(input)'));
    const { job } = await registry.resolve(`${name}.run`);
    expect(await job.run(42, undefined as never)).toBe(42);
  });

  it('a module that lacked the export: once the export is added, the next resolve finds it', async () => {
    writeFileSync(join(root, 'later.js'), 'export const other = 1;');
    await expect(registry.resolve('later.run')).rejects.toThrow(/has no job export "run"/);
    writeFileSync(join(root, 'later.js'), 'export async function run() { return "added"; }');
    const { job } = await registry.resolve('later.run');
    expect(await job.run(undefined, undefined as never)).toBe('added');
  });
});
