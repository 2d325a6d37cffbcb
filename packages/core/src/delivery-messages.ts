/**
 * Domain form of the MSGin5G-5 message-delivery messages between an Application Client and the
 * Gateway UE (TS 24.538 §6.1 b): sending and receiving messages and delivery status reports. Only the
 * layout of Annex A.2.1.1 (MESSAGE SENDING REQUEST) is public; the rest is the project's provisional
 * choice. Byte layouts live in `@msgin5g/protocol`; this module holds only meaning.
 *
 * @see docs/wire-formats.md §5.1 (information elements), §5.2 (messages)
 */
import type { ApplicationId, Parsed } from './ids';
import type { FailureReason } from './messages';

/** Octets of a Message ID (docs/wire-formats.md §5.1: V, 16 octets, chosen by the sender). */
export const MESSAGE_ID_OCTETS = 16;
/** Shortest and longest Target / Originator address, octets of UTF-8 (§5.1: LV, L = 5..255). */
export const SERVICE_ADDRESS_MIN_OCTETS = 5;
export const SERVICE_ADDRESS_MAX_OCTETS = 255;
/** Shortest and longest Payload, octets (§5.1: LV-E, P = 1..65535). */
export const PAYLOAD_MIN_OCTETS = 1;
export const PAYLOAD_MAX_OCTETS = 0xffff;

declare const messageIdBrand: unique symbol;
/** A Message ID: 32 lower-case hex characters (16 octets), unique per sender (§5.1). */
export type MessageId = string & { readonly [messageIdBrand]: true };

/** Parses a Message ID from 32 hex characters (either case; stored lower-case). */
export function parseMessageId(input: string): Parsed<MessageId> {
  if (typeof input !== 'string' || !/^[0-9a-fA-F]{32}$/.test(input)) return { ok: false, error: 'a Message ID is 16 octets written as 32 hex characters' };
  return { ok: true, value: input.toLowerCase() as MessageId };
}

/**
 * A Target or Originator address: a UE Service ID or an AS Service ID (TS 23.554 §8.2), 5..255
 * octets of UTF-8 (§5.1).
 */
export type ServiceAddress = string;

/** What a Target / Originator address names (§5.1 "Target type"; absent on the wire = UE). */
export type AddressType = 'UE' | 'AS' | 'GROUP';
export const ADDRESS_TYPES: readonly AddressType[] = ['UE', 'AS', 'GROUP'];

/** Delivery status (§5.1): delivered, failed, or stored by the server for later delivery (TS 29.538 `DELY_STORED`). */
export type DeliveryStatus = 'DELIVERED' | 'FAILED' | 'STORED';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['DELIVERED', 'FAILED', 'STORED'];

/** 0x01 MESSAGE SENDING REQUEST, Application Client → Gateway UE (TS 24.538 Annex A.2.1.1; §5.2). */
export interface MessageSendingRequest {
  readonly kind: 'MESSAGE_SENDING_REQUEST';
  readonly targetAddress: ServiceAddress;
  readonly messageId: MessageId;
  /** 1..65535 octets. */
  readonly payload: Uint8Array;
  /** The sending Application Client; absent: the only registration of the sender's Layer-2 ID (§5.2). */
  readonly applicationId?: ApplicationId;
  readonly deliveryStatusRequired: boolean;
  readonly targetType: AddressType;
}

/** 0x02 DELIVERY REPORT SENDING REQUEST, Application Client → Gateway UE (Annex A.2.1.2 by name; §5.2). */
export interface DeliveryReportSendingRequest {
  readonly kind: 'DELIVERY_REPORT_SENDING_REQUEST';
  /** The originator of the message reported on. */
  readonly targetAddress: ServiceAddress;
  /** The Message ID of the message reported on. */
  readonly messageId: MessageId;
  readonly deliveryStatus: DeliveryStatus;
  readonly applicationId?: ApplicationId;
  readonly failureReason?: FailureReason;
}

/** 0x03 MESSAGE SENDING RESPONSE, Gateway UE → Application Client (§5.2): the server's verdict. */
export type MessageSendingResponse =
  | {
      readonly kind: 'MESSAGE_SENDING_RESPONSE';
      readonly messageId: MessageId;
      readonly result: 'ACCEPTED';
      readonly applicationId?: ApplicationId;
      /** What the server said: delivered, or stored for later delivery. */
      readonly deliveryStatus?: 'DELIVERED' | 'STORED';
    }
  | {
      readonly kind: 'MESSAGE_SENDING_RESPONSE';
      readonly messageId: MessageId;
      readonly result: 'FAILURE';
      readonly failureReason: FailureReason;
      readonly applicationId?: ApplicationId;
    };

/** 0x04 MESSAGE RECEIVING, Gateway UE → Application Client (§5.2, §5.3: resent until 0x05). */
export interface MessageReceiving {
  readonly kind: 'MESSAGE_RECEIVING';
  readonly originatorAddress: ServiceAddress;
  /** The originator's Message ID. */
  readonly messageId: MessageId;
  readonly payload: Uint8Array;
  /** The receiving Application Client. */
  readonly applicationId?: ApplicationId;
  readonly deliveryStatusRequired: boolean;
  readonly originatorType: AddressType;
}

/** 0x05 MESSAGE RECEIVING ACK, Application Client → Gateway UE (§5.2). */
export interface MessageReceivingAck {
  readonly kind: 'MESSAGE_RECEIVING_ACK';
  /** The Message ID of the 0x04 acknowledged. */
  readonly messageId: MessageId;
  readonly applicationId?: ApplicationId;
}

/** 0x06 DELIVERY REPORT RECEIVING, Gateway UE → Application Client (§5.2): a report on the device's own message. */
export interface DeliveryReportReceiving {
  readonly kind: 'DELIVERY_REPORT_RECEIVING';
  /** Who reports (the recipient of the device's message). */
  readonly originatorAddress: ServiceAddress;
  /** The Message ID of the device's own earlier message. */
  readonly messageId: MessageId;
  readonly deliveryStatus: DeliveryStatus;
  readonly applicationId?: ApplicationId;
  readonly failureReason?: FailureReason;
}

/** A message-delivery message a device sends to the gateway. */
export type DeviceDeliveryMessage = MessageSendingRequest | DeliveryReportSendingRequest | MessageReceivingAck;
/** A message-delivery message the gateway sends to a device. */
export type GatewayDeliveryMessage = MessageSendingResponse | MessageReceiving | DeliveryReportReceiving;
/** Any message-delivery message on MSGin5G-5. */
export type DeliveryMessage = DeviceDeliveryMessage | GatewayDeliveryMessage;
