/**
 * `@msgin5g/server`: the reference MSGin5G Server over CoAP (MSGin5G-1), as a library for tests
 * (`createReferenceServer`) and as the `msgin5g-server` command (`main.ts`).
 */
export { createReferenceServer, type ReferenceServer, type ReferenceServerMessages, type ReferenceServerOptions, type ReferenceServerStats } from './reference-server';
export { DEFAULT_AS_SERVICE_ID, DEFAULT_MAX_STORED_MESSAGES, DEFAULT_MESSAGE_EXPIRY_MS, DEDUP_MS, type MessageRouterOptions, type MessageRouterStats } from './message-router';
export { MESSAGES_PAGE_MAX_OCTETS, PAYLOAD_PREVIEW_OCTETS, type InboxEntry, type InboxPage } from './as-inbox';
export { CoapGatewayNotifier, readAnswer, type GatewayNotifier, type NotifyOutcome } from './gateway-notifier';
export { parseNotifyUri, type NotifyTarget } from './notify-uri';
export { FaultPlan } from './fault-plan';
export { judgeDatagram, judgeMessage, STRICT_CODE, type MessageVerdict } from './message-verdict';
export { FAULT_GRAMMAR_HELP, formatFault, formatFaultSpec, parseFaultSpec, type Fault, type FaultKind, type FaultOperation, type FaultSpec } from './fault-spec';
export { MESSAGES_URI_PATH, REGISTRY_URI_PATH } from './request-target';
export { SERVICE_UNAVAILABLE_MAX_AGE_S } from './server-reply';
export { fetchRegistry } from './registry-client';
