/**
 * CoAP transmission parameters (RFC 7252 §4.8) and the times derived from them (§4.8.2), as the
 * CoAP device link uses them: its own retransmissions of separate responses, and how long it
 * remembers a device's Message IDs. Defaults of the RFC; only ACK_TIMEOUT is configurable (tests
 * shorten it), so the derived lifetimes stay the RFC's.
 *
 * @see RFC 7252 §4.8 (transmission parameters), §4.8.2 (time values derived from them)
 */
import { EXCHANGE_LIFETIME_MS } from '@msgin5g/core';

/** ACK_TIMEOUT, ms: the first retransmission of a CON comes after ACK_TIMEOUT × [1, ACK_RANDOM_FACTOR]. */
export const DEFAULT_ACK_TIMEOUT_MS = 2_000;
/** ACK_RANDOM_FACTOR. */
export const ACK_RANDOM_FACTOR = 1.5;
/** MAX_RETRANSMIT: retransmissions of a CON after its first transmission. */
export const MAX_RETRANSMIT = 4;
/** EXCHANGE_LIFETIME, ms: how long a CON's Message ID is remembered for duplicate detection (247 s); the one definition is in @msgin5g/core. */
export { EXCHANGE_LIFETIME_MS };
/** NON_LIFETIME, ms: how long a NON's Message ID is remembered for duplicate detection (145 s); defined beside the duplicate cache in @msgin5g/protocol. */
export { NON_LIFETIME_MS } from '@msgin5g/protocol';
