/**
 * `@msgin5g/server`: the reference MSGin5G Server over CoAP (MSGin5G-1), as a library for tests
 * (`createReferenceServer`) and as the `msgin5g-server` command (`main.ts`).
 */
export { createReferenceServer, type ReferenceServer, type ReferenceServerOptions, type ReferenceServerStats } from './reference-server';
export { FaultPlan } from './fault-plan';
export { judgeDatagram, judgeMessage, STRICT_CODE, type MessageVerdict } from './message-verdict';
export { FAULT_GRAMMAR_HELP, formatFault, formatFaultSpec, parseFaultSpec, type Fault, type FaultKind, type FaultSpec } from './fault-spec';
export { REGISTRY_URI_PATH } from './request-target';
export { SERVICE_UNAVAILABLE_MAX_AGE_S } from './server-reply';
export { fetchRegistry } from './registry-client';
