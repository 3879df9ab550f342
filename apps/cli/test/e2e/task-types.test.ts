/**
 * `celerity types` writes the task map of JOBS_ROOT; with it, @celerity/client's submit is checked by
 * the compiler: a known task with the right input compiles, a wrong input or an unknown name does not.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const CLI = join(ROOT, 'apps/cli/dist/main.js');
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'celerity-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Type-checks `files` (name → source) beside the generated map; the errors by file and line. */
function typeErrors(files: Record<string, string>): string[] {
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
  const program = ts.createProgram(
    Object.keys(files).map((name) => join(dir, name)),
    {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      paths: { '@celerity/client': [join(ROOT, 'packages/client/dist/index.d.ts')] },
    },
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    return `${d.file ? d.file.fileName.slice(dir.length + 1) : '?'}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

const header = `import { createClient } from '@celerity/client';
import type { CelerityTasks } from './celerity-tasks.js';
const celerity = createClient<CelerityTasks>({ baseUrl: 'http://127.0.0.1:3000' });
`;

describe('celerity types', () => {
  it('writes the task names of JOBS_ROOT with their input and result types', async () => {
    await run(process.execPath, [CLI, 'types', '--out', join(dir, 'celerity-tasks.ts')], { cwd: ROOT, env: { ...process.env, JOBS_ROOT: join(ROOT, 'examples/jobs') } });
    const source = readFileSync(join(dir, 'celerity-tasks.ts'), 'utf8');
    expect(source).toContain('"reports.monthly.generate": { input: components');
    expect(source).toContain('"demo.echo": { input: unknown; result: unknown }');
    expect(source).toContain('/** Builds the monthly report of a month (YYYY-MM) */');
    // the example app's copy is current
    const stale = 'examples/client-app/celerity-tasks.ts is stale: run `JOBS_ROOT=examples/jobs npx celerity types --out examples/client-app/celerity-tasks.ts`';
    expect(readFileSync(join(ROOT, 'examples/client-app/celerity-tasks.ts'), 'utf8'), stale).toBe(source);
  });

  it('makes a right submit compile, with the result typed', () => {
    const errors = typeErrors({
      'right.ts': `${header}
export async function monthly(): Promise<number> {
  const task = await celerity.submit('reports.monthly.generate', { month: '2026-11' }, { priority: 9 });
  const done = await celerity.wait(task);
  await celerity.submit('demo.noop');
  await celerity.submit('demo.echo', { anything: [1, 2] });
  return done.result?.rows ?? 0;
}
`,
    });
    expect(errors).toEqual([]);
  });

  it('fails to type-check a wrong input, a missing input, an unknown task name and a misuse of the result', () => {
    const errors = typeErrors({
      'wrong.ts': `${header}
export async function wrong() {
  await celerity.submit('reports.monthly.generate', { month: 11 });
  await celerity.submit('reports.monthly.generate');
  await celerity.submit('reports.monthly.generat', { month: '2026-11' });
  const done = await celerity.wait(await celerity.submit('reports.monthly.generate', { month: '2026-11' }));
  const month: number | undefined = done.result?.month;
  return month;
}
`,
    });
    const lines = errors.map((e) => Number(/^wrong\.ts:(\d+):/.exec(e)?.[1]));
    expect(lines, errors.join('\n')).toEqual([6, 7, 8, 10]);
    expect(errors[0]).toMatch(/Type 'number' is not assignable to type 'string'/);
  });
});
