/** Job modules on disk (a temporary JOBS_ROOT): a module fixed after a failed load loads on the next try. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

  it('a TypeScript job with no package.json: loads on Node 22+, and on older Node the error says what to add; with one, the job loads (plain Node)', async () => {
    // in real Node processes: vitest's own module loader would transform the .ts whatever the package.json says
    const bare = mkdtempSync(join(tmpdir(), 'celerity-bare-'));
    const core = new URL('../../dist/index.js', import.meta.url).href;
    const resolveIn = async (): Promise<string> => {
      const script = `const { createJobRegistry } = await import(${JSON.stringify(core)});
        const loaded = await createJobRegistry(${JSON.stringify(bare)}).resolve('loose.run').then((r) => r.job.run('typed'), (err) => err.message);
        console.log(JSON.stringify(loaded));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
      return JSON.parse(stdout) as string;
    };
    try {
      writeFileSync(join(bare, 'loose.ts'), 'export async function run(input: unknown): Promise<unknown> { return input; }\n');
      if (Number(process.versions.node.split('.')[0]) >= 22) {
        // Node 22 and later tell an ES module by its syntax when no package.json says otherwise
        expect(await resolveIn()).toBe('typed');
      } else {
        expect(await resolveIn()).toMatch(/^job module loose failed to load: .*; no package\.json with "type": "module" above it, which job modules need \(celerity init writes one; restart the worker after adding it\)/s);
      }
      writeFileSync(join(bare, 'package.json'), '{"type": "module"}\n');
      expect(await resolveIn()).toBe('typed');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
