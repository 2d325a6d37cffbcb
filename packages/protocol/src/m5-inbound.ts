/**
 * The gateway's handling of one inbound M5 binary unit from a device: a request for the core, or
 * the answer the reject table of docs/wire-formats.md §2 prescribes. Shared by the UDP and L2 links so
 * both answer bad input with the same bytes.
 *
 * | input | answer |
 * |---|---|
 * | 0 octets | none (`answer: null`: dropped, logged, counted) |
 * | unknown type, or a type only the gateway sends (0x11, 0x13, 0x1F) | STATUS `1F 09 <type>` |
 * | REGISTRATION / DE-REGISTRATION REQUEST that does not decode (incl. Registration ID length 0 or > 16) | matching RESPONSE, Result 0x01, Failure reason 0x05, no Application ID |
 *
 * Every answer is at most 5 octets, so the gateway cannot amplify spoofed traffic.
 */
import { assertNever, failureResponse, type DeviceRequest } from '@msgin5g/core';
import { M5_MESSAGE_TYPE } from './codepoints';
import { hexOctet } from './hex';
import { encodeM5 } from './m5-codec';
import { decodeM5Unit } from './m5-decoder';

/** What to do with one inbound unit. */
export type M5Inbound =
  | { kind: 'REQUEST'; request: DeviceRequest }
  /** `answer` null: nothing can be answered (empty input); drop it. `detail` is for logs. */
  | { kind: 'REJECT'; answer: Uint8Array | null; detail: string };

/**
 * Decodes a unit a device sent to the gateway. Never throws, whatever the input.
 * @see docs/wire-formats.md §2 reject table; cases C07
 */
export function decodeDeviceRequest(bytes: Uint8Array): M5Inbound {
  if (!(bytes instanceof Uint8Array)) return { kind: 'REJECT', answer: null, detail: 'input is not a byte array' };
  if (bytes.length === 0) return { kind: 'REJECT', answer: null, detail: 'empty unit: no Message Type to answer' };
  const type = bytes[0] as number;
  // Only the two request types are decoded; anything else is answered from its first octet alone.
  if (type !== M5_MESSAGE_TYPE.REGISTRATION_REQUEST && type !== M5_MESSAGE_TYPE.DEREGISTRATION_REQUEST) return unsupported(type);
  const decoded = decodeM5Unit(bytes);
  if (!decoded.ok) {
    const kind = type === M5_MESSAGE_TYPE.REGISTRATION_REQUEST ? 'REGISTRATION_REQUEST' : 'DEREGISTRATION_REQUEST';
    return { kind: 'REJECT', answer: encodeM5(failureResponse(kind, 'MALFORMED_REQUEST')), detail: decoded.detail };
  }
  const message = decoded.message;
  switch (message.kind) {
    case 'REGISTRATION_REQUEST':
    case 'DEREGISTRATION_REQUEST':
      return { kind: 'REQUEST', request: message };
    case 'REGISTRATION_RESPONSE':
    case 'DEREGISTRATION_RESPONSE':
    case 'STATUS':
      return unsupported(type); // unreachable: the type octet was checked above
    default:
      return assertNever(message, 'M5 message kind');
  }
}

function unsupported(type: number): M5Inbound {
  const gatewaySent =
    type === M5_MESSAGE_TYPE.REGISTRATION_RESPONSE || type === M5_MESSAGE_TYPE.DEREGISTRATION_RESPONSE || type === M5_MESSAGE_TYPE.STATUS;
  return {
    kind: 'REJECT',
    answer: encodeM5({ kind: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: type }),
    detail: gatewaySent ? `message type 0x${hexOctet(type)} is sent only by the gateway` : `unknown message type 0x${hexOctet(type)}`,
  };
}
