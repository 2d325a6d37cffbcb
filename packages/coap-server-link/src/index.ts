/**
 * `@msgin5g/coap-server-link`: the `ServerLink` port over CoAP (npm `coap`), MSGin5G-1 from the
 * Gateway UE to the MSGin5G Server.
 */
export { CoapServerLink, DEFAULT_SERVER_DEADLINE_MS, type CoapServerLinkOptions } from './coap-server-link';
export { parseServerUri, type ServerUri } from './server-uri';
