import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UnknownJobError } from './errors.js';
import { asLoadedJob, type LoadedJob } from './job.js';
import { JOB_MODULE_EXTENSIONS, parseTaskName, resolveJobFile, type TaskRef } from './task-name.js';

export interface ResolvedJob {
  /** absolute, real path of the module */
  file: string;
  exportName: string;
  job: LoadedJob;
}

/** Every job under JOBS_ROOT, and the modules that could not be loaded (their jobs are missing). */
export interface JobListing {
  /** sorted by name */
  jobs: { name: string; job: LoadedJob }[];
  failed: { module: string; message: string }[];
}

export interface JobRegistry {
  /** Resolves and imports a task's job; throws a 422-class error for anything that is not a job. Cached. */
  resolve(taskName: string): Promise<ResolvedJob>;
  /** Imports every module under JOBS_ROOT and lists its job exports (GET /jobs, `celerity types`). */
  list(): Promise<JobListing>;
}

/** Used by the API (submit-time checks) and by the execution threads (to run). */
export function createJobRegistry(jobsRoot: string): JobRegistry {
  const cache = new Map<string, Promise<ResolvedJob>>();
  return {
    resolve(taskName) {
      let found = cache.get(taskName);
      if (!found) {
        found = load(jobsRoot, taskName);
        cache.set(taskName, found);
        // failures are not cached: the module may appear after a deploy
        found.catch(() => cache.delete(taskName));
      }
      return found;
    },
    async list() {
      const listing: JobListing = { jobs: [], failed: [] };
      for (const ref of findJobModules(jobsRoot)) {
        const module = ref.modulePath.join('.');
        try {
          const { mod } = await importModule(jobsRoot, ref);
          for (const exportName of Object.keys(mod)) {
            const job = asLoadedJob(mod[exportName]);
            if (job) listing.jobs.push({ name: `${module}.${exportName}`, job });
          }
        } catch (err) {
          listing.failed.push({ module, message: (err as Error).message });
        }
      }
      listing.jobs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return listing;
    },
  };
}

/**
 * The job modules under JOBS_ROOT: files whose path segments are all task-name segments (so
 * `node_modules`, dot-directories, `x.test.ts` and `x.d.ts` are left out), one per module path.
 */
function findJobModules(jobsRoot: string): TaskRef[] {
  const root = realpathSync(jobsRoot);
  const modules = new Map<string, TaskRef>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const extension = JOB_MODULE_EXTENSIONS.find((ext) => entry.name.endsWith(ext));
    if (!extension) continue;
    const path = relative(root, `${entry.parentPath}${sep}${entry.name}`).slice(0, -extension.length);
    const modulePath = path.split(sep);
    if (modulePath.includes('node_modules') || modulePath.some((segment) => segment.includes('.'))) continue;
    try {
      modules.set(modulePath.join('.'), parseTaskName(`${modulePath.join('.')}.x`));
    } catch {
      // not a name a task could use
    }
  }
  return [...modules.values()];
}

let typeScriptLoader: Promise<void> | undefined;

/**
 * TypeScript job modules load through tsx, registered in this thread the first time one is met:
 * its loader runs on a thread of its own (~30 MB), which JavaScript-only job roots never pay for.
 */
function ensureTypeScriptLoader(): Promise<void> {
  typeScriptLoader ??= import('tsx/esm/api').then(({ register }) => {
    register();
  });
  return typeScriptLoader;
}

/**
 * Modules whose last load failed (it threw, or lacked the export), with how many times. Node keeps a
 * module under its URL even when it failed to load, so the next load asks for a fresh copy
 * (`?reload=N`): a fixed module loads on the next task without a restart.
 */
const failedLoads = new Map<string, number>();

async function load(jobsRoot: string, taskName: string): Promise<ResolvedJob> {
  const ref = parseTaskName(taskName);
  const { file, mod } = await importModule(jobsRoot, ref);
  const exported = Object.hasOwn(mod, ref.exportName) ? mod[ref.exportName] : undefined;
  const job = asLoadedJob(exported);
  if (!job) {
    failedLoads.set(file, (failedLoads.get(file) ?? 0) + 1);
    throw new UnknownJobError(`module ${ref.modulePath.join('/')} has no job export "${ref.exportName}"`, 'task');
  }
  failedLoads.delete(file);
  return { file, exportName: ref.exportName, job };
}

/** Imports the module of a task reference (inside JOBS_ROOT only); a failure is an UnknownJobError without server paths. */
async function importModule(jobsRoot: string, ref: TaskRef): Promise<{ file: string; mod: Record<string, unknown> }> {
  const file = resolveJobFile(jobsRoot, ref);
  const failures = failedLoads.get(file) ?? 0;
  const url = pathToFileURL(file).href + (failures > 0 ? `?reload=${failures}` : '');
  let mod: Record<string, unknown>;
  try {
    if (file.endsWith('.ts')) await ensureTypeScriptLoader();
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    failedLoads.set(file, failures + 1);
    throw new UnknownJobError(
      // the cause's own message names files on the server: shown relative to JOBS_ROOT, other paths by file name only
      `job module ${ref.modulePath.join('/')} failed to load: ${withoutServerPaths(String((err as Error)?.message ?? err), jobsRoot)}${esmHint(file)} (once fixed, it loads afresh on the next task; a module it imports loads once per worker process, so restart the worker after fixing one of those)`,
      'task',
      { cause: err },
    );
  }
  return { file, mod };
}

/**
 * Job modules are ES modules: a `.ts` or `.js` job whose nearest package.json is missing or does not
 * say "type": "module" is loaded as CommonJS and fails with a message about require() or import.
 * (Node keeps what it read of package.json files, so fixing that takes a restart.)
 */
function esmHint(file: string): string {
  if (file.endsWith('.mjs')) return '';
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type === 'module') return '';
      } catch {
        // unreadable: say so below
      }
      return '; its package.json does not say "type": "module", which job modules need (celerity init writes one; restart the worker after changing it)';
    }
    if (dirname(dir) === dir) return '; no package.json with "type": "module" above it, which job modules need (celerity init writes one; restart the worker after adding it)';
  }
}

/**
 * A message with the server's paths taken out: a path under JOBS_ROOT becomes `JOBS_ROOT/…`, any
 * other absolute path (file URL or not) only its file name, so a 422 tells the caller what is wrong
 * with a module without showing how the server's disk is laid out.
 */
export function withoutServerPaths(message: string, jobsRoot: string): string {
  const root = jobsRoot.replace(/\/+$/, '');
  return message
    .replaceAll(pathToFileURL(root).href, 'JOBS_ROOT')
    .replaceAll(root, 'JOBS_ROOT')
    .replace(/(?:file:\/\/)?(?<![\w.])\/(?:[^\s'"`:()/]+\/)+([^\s'"`:()/]+)/g, '…/$1');
}
