import type { Logger, ScheduleSpec } from '@celerity/core';
import type { ScheduleStore } from '@celerity/store';
import { isDeepStrictEqual } from 'node:util';

/**
 * Re-applies the schedules of CELERITY_CONFIG (already zod-checked by loadConfig) at start-up.
 * The file wins for the schedules it defines: a definition changed through the API since is
 * put back, and a config schedule no longer in the file is removed. What a schedule has done
 * (its cursor, last run, pending fires) and whether it is paused are kept, so a restart neither
 * repeats nor forgets fires, and a pause survives it. Schedules created through the API are not
 * touched, unless the file now defines one with the same name (the file takes it over).
 */
export async function applyConfigSchedules(schedules: ScheduleStore, specs: readonly ScheduleSpec[], log: Logger, nowMs: number): Promise<void> {
  const existing = new Map((await schedules.list()).map((s) => [s.spec.name, s]));
  const now = new Date(nowMs).toISOString();
  for (const spec of specs) {
    const current = existing.get(spec.name);
    if (current && current.source === 'config' && isDeepStrictEqual(current.spec, spec)) continue;
    await schedules.write({ spec, source: 'config', created_at: current?.created_at ?? now, updated_at: now }, 'upsert', nowMs);
    log.info({ schedule_id: spec.name, replaced: current !== undefined }, 'schedule applied from CELERITY_CONFIG');
  }
  const wanted = new Set(specs.map((s) => s.name));
  for (const current of existing.values()) {
    if (current.source !== 'config' || wanted.has(current.spec.name)) continue;
    await schedules.remove(current.spec.name);
    log.info({ schedule_id: current.spec.name }, 'schedule removed: no longer in CELERITY_CONFIG');
  }
}
