/**
 * `@msgin5g/coap-server-link`: the `ServerLink` port over CoAP (npm `coap`), MSGin5G-1 from the
 * Gateway UE to the MSGin5G Server.
 */
export { CoapServerLink, DEFAULT_MAX_QUEUED, DEFAULT_SERVER_DEADLINE_MS, MAX_UPSTREAM_SOCKETS, type CoapServerLinkOptions, type CoapServerLinkStats } from './coap-server-link';
export { parseServerUri, type ServerUri } from './server-uri';
export { EXCHANGE_LIFETIME_MS, MESSAGE_ID_SPACE, MessageIdBudget } from './message-id-budget';
