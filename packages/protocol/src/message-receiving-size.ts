/**
 * How large a Payload fits in one MESSAGE RECEIVING (0x04, docs/wire-formats.md §5.2) on a link whose
 * largest unit is known: the unit minus the other fields at their longest. Each binary link (UDP,
 * L2, serial) derives its `DeviceLink.maxPayloadOctets` from here, so the worst case is written once.
 *
 * Layout of the worst case (§5.1, §5.2; canonical encoding of m5-delivery.ts):
 *
 * | field | octets |
 * |---|---|
 * | Message Type | 1 |
 * | Originator address LV: length octet + 255 octets of UTF-8 | 256 |
 * | Message ID V | 16 |
 * | Payload LV-E: the 2-octet length (the payload itself not counted) | 2 |
 * | `0xA0` Application ID TV | 3 |
 * | `0xB1` Delivery status required, type 1 | 1 |
 * | `0xD?` originator type, type 1 (written when not UE) | 1 |
 *
 * Pure: no I/O.
 * @see docs/wire-formats.md §5.1, §5.2; packages/core/src/ports/device-link.ts (`maxPayloadOctets`)
 */
import { MESSAGE_ID_OCTETS, PAYLOAD_MAX_OCTETS, SERVICE_ADDRESS_MAX_OCTETS } from '@msgin5g/core';

/** Octets of a MESSAGE RECEIVING besides its Payload, with every other field at its longest: 280. */
export const MESSAGE_RECEIVING_OVERHEAD_OCTETS =
  1 + // Message Type
  1 + SERVICE_ADDRESS_MAX_OCTETS + // Originator address LV
  MESSAGE_ID_OCTETS + // Message ID V
  2 + // Payload length of the LV-E
  3 + // Application ID TV (0xA0)
  1 + // Delivery status required (0xB1)
  1; // originator type (0xD?)

/**
 * The largest Payload, octets, that a MESSAGE RECEIVING can carry in a unit of at most `unitOctets`
 * octets whatever its other fields: `unitOctets − 280`, at most 65,535 (§5.1), at least 0.
 * @throws RangeError when `unitOctets` is not a non-negative integer.
 */
export function messageReceivingMaxPayloadOctets(unitOctets: number): number {
  if (!Number.isInteger(unitOctets) || unitOctets < 0) throw new RangeError(`unitOctets must be a non-negative integer, got ${String(unitOctets)}`);
  return Math.max(0, Math.min(PAYLOAD_MAX_OCTETS, unitOctets - MESSAGE_RECEIVING_OVERHEAD_OCTETS));
}
