export * from './cleanup.js';
export * from './config.js';
export * from './namespace.js';
export * from './services.js';
export * from './wait.js';
export * from './free-port.js';
export { privateServices, type PrivateServiceControls } from './private-services-env.js';
export { startPrivateRedis, type PrivateServicesInfo } from './private-services.js';
export * from './redis-cluster.js';
