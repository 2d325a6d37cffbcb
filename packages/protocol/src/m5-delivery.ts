/**
 * M5 binary layouts of the message-delivery messages, 0x01..0x06 (docs/wire-formats.md §5.1, §5.2):
 * decode and encode. Internal: the public entry points are `decodeM5` / `encodeM5` (m5-codec.ts)
 * and `decodeDeviceUnit` (m5-inbound.ts).
 *
 * Mandatory parts, in order (no IEIs): Target / Originator address LV (L = 5..255 octets of UTF-8),
 * Message ID V (16 octets), Payload LV-E (2-octet length, 1..65535 octets), Delivery status V (1),
 * Result V (1). Optional part (TS 24.007 §11.2): `0xA?` Application ID TV 3, `0xB?` Delivery
 * status required (type 1), `0xD?` Target type (type 1), `0x22` Failure reason TLV 3, `0x23`
 * Delivery status TLV 3. As in m5-decoder.ts: IEs that do not belong to the message are skipped
 * but must fit, a duplicate IE that belongs is MALFORMED, a Failure reason code this version does
 * not know reads as `UNSPECIFIED`. Never throws on input; no regular expressions on the hot path.
 *
 * Encoding is canonical: Application ID IEI 0xA0 and the optional IEs in the order Application ID,
 * Delivery status required (only when required), Target type (only when not UE), Failure reason,
 * Delivery status; so `encode(decode(b))` gives back every canonical `b`.
 */
import {
  MESSAGE_ID_OCTETS,
  PAYLOAD_MAX_OCTETS,
  PAYLOAD_MIN_OCTETS,
  SERVICE_ADDRESS_MAX_OCTETS,
  SERVICE_ADDRESS_MIN_OCTETS,
  assertNever,
  type AddressType,
  type ApplicationId,
  type DeliveryMessage,
  type DeliveryStatus,
  type FailureReason,
  type MessageId,
} from '@msgin5g/core';
import {
  FAILURE_REASON_CODE,
  M5_DELIVERY_STATUS,
  M5_DELIVERY_STATUS_REQUIRED,
  M5_IEI,
  M5_IEI_APPLICATION_ID_MASK,
  M5_MESSAGE_RESULT,
  M5_MESSAGE_TYPE,
  M5_TARGET_TYPE,
  M5_TYPE1_IEI_MASK,
  failureReasonFromCode,
} from './codepoints';
import { hexOctet, hexOf, isHex, writeHex } from './hex';
import { M5ProtocolError } from './m5-protocol-error';

const T = M5_MESSAGE_TYPE;

/** The message-delivery Message Types (docs/wire-formats.md §5.2). */
export type DeliveryMessageType = 0x01 | 0x02 | 0x03 | 0x04 | 0x05 | 0x06;

/** Whether `type` is one of the message-delivery Message Types. */
export function isDeliveryMessageType(type: number): type is DeliveryMessageType {
  return type >= T.MESSAGE_SENDING_REQUEST && type <= T.DELIVERY_REPORT_RECEIVING;
}

/** A decoded message-delivery message, or why there is none. */
export type DeliveryUnitResult =
  | { readonly ok: true; readonly message: DeliveryMessage }
  | { readonly ok: false; readonly reason: 'MALFORMED'; readonly detail: string; readonly messageType: number };

const NAME: Readonly<Record<DeliveryMessageType, string>> = {
  0x01: 'MESSAGE SENDING REQUEST',
  0x02: 'DELIVERY REPORT SENDING REQUEST',
  0x03: 'MESSAGE SENDING RESPONSE',
  0x04: 'MESSAGE RECEIVING',
  0x05: 'MESSAGE RECEIVING ACK',
  0x06: 'DELIVERY REPORT RECEIVING',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Decodes a unit whose first octet is a message-delivery Message Type. Never throws. */
export function decodeDeliveryUnit(bytes: Uint8Array, type: DeliveryMessageType): DeliveryUnitResult {
  const r = new Reader(bytes, type);
  try {
    return { ok: true, message: decodeBody(r, type) };
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, reason: 'MALFORMED', detail: `${NAME[type]}: ${err.detail}`, messageType: type };
    throw err;
  }
}

