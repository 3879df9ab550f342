export * from './broker.js';
export * from './topology.js';
