export * from './keys.js';
export * from './redis.js';
export * from './task-store.js';
export * from './task-events.js';
export * from './callbacks.js';
export * from './dead-letters.js';
export * from './schedules.js';
export * from './stats.js';