/**
 * The Message ID the failure answer to an undecodable 0x01, 0x02 or 0x05 echoes (docs/wire-formats.md
 * §2 reject table): the 16 octets after the Target address LV (0x01, 0x02) or right after the type
 * (0x05), read even when the rest of the unit does not decode. `undefined` when the unit ends before
 * them, or for another type.
 */
export function messageIdToEcho(bytes: Uint8Array): MessageId | undefined {
  const type = bytes[0];
  let start: number;
  if (type === T.MESSAGE_RECEIVING_ACK) start = 1;
  else if ((type === T.MESSAGE_SENDING_REQUEST || type === T.DELIVERY_REPORT_SENDING_REQUEST) && bytes.length >= 2) start = 2 + (bytes[1] as number);
  else return undefined;
  const end = start + MESSAGE_ID_OCTETS;
  return end <= bytes.length ? (hexOf(bytes, start, end) as MessageId) : undefined;
}

/** Thrown inside the decoder only, caught by {@link decodeDeliveryUnit}; carries no stack. */
class Malformed {
  constructor(readonly detail: string) {}
}

/** A cursor over one unit; every read checks the length first. */
class Reader {
  offset = 1;
  constructor(
    readonly bytes: Uint8Array,
    readonly type: number,
  ) {}

  address(what: string): string {
    const b = this.bytes;
    if (this.offset >= b.length) throw new Malformed(`${what} length octet missing`);
    const length = b[this.offset] as number;
    const start = this.offset + 1;
    const end = start + length;
    if (length < SERVICE_ADDRESS_MIN_OCTETS) throw new Malformed(`${what} must be ${SERVICE_ADDRESS_MIN_OCTETS}..${SERVICE_ADDRESS_MAX_OCTETS} octets, got ${length}`);
    if (end > b.length) throw new Malformed(`${what} of ${length} octets runs past the end (${b.length - start} left)`);
    let text: string;
    try {
      text = utf8.decode(b.subarray(start, end));
    } catch {
      throw new Malformed(`${what} is not UTF-8`);
    }
    this.offset = end;
    return text;
  }

  messageId(): MessageId {
    const end = this.offset + MESSAGE_ID_OCTETS;
    if (end > this.bytes.length) throw new Malformed(`Message ID needs ${MESSAGE_ID_OCTETS} octets, got ${this.bytes.length - this.offset}`);
    const id = hexOf(this.bytes, this.offset, end) as MessageId;
    this.offset = end;
    return id;
  }

  payload(): Uint8Array {
    const b = this.bytes;
    if (this.offset + 2 > b.length) throw new Malformed('Payload length (2 octets) missing');
    const length = ((b[this.offset] as number) << 8) | (b[this.offset + 1] as number);
    const start = this.offset + 2;
    const end = start + length;
    if (length < PAYLOAD_MIN_OCTETS) throw new Malformed('Payload must be 1..65535 octets, got 0');
    if (end > b.length) throw new Malformed(`Payload of ${length} octets runs past the end (${b.length - start} left)`);
    this.offset = end;
    return b.slice(start, end);
  }

  octet(what: string): number {
    if (this.offset >= this.bytes.length) throw new Malformed(`${what} octet missing`);
    return this.bytes[this.offset++] as number;
  }
}

/** IEs found in an optional part; -1 marks an absent one. */
interface Ies {
  applicationId: number;
  deliveryStatusRequired: number;
  targetType: number;
  failureCode: number;
  deliveryStatus: number;
}

/** Bits of {@link readIes}'s `belong`. */
const IE_APP = 1;
const IE_DSR = 2;
const IE_TARGET = 4;
const IE_FAILURE = 8;
const IE_DELIVERY = 16;

