/**
 * Duplicate detection of the CoAP message layer (RFC 7252 §4.5): the cache lives in
 * `@msgin5g/protocol` (`coap-duplicate-cache.ts`), shared with the gateway's MSGin5G-1 endpoint;
 * re-exported here under the name the link's message layer and tests use.
 */
export { CoapDuplicateCache as DuplicateCache, type DuplicateLifetimes } from '@msgin5g/protocol';
