import { describe, expect, it } from 'vitest';
import { jobStack, STACK_MAX_CHARS, STACK_MAX_FRAMES, toErrorPayload } from '../../src/index.js';

function errorWithStack(stack: string): Error {
  const err = new Error('boom');
  err.stack = stack;
  return err;
}

describe('jobStack', () => {
  it('makes JOBS_ROOT paths and file: URLs relative and drops the reload suffix', () => {
    const err = errorWithStack(
      ['Error: boom', '    at run (/srv/jobs/reports/monthly.ts:12:11)', '    at file:///srv/jobs/demo.js?reload=2:3:9', '    at execute (/app/apps/worker/dist/execution-thread.js:90:7)'].join('\n'),
    );
    expect(jobStack(err, '/srv/jobs/')).toBe(
      ['Error: boom', '    at run (reports/monthly.ts:12:11)', '    at demo.js:3:9', '    at execute (/app/apps/worker/dist/execution-thread.js:90:7)'].join('\n'),
    );
  });

  it(`keeps at most ${STACK_MAX_FRAMES} frames and ${STACK_MAX_CHARS} characters`, () => {
    const frames = Array.from({ length: 50 }, (_, i) => `    at f${i} (/srv/jobs/deep.js:${i + 1}:1)`);
    const capped = jobStack(errorWithStack(['Error: deep', ...frames].join('\n')), '/srv/jobs')!;
    expect(capped.split('\n')).toHaveLength(1 + STACK_MAX_FRAMES + 1);
    expect(capped).toMatch(/… 30 more frames$/);
    const long = jobStack(errorWithStack(`Error: ${'x'.repeat(10_000)}`), '/srv/jobs')!;
    expect(long.length).toBeLessThanOrEqual(STACK_MAX_CHARS);
    expect(long).toMatch(/… \(truncated\)$/);
  });

  it('toErrorPayload keeps a stack only when told the jobs root (job failures), never for a non-Error throw', () => {
    expect(toErrorPayload(new Error('x'))).not.toHaveProperty('stack');
    expect(toErrorPayload(new Error('x'), { jobsRoot: '/srv/jobs' }).stack).toMatch(/^Error: x\n\s+at /);
    expect(toErrorPayload('a string', { jobsRoot: '/srv/jobs' })).toEqual({ type: 'NonErrorThrown', message: 'a string', retryable: true });
  });
});