/** Walks the optional part from the reader's offset; IEs whose bit is in `belong` are read, the rest skipped. */
function readIes(r: Reader, belong: number): Ies {
  const ies: Ies = { applicationId: -1, deliveryStatusRequired: -1, targetType: -1, failureCode: -1, deliveryStatus: -1 };
  const b = r.bytes;
  const n = b.length;
  let i = r.offset;
  while (i < n) {
    const iei = b[i] as number;
    if ((iei & M5_IEI_APPLICATION_ID_MASK) === M5_IEI.APPLICATION_ID) {
      if (i + 3 > n) throw new Malformed(`Application ID IE (0x${hexOctet(iei)}, TV 3 octets) at offset ${i} runs past the end`);
      if (belong & IE_APP) {
        if (ies.applicationId >= 0) throw new Malformed(`duplicate Application ID IE at offset ${i}`);
        ies.applicationId = ((b[i + 1] as number) << 8) | (b[i + 2] as number);
      }
      i += 3;
    } else if ((iei & 0x80) !== 0) {
      const nibble = iei & M5_TYPE1_IEI_MASK;
      const value = iei & 0x0f;
      if (nibble === M5_IEI.DELIVERY_STATUS_REQUIRED && belong & IE_DSR) {
        if (ies.deliveryStatusRequired >= 0) throw new Malformed(`duplicate Delivery status required IE at offset ${i}`);
        if (value !== M5_DELIVERY_STATUS_REQUIRED.REQUIRED && value !== M5_DELIVERY_STATUS_REQUIRED.NOT_REQUIRED) throw new Malformed(`Delivery status required value ${value} is neither 0 nor 1`);
        ies.deliveryStatusRequired = value;
      } else if (nibble === M5_IEI.TARGET_TYPE && belong & IE_TARGET) {
        if (ies.targetType >= 0) throw new Malformed(`duplicate Target type IE at offset ${i}`);
        if (value > M5_TARGET_TYPE.GROUP) throw new Malformed(`Target type value ${value} is not 0 (UE), 1 (AS) or 2 (group)`);
        ies.targetType = value;
      }
      i += 1;
    } else {
      if (i + 2 > n) throw new Malformed(`IE 0x${hexOctet(iei)} at offset ${i} has no length octet`);
      const length = b[i + 1] as number;
      const end = i + 2 + length;
      if (end > n) throw new Malformed(`IE 0x${hexOctet(iei)} at offset ${i}: length ${length} runs past the end (${n - i - 2} octets left)`);
      if (iei === M5_IEI.FAILURE_REASON && belong & IE_FAILURE) {
        if (ies.failureCode >= 0) throw new Malformed(`duplicate Failure reason IE at offset ${i}`);
        if (length !== 1) throw new Malformed(`Failure reason IE must have length 1, got ${length}`);
        ies.failureCode = b[i + 2] as number;
      } else if (iei === M5_IEI.DELIVERY_STATUS && belong & IE_DELIVERY) {
        if (ies.deliveryStatus >= 0) throw new Malformed(`duplicate Delivery status IE at offset ${i}`);
        if (length !== 1) throw new Malformed(`Delivery status IE must have length 1, got ${length}`);
        ies.deliveryStatus = b[i + 2] as number;
      }
      i = end;
    }
  }
  r.offset = n;
  return ies;
}

const STATUS_BY_OCTET: readonly DeliveryStatus[] = ['DELIVERED', 'FAILED', 'STORED'];
const TYPE_BY_NIBBLE: readonly AddressType[] = ['UE', 'AS', 'GROUP'];

function deliveryStatusOf(octet: number): DeliveryStatus {
  const s = STATUS_BY_OCTET[octet];
  if (s === undefined) throw new Malformed(`Delivery status 0x${hexOctet(octet)} is not 0x00 (delivered), 0x01 (failed) or 0x02 (stored)`);
  return s;
}

