export { createBeat, startBeat, type Beat, type BeatOptions, type RunningBeat, type TickReport } from './beat.js';
export { applyConfigSchedules } from './schedules.js';
export { MISFIRE_GRACE_MS, nextFires, planFires, systemClock, type Clock, type FirePlan } from './ticker.js';
