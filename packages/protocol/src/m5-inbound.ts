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
import { assertNever, failureResponse, type DeviceDeliveryMessage, type DeviceRequest } from '@msgin5g/core';
import { M5_MESSAGE_TYPE } from './codepoints';
import { hexOctet } from './hex';
import { encodeM5 } from './m5-codec';
import { isDeliveryMessageType, messageIdToEcho } from './m5-delivery';
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
    default:
      return unsupported(type); // unreachable: the type octet was checked above
  }
}

function unsupported(type: number): M5Inbound {
  const gatewaySent =
    type === M5_MESSAGE_TYPE.REGISTRATION_RESPONSE || type === M5_MESSAGE_TYPE.DEREGISTRATION_RESPONSE || type === M5_MESSAGE_TYPE.STATUS;
  return {
    kind: 'REJECT',
    answer: encodeM5({ kind: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: type }),
    detail: gatewaySent
      ? `message type 0x${hexOctet(type)} is sent only by the gateway`
      : isDeliveryMessageType(type)
        ? `message-delivery type 0x${hexOctet(type)} is not served by this entry point (decodeDeviceUnit decodes it)`
        : `unknown message type 0x${hexOctet(type)}`,
  };
}

/** What to do with one inbound unit, message delivery included (docs/wire-formats.md §5). */
export type M5DeviceUnit =
  | { kind: 'REQUEST'; request: DeviceRequest }
  /** A message-delivery message from a device: 0x01, 0x02 or 0x05. */
  | { kind: 'DELIVERY'; message: DeviceDeliveryMessage }
  /** `answer` null: nothing can be answered (empty input); drop it. `detail` is for logs. */
  | { kind: 'REJECT'; answer: Uint8Array | null; detail: string };

/**
 * Decodes a unit a device sent to the gateway, message-delivery messages included (the reject table
 * of docs/wire-formats.md §2, version 2 rows). Never throws, whatever the input.
 *
 * | input | answer |
 * |---|---|
 * | as {@link decodeDeviceRequest} for 0 octets, unknown types and REG / DEREG | the same |
 * | a type only the gateway sends (0x03, 0x04, 0x06, 0x11, 0x13, 0x1F) | STATUS `1F 09 <type>` |
 * | 0x01, 0x02 or 0x05 that does not decode, its Message ID readable | MESSAGE SENDING RESPONSE `03 <Message ID> 01 22 01 05` |
 * | 0x01, 0x02 or 0x05 cut short before the end of its Message ID | STATUS `1F 05 <type>` |
 *
 * An answer is at most 5 octets, or 4 more than the unit it answers (a readable Message ID takes
 * 17 octets of input; the answer has 21), so spoofed traffic is not amplified.
 */
export function decodeDeviceUnit(bytes: Uint8Array): M5DeviceUnit {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return decodeDeviceRequest(bytes) as M5DeviceUnit;
  const type = bytes[0] as number;
  if (type === M5_MESSAGE_TYPE.MESSAGE_SENDING_RESPONSE || type === M5_MESSAGE_TYPE.MESSAGE_RECEIVING || type === M5_MESSAGE_TYPE.DELIVERY_REPORT_RECEIVING) {
    return { kind: 'REJECT', answer: encodeM5({ kind: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: type }), detail: `message type 0x${hexOctet(type)} is sent only by the gateway` };
  }
  if (type !== M5_MESSAGE_TYPE.MESSAGE_SENDING_REQUEST && type !== M5_MESSAGE_TYPE.DELIVERY_REPORT_SENDING_REQUEST && type !== M5_MESSAGE_TYPE.MESSAGE_RECEIVING_ACK) {
    return decodeDeviceRequest(bytes);
  }
  const decoded = decodeM5Unit(bytes);
  if (decoded.ok) {
    const message = decoded.message;
    switch (message.kind) {
      case 'MESSAGE_SENDING_REQUEST':
      case 'DELIVERY_REPORT_SENDING_REQUEST':
      case 'MESSAGE_RECEIVING_ACK':
        return { kind: 'DELIVERY', message };
      default:
        // unreachable: the type octet was checked above
        return { kind: 'REJECT', answer: null, detail: `message type 0x${hexOctet(type)} decoded as ${message.kind}` };
    }
  }
  const echo = messageIdToEcho(bytes);
  const answer =
    echo === undefined
      ? encodeM5({ kind: 'STATUS', failureReason: 'MALFORMED_REQUEST', offendingMessageType: type })
      : encodeM5({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: echo, result: 'FAILURE', failureReason: 'MALFORMED_REQUEST' });
  return { kind: 'REJECT', answer, detail: decoded.detail };
}

/**
 * What a binary link does with a decoded message-delivery unit when its handler has no
 * `onDeliveryMessage` (a handler written before version 2; packages/core/src/ports/device-link.ts):
 * a MESSAGE SENDING REQUEST is answered MESSAGE SENDING RESPONSE failure MESSAGE_TYPE_NOT_SUPPORTED,
 * its Message ID (and Application ID) echoed; a DELIVERY REPORT SENDING REQUEST or MESSAGE RECEIVING
 * ACK is dropped (`answer` null). Either way the link reports it as a protocol error with `detail`.
 * The answer is 21 or 24 octets, shorter than the 0x01 it answers (at least 25), so it cannot
 * amplify spoofed traffic.
 * @see docs/wire-formats.md §2 reject table, §5.2
 */
export function answerWithoutDeliveryHandler(message: DeviceDeliveryMessage): { readonly answer: Uint8Array | null; readonly detail: string } {
  switch (message.kind) {
    case 'MESSAGE_SENDING_REQUEST':
      return {
        answer: encodeM5({
          kind: 'MESSAGE_SENDING_RESPONSE',
          messageId: message.messageId,
          result: 'FAILURE',
          failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED',
          ...(message.applicationId === undefined ? {} : { applicationId: message.applicationId }),
        }),
        detail: 'MESSAGE SENDING REQUEST: this gateway does not relay messages (no message-delivery handler); answered MESSAGE_TYPE_NOT_SUPPORTED',
      };
    case 'DELIVERY_REPORT_SENDING_REQUEST':
      return { answer: null, detail: 'DELIVERY REPORT SENDING REQUEST dropped: this gateway does not relay messages (no message-delivery handler)' };
    case 'MESSAGE_RECEIVING_ACK':
      return { answer: null, detail: 'MESSAGE RECEIVING ACK dropped: this gateway does not relay messages (no message-delivery handler)' };
    default:
      return assertNever(message, 'device delivery message');
  }
}