/** Adds `applicationId` / `failureReason` members only when present (no `undefined` members). */
function optional(ies: Ies): { applicationId?: ApplicationId; failureReason?: FailureReason } {
  const out: { applicationId?: ApplicationId; failureReason?: FailureReason } = {};
  if (ies.applicationId >= 0) out.applicationId = ies.applicationId as ApplicationId;
  if (ies.failureCode >= 0) out.failureReason = failureReasonFromCode(ies.failureCode) ?? 'UNSPECIFIED';
  return out;
}

/** The common layout of 0x01 and 0x04: address LV, Message ID, Payload LV-E, then Application ID, Delivery status required, Target type. */
function readMessage(r: Reader, what: string) {
  const address = r.address(what);
  const messageId = r.messageId();
  const payload = r.payload();
  const ies = readIes(r, IE_APP | IE_DSR | IE_TARGET);
  const deliveryStatusRequired = ies.deliveryStatusRequired === M5_DELIVERY_STATUS_REQUIRED.REQUIRED;
  return { address, messageId, payload, app: optional(ies), deliveryStatusRequired, addressType: TYPE_BY_NIBBLE[Math.max(ies.targetType, 0)] as AddressType };
}

/** The common layout of 0x02 and 0x06: address LV, Message ID, Delivery status, then Application ID and Failure reason. */
function readReport(r: Reader, what: string) {
  const address = r.address(what);
  const messageId = r.messageId();
  const deliveryStatus = deliveryStatusOf(r.octet('Delivery status'));
  return { address, messageId, deliveryStatus, optionals: optional(readIes(r, IE_APP | IE_FAILURE)) };
}

function decodeBody(r: Reader, type: DeliveryMessageType): DeliveryMessage {
  switch (type) {
    case 0x01: {
      const m = readMessage(r, 'Target address');
      const { address: targetAddress, messageId, payload, deliveryStatusRequired, addressType: targetType } = m;
      return { kind: 'MESSAGE_SENDING_REQUEST', targetAddress, messageId, payload, ...m.app, deliveryStatusRequired, targetType };
    }
    case 0x04: {
      const m = readMessage(r, 'Originator address');
      const { address: originatorAddress, messageId, payload, deliveryStatusRequired, addressType: originatorType } = m;
      return { kind: 'MESSAGE_RECEIVING', originatorAddress, messageId, payload, ...m.app, deliveryStatusRequired, originatorType };
    }
    case 0x02: {
      const { address: targetAddress, messageId, deliveryStatus, optionals } = readReport(r, 'Target address');
      return { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress, messageId, deliveryStatus, ...optionals };
    }
    case 0x06: {
      const { address: originatorAddress, messageId, deliveryStatus, optionals } = readReport(r, 'Originator address');
      return { kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress, messageId, deliveryStatus, ...optionals };
    }
    case 0x03: {
      const messageId = r.messageId();
      const result = r.octet('Result');
      const ies = readIes(r, IE_APP | IE_FAILURE | IE_DELIVERY);
      const app = ies.applicationId >= 0 ? { applicationId: ies.applicationId as ApplicationId } : {};
      if (result === M5_MESSAGE_RESULT.ACCEPTED) {
        if (ies.failureCode >= 0) throw new Malformed('an accepted response carries a Failure reason IE');
        if (ies.deliveryStatus < 0) return { kind: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'ACCEPTED', ...app };
        const status = deliveryStatusOf(ies.deliveryStatus);
        if (status === 'FAILED') throw new Malformed('an accepted response carries Delivery status failed');
        return { kind: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'ACCEPTED', ...app, deliveryStatus: status };
      }
      if (result === M5_MESSAGE_RESULT.FAILURE) {
        if (ies.failureCode < 0) throw new Malformed('a failure response lacks the Failure reason IE');
        if (ies.deliveryStatus >= 0) throw new Malformed('a failure response carries a Delivery status IE');
        return { kind: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'FAILURE', failureReason: failureReasonFromCode(ies.failureCode) ?? 'UNSPECIFIED', ...app };
      }
      throw new Malformed(`Result 0x${hexOctet(result)} is neither 0x00 (accepted) nor 0x01 (failure)`);
    }
    case 0x05: {
      const messageId = r.messageId();
      return { kind: 'MESSAGE_RECEIVING_ACK', messageId, ...optional(readIes(r, IE_APP)) };
    }
    default:
      return assertNever(type, 'message-delivery type');
  }
}

