/**
 * `@msgin5g/core`: the MSGin5G Gateway UE domain. Ids, messages, the registration state machine,
 * the procedures that drive it, and the ports adapters implement. No I/O, no dependencies.
 */
export * from './ids';
export * from './messages';
export * from './delivery-messages';
export * from './registration';
export * from './state-machine';
export * from './ports/device-link';
export * from './ports/server-link';
export * from './ports/registration-store';
export * from './ports/message-store';
export * from './ports/server-inbox';
export * from './ports/clock';
export * from './ports/registration-id-allocator';
export * from './ports/logger';
export * from './ports/device-authorizer';
export * from './ports/gateway-observer';
export * from './procedures/gateway-procedures';
export * from './procedures/expiry-scheduler';
export type { MessageCounters, MessageRelayOptions } from './procedures/message-relay';
export * from './in-memory-registration-store';
export * from './in-memory-message-store';
export { TokenBuckets } from './procedures/token-buckets';
