export { configSchema, NETWORKS, LOG_LEVELS, SCRYPT_N_DEFAULT, SCRYPT_N_MIN } from './schema.js';
export type { Config, ConfigInput, ParsedConfig, Network } from './schema.js';
export { loadConfig, parseConfig, ConfigError, formatPath, configDir } from './load.js';
export { applyEnvOverrides, ENV_PREFIX } from './env.js';
export { isLoopbackHost } from './loopback.js';