// ---- encoding -------------------------------------------------------------------------------

/** A growable octet buffer for one message (messages are at most ~65 KiB). */
class Writer {
  private out: number[] = [];
  constructor(readonly type: number) {
    this.out.push(type);
  }
  octet(v: number): this {
    this.out.push(v);
    return this;
  }
  address(value: string, what: string): this {
    if (typeof value !== 'string') throw unencodable(this.type, `${what} must be a string, got ${typeof value}`);
    const b = utf8Encoder.encode(value);
    if (b.length < SERVICE_ADDRESS_MIN_OCTETS || b.length > SERVICE_ADDRESS_MAX_OCTETS) {
      throw unencodable(this.type, `${what} must be ${SERVICE_ADDRESS_MIN_OCTETS}..${SERVICE_ADDRESS_MAX_OCTETS} octets of UTF-8, got ${b.length}`);
    }
    this.out.push(b.length, ...b);
    return this;
  }
  messageId(value: MessageId): this {
    if (typeof value !== 'string' || value.length !== 2 * MESSAGE_ID_OCTETS || !isHex(value)) throw unencodable(this.type, 'Message ID must be 16 octets as 32 hex characters');
    const b = new Uint8Array(MESSAGE_ID_OCTETS);
    writeHex(value, b, 0);
    for (const x of b) this.out.push(x);
    return this;
  }
  payload(value: Uint8Array): this {
    if (!(value instanceof Uint8Array) || value.length < PAYLOAD_MIN_OCTETS || value.length > PAYLOAD_MAX_OCTETS) {
      throw unencodable(this.type, `Payload must be ${PAYLOAD_MIN_OCTETS}..${PAYLOAD_MAX_OCTETS} octets, got ${value instanceof Uint8Array ? value.length : typeof value}`);
    }
    this.out.push(value.length >> 8, value.length & 0xff);
    for (const x of value) this.out.push(x);
    return this;
  }
  applicationId(value: ApplicationId | undefined): this {
    if (value === undefined) return this;
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw unencodable(this.type, `Application ID must be an integer 0..65535, got ${String(value)}`);
    this.out.push(M5_IEI.APPLICATION_ID, value >> 8, value & 0xff);
    return this;
  }
  deliveryStatusRequired(required: boolean): this {
    if (required) this.out.push(M5_IEI.DELIVERY_STATUS_REQUIRED | M5_DELIVERY_STATUS_REQUIRED.REQUIRED);
    return this;
  }
  addressType(type: AddressType): this {
    const code = Object.hasOwn(M5_TARGET_TYPE, type) ? M5_TARGET_TYPE[type] : undefined;
    if (code === undefined) throw unencodable(this.type, `unknown target type ${String(type)}`);
    if (type !== 'UE') this.out.push(M5_IEI.TARGET_TYPE | code);
    return this;
  }
  failureReason(reason: FailureReason | undefined): this {
    if (reason === undefined) return this;
    const code = typeof reason === 'string' && Object.hasOwn(FAILURE_REASON_CODE, reason) ? FAILURE_REASON_CODE[reason] : undefined;
    if (code === undefined) throw unencodable(this.type, `unknown Failure reason ${String(reason)}`);
    this.out.push(M5_IEI.FAILURE_REASON, 1, code);
    return this;
  }
  deliveryStatus(status: DeliveryStatus): this {
    this.out.push(deliveryStatusCode(status, this.type));
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

function deliveryStatusCode(status: DeliveryStatus, type: number): number {
  const code = Object.hasOwn(M5_DELIVERY_STATUS, status) ? M5_DELIVERY_STATUS[status] : undefined;
  if (code === undefined) throw unencodable(type, `unknown Delivery status ${String(status)}`);
  return code;
}

function unencodable(type: number, detail: string): M5ProtocolError {
  return new M5ProtocolError('MALFORMED', `${NAME[type as DeliveryMessageType] ?? `type 0x${hexOctet(type)}`}: ${detail}`, type);
}

/**
 * Encodes a message-delivery message canonically.
 * @throws M5ProtocolError (`MALFORMED`) for a value with no encoding (address not 5..255 octets of
 *   UTF-8, Message ID not 32 hex characters, payload not 1..65535 octets, unknown Failure reason,
 *   Delivery status or target type, Application ID outside 0..65535).
 */
export function encodeDelivery(message: DeliveryMessage): Uint8Array {
  switch (message.kind) {
    case 'MESSAGE_SENDING_REQUEST':
      return writeMessage(T.MESSAGE_SENDING_REQUEST, message.targetAddress, 'Target address', message, message.targetType);
    case 'DELIVERY_REPORT_SENDING_REQUEST':
      return writeReport(T.DELIVERY_REPORT_SENDING_REQUEST, message.targetAddress, 'Target address', message);
    case 'MESSAGE_SENDING_RESPONSE': {
      const w = new Writer(T.MESSAGE_SENDING_RESPONSE).messageId(message.messageId);
      if (message.result === 'ACCEPTED') {
        w.octet(M5_MESSAGE_RESULT.ACCEPTED).applicationId(message.applicationId);
        if (message.deliveryStatus !== undefined) {
          if (message.deliveryStatus !== 'DELIVERED' && message.deliveryStatus !== 'STORED') throw unencodable(T.MESSAGE_SENDING_RESPONSE, `an accepted response's Delivery status is DELIVERED or STORED, got ${String(message.deliveryStatus)}`);
          w.octet(M5_IEI.DELIVERY_STATUS).octet(1).deliveryStatus(message.deliveryStatus);
        }
        return w.bytes();
      }
      if (message.result === 'FAILURE') return w.octet(M5_MESSAGE_RESULT.FAILURE).applicationId(message.applicationId).failureReason(message.failureReason).bytes();
      return assertNever(message, 'message sending result');
    }
    case 'MESSAGE_RECEIVING':
      return writeMessage(T.MESSAGE_RECEIVING, message.originatorAddress, 'Originator address', message, message.originatorType);
    case 'MESSAGE_RECEIVING_ACK':
      return new Writer(T.MESSAGE_RECEIVING_ACK).messageId(message.messageId).applicationId(message.applicationId).bytes();
    case 'DELIVERY_REPORT_RECEIVING':
      return writeReport(T.DELIVERY_REPORT_RECEIVING, message.originatorAddress, 'Originator address', message);
    default:
      return assertNever(message, 'message-delivery kind');
  }
}

/** 0x01 / 0x04: address LV, Message ID, Payload LV-E, Application ID, Delivery status required, type. */
function writeMessage(
  type: number,
  address: string,
  what: string,
  m: { messageId: MessageId; payload: Uint8Array; applicationId?: ApplicationId; deliveryStatusRequired: boolean },
  addressType: AddressType,
): Uint8Array {
  return new Writer(type).address(address, what).messageId(m.messageId).payload(m.payload).applicationId(m.applicationId).deliveryStatusRequired(m.deliveryStatusRequired).addressType(addressType).bytes();
}

/** 0x02 / 0x06: address LV, Message ID, Delivery status, Application ID, Failure reason. */
function writeReport(type: number, address: string, what: string, m: { messageId: MessageId; deliveryStatus: DeliveryStatus; applicationId?: ApplicationId; failureReason?: FailureReason }): Uint8Array {
  return new Writer(type).address(address, what).messageId(m.messageId).deliveryStatus(m.deliveryStatus).applicationId(m.applicationId).failureReason(m.failureReason).bytes();
}
