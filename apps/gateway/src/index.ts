/**
 * `@msgin5g/gateway`: the Gateway UE application — configuration, composition root and lifecycle.
 * The CLI is `main.ts`; the demo is `demo/main.ts`.
 */
export { configSchema, loadConfig, ConfigError, ENVIRONMENT, environmentVariables, type ConfiguredLink, type GatewayConfig, type StartFlags } from './config';
export { DEVICE_LINKS } from './links';
export { createContainer, openStore } from './container';
export { firstAnswerWarnMs, GatewayRuntime, registerRetryDelayMs } from './gateway-runtime';
export { GatewayMetrics, METRICS_PREFIX, UPSTREAM_ANSWER_BUCKETS_S, NO_FAILURE, type GatewayMetricsOptions } from './gateway-metrics';
export { acquireStoreLock, StoreInUseError, type LockHolder, type StoreLock } from './store-lock';
export { ListDeviceAuthorizer, OpenDeviceAuthorizer, DEFAULT_AUTHORIZATION_LINKS, type AuthorizationLinks } from './authorization';
export { CryptoRegistrationIdAllocator } from './crypto-registration-id-allocator';
export { SystemClock } from './system-clock';
export { createLogger } from './logger';
export { TOKENS } from './tokens';
