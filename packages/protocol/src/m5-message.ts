/**
 * The messages an M5 binary unit can carry (docs/wire-formats.md §2, §5): the device requests and gateway
 * responses of `@msgin5g/core` (registration and message delivery), plus STATUS, which only exists on the binary wire (it answers a
 * unit that has no request to respond to).
 */
import type { DeliveryMessage, DeviceRequest, DeviceResponse, FailureReason } from '@msgin5g/core';

/**
 * STATUS (Gateway → Application Client): `1F <Failure reason> <offending message type>`, e.g.
 * `1F 09 7E` for an unknown message type 0x7E (docs/wire-formats.md §2).
 */
export interface StatusMessage {
  readonly kind: 'STATUS';
  readonly failureReason: FailureReason;
  /** Message Type octet (0..255) of the unit the STATUS answers. */
  readonly offendingMessageType: number;
}

/**
 * Any M5 binary message this version encodes and decodes: registration (§2), STATUS, and the
 * message-delivery messages 0x01..0x06 (docs/wire-formats.md §5).
 */
export type M5Message = DeviceRequest | DeviceResponse | StatusMessage | DeliveryMessage;
