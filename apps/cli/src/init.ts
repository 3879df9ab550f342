/**
 * `celerity init [DIR]`: a job project of a team's own, outside this repository. Its package.json
 * makes it an ES module package (so tsx loads its .ts jobs as ESM) and depends on this Celerity's
 * own @celerity/core through a `file:` link, so `defineJob` and the error classes are the copy the
 * worker runs (and carry its types for the editor). zod is its own dependency, in core's range.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A refusal `celerity init` reports in one line (it never overwrites a file). */
export class InitError extends Error {}

/** The directory of the @celerity/core package this CLI runs with (packages/core, or /app/packages/core in the image). */
function corePackageDir(): string {
  const entry = realpathSync(fileURLToPath(import.meta.resolve('@celerity/core')));
  return dirname(dirname(entry)); // …/packages/core/dist/index.js → …/packages/core
}

const JS_JOB = `// @ts-check
/**
 * A JavaScript job. Task name "hello.greet": module hello.js under JOBS_ROOT, export greet.
 * Input that does not match the schema is refused with 422 when the task is submitted.
 */
import { defineJob } from '@celerity/core';
import { z } from 'zod';

export const greet = defineJob({
  input: z.object({ name: z.string().min(1) }),
  async run(input, ctx) {
    ctx.log.info('greeting');
    return { greeting: \`Hello, \${input.name}!\` };
  },
});
`;

const TS_JOB = `/**
 * A TypeScript job (loaded through tsx; no build step). Task name "reports.count".
 */
import { defineJob, NonRetryableError } from '@celerity/core';
import { z } from 'zod';

export const count = defineJob({
  input: z.object({ words: z.array(z.string()) }),
  timeLimit: 60, // seconds; a task's own time_limit wins
  async run(input, ctx) {
    if (input.words.length === 0) throw new NonRetryableError('nothing to count'); // failed at once, no retries
    ctx.progress(100, 'counted');
    return { count: input.words.length };
  },
});

/** A plain async function is a job too: task "reports.ping". */
export async function ping(input: unknown): Promise<unknown> {
  return input;
}
`;

const TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2024",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true,
    "allowJs": true,
    "checkJs": true
  },
  "include": ["jobs"]
}
`;

/** Writes the project; returns what to do next. Refuses if any of its files already exists. */
export function initJobProject(dirArgument: string): string {
  const dir = resolve(dirArgument);
  const core = corePackageDir();
  const coreManifest = JSON.parse(readFileSync(join(core, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'celerity-jobs';
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(
      {
        name,
        private: true,
        type: 'module',
        description: 'Celerity job modules: run a worker with JOBS_ROOT pointing at jobs/',
        dependencies: { '@celerity/core': `file:${core}`, zod: coreManifest.dependencies?.zod ?? '^4.0.0' },
      },
      null,
      2,
    )}\n`,
    'jobs/hello.js': JS_JOB,
    'jobs/reports.ts': TS_JOB,
    'tsconfig.json': TSCONFIG,
    '.gitignore': 'node_modules/\n',
  };
  const existing = Object.keys(files).filter((file) => existsSync(join(dir, file)));
  if (existing.length > 0) throw new InitError(`${dir} already has ${existing.join(', ')}: init writes only into a new or empty project`);
  mkdirSync(join(dir, 'jobs'), { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);

  const shown = relative(process.cwd(), dir) || '.';
  const jobsRoot = join(dir, 'jobs');
  return `Created a Celerity job project in ${dir}:
  package.json    "type": "module", @celerity/core linked from ${core}, zod
  jobs/hello.js   task hello.greet   (JavaScript)
  jobs/reports.ts task reports.count, reports.ping   (TypeScript, loaded through tsx)

Next:
  cd ${shown} && npm install
  JOBS_ROOT=${jobsRoot} celerity start      # API, worker and beat; give the API and every worker the same JOBS_ROOT
  curl -s -X POST localhost:3000/tasks -H 'content-type: application/json' -d '{"task": "hello.greet", "input": {"name": "Ada"}}'
`;
}
