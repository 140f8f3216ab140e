export { createApiServer, toJson } from './server.js';
export type { ApiServer, ApiServerOptions } from './server.js';
export { evaluateHealth, requiredConnections } from './health.js';
export type { HealthReport } from './health.js';
export type * from './types.js';
