/**
 * `@msgin5g/coap-server-link`: MSGin5G-1 over CoAP, both directions. The `ServerLink` port (npm
 * `coap`): REG, DEREG, MSG and IMDN from the Gateway UE to the MSGin5G Server. The `ServerInbox`
 * port: the gateway's own endpoint where the server delivers MSG and IMDN (docs/adr/0013).
 */
export { CoapServerLink, DEFAULT_MAX_QUEUED, DEFAULT_SERVER_DEADLINE_MS, MAX_UPSTREAM_SOCKETS, type CoapServerLinkOptions, type CoapServerLinkStats } from './coap-server-link';
export { parseServerUri, type ServerUri } from './server-uri';
export { EXCHANGE_LIFETIME_MS, MESSAGE_ID_SPACE, MessageIdBudget } from './message-id-budget';
export {
  CoapServerInbox,
  DEFAULT_SERVER_INBOX_PORT,
  DEFAULT_INBOX_MAX_PENDING,
  DEFAULT_INBOX_PENDING_LIFETIME_MS,
  DEFAULT_INBOX_REFUSAL_MAX_AGE_S,
  DEFAULT_INBOX_MAX_REMEMBERED,
  INBOX_RULES,
  type CoapServerInboxOptions,
  type CoapServerInboxCounters,
} from './coap-server-inbox';
