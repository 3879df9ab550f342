export * from './keys.js';
export * from './redis.js';
export * from './task-store.js';
export * from './task-events.js';
