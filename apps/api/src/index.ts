export { buildApp, type ApiDeps } from './app.js';
export { startApi } from './server.js';
export { renderOpenApi } from './openapi.js';
export { createCredentials, type Credentials } from './credentials.js';
