import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidTaskNameError, UnknownJobError } from '../../src/errors.js';
import { MAX_TASK_NAME_LENGTH, parseTaskName, resolveJobFile } from '../../src/task-name.js';

describe('parseTaskName', () => {
  it('splits a two-segment name into module and export', () => {
    expect(parseTaskName('demo.echo')).toEqual({ modulePath: ['demo'], exportName: 'echo' });
  });

  it('takes every segment but the last as the module path', () => {
    expect(parseTaskName('reports.monthly.generate')).toEqual({ modulePath: ['reports', 'monthly'], exportName: 'generate' });
  });

  it('accepts $ and _ as identifier starts', () => {
    expect(parseTaskName('$a._b')).toEqual({ modulePath: ['$a'], exportName: '_b' });
  });

  it('accepts a name of exactly the maximum length', () => {
    const name = `a.${'b'.repeat(MAX_TASK_NAME_LENGTH - 2)}`;
    expect(name).toHaveLength(200);
    expect(parseTaskName(name).exportName).toHaveLength(198);
  });

  it.each([
    ['..'],
    ['a..b'],
    ['/etc/passwd'],
    ['a/b.c'],
    ['node:fs.readFile'],
    ['http://x.y'],
    ['demo.constructor'],
    ['__proto__.x'],
    ['demo.prototype'],
    ['demo'],
    [''],
    [`a.${'b'.repeat(MAX_TASK_NAME_LENGTH - 1)}`],
    ['demo.1echo'],
    ['1demo.echo'],
    ['demo.echo.'],
    ['.demo.echo'],
    ['demo.ec-ho'],
    ['demo. echo'],
  ])('refuses %j with InvalidTaskNameError on field "task"', (name) => {
    let caught: unknown;
    try {
      parseTaskName(name);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidTaskNameError);
    expect((caught as InvalidTaskNameError).code).toBe('INVALID_TASK_NAME');
    expect((caught as InvalidTaskNameError).field).toBe('task');
  });
});

describe('resolveJobFile', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'celerity-task-name-'));
    dirs.push(dir);
    return dir;
  };

  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['.ts', '.js', '.mjs'])('finds a module with extension %s', (ext) => {
    const root = tempDir();
    mkdirSync(join(root, 'reports'));
    writeFileSync(join(root, 'reports', `monthly${ext}`), 'export const generate = () => 1;\n');
    const file = resolveJobFile(root, parseTaskName('reports.monthly.generate'));
    expect(file).toBe(join(realpathSync(root), 'reports', `monthly${ext}`));
  });

  it('refuses a missing module with UnknownJobError', () => {
    const root = tempDir();
    writeFileSync(join(root, 'other.ts'), 'export const x = 1;\n');
    expect(() => resolveJobFile(root, parseTaskName('demo.echo'))).toThrow(UnknownJobError);
    expect(() => resolveJobFile(root, parseTaskName('demo.echo'))).toThrow('no job module "demo" under JOBS_ROOT');
  });

  it('refuses a symlink inside the root that points outside it', () => {
    const root = tempDir();
    const outside = tempDir();
    const target = join(outside, 'evil.ts');
    writeFileSync(target, 'export const run = () => "pwned";\n');
    symlinkSync(target, join(root, 'demo.ts'));
    expect(() => resolveJobFile(root, parseTaskName('demo.run'))).toThrow(InvalidTaskNameError);
    expect(() => resolveJobFile(root, parseTaskName('demo.run'))).toThrow('outside JOBS_ROOT');
  });

  it('refuses a symlinked directory pointing to a sibling whose name shares the root prefix', () => {
    // root "/tmp/x/jobs" must not accept "/tmp/x/jobs-evil/..." just because the string starts alike
    const base = tempDir();
    const root = join(base, 'jobs');
    const sibling = join(base, 'jobs-evil');
    mkdirSync(root);
    mkdirSync(sibling);
    writeFileSync(join(sibling, 'steal.ts'), 'export const run = () => 1;\n');
    symlinkSync(sibling, join(root, 'pkg'));
    expect(() => resolveJobFile(root, parseTaskName('pkg.steal.run'))).toThrow('outside JOBS_ROOT');
  });

  it('accepts a symlink that stays inside the root', () => {
    const root = tempDir();
    mkdirSync(join(root, 'real'));
    writeFileSync(join(root, 'real', 'impl.ts'), 'export const run = () => 1;\n');
    symlinkSync(join(root, 'real', 'impl.ts'), join(root, 'alias.ts'));
    expect(resolveJobFile(root, parseTaskName('alias.run'))).toBe(join(realpathSync(root), 'real', 'impl.ts'));
  });
});
