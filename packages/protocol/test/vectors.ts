// Loads the M5 binary test vectors of docs/wire-formats.md §2 and §5 (fixtures/m5-vectors.json) and maps their
// JSON form (`type`, `result`, …) into the domain shape the codec uses (`kind`, branded ids).
import type { AddressType, ApplicationId, DeliveryStatus, FailureReason, MessageId, RegistrationId } from '@msgin5g/core';
import { failureReasonFromCode, type M5Message } from '@msgin5g/protocol';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface VectorMessage {
  type: string;
  result?: string | number;
  targetAddress?: string;
  originatorAddress?: string;
  messageId?: string;
  payloadHex?: string;
  deliveryStatusRequired?: boolean;
  targetType?: string;
  deliveryStatus?: number;
  applicationId?: number;
  registrationId?: string;
  failureReason?: string | number;
  offendingMessageType?: number;
  lifetimeS?: number;
}

const DELIVERY_STATUS_BY_OCTET: readonly DeliveryStatus[] = ['DELIVERED', 'FAILED', 'STORED'];

/** A Failure reason as the vectors write it: a name (section 2 vectors) or its code (v2 vectors). */
function reasonOf(value: string | number | undefined): FailureReason {
  if (typeof value === 'number') return failureReasonFromCode(value) ?? 'UNSPECIFIED';
  return value as FailureReason;
}

export interface DecodeVector {
  name: string;
  hex: string;
  message: M5Message;
}
export interface RejectVector {
  name: string;
  hex: string;
  answer: string | null;
}

export const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
export const hexOf = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));

function toDomain(m: VectorMessage): M5Message {
  const app = m.applicationId === undefined ? {} : { applicationId: m.applicationId as ApplicationId };
  const reason = m.failureReason === undefined ? {} : { failureReason: reasonOf(m.failureReason) };
  const id = m.messageId as MessageId;
  switch (m.type) {
    case 'MESSAGE_SENDING_REQUEST':
      return {
        kind: m.type,
        targetAddress: m.targetAddress as string,
        messageId: id,
        payload: bytes(m.payloadHex as string),
        ...app,
        deliveryStatusRequired: m.deliveryStatusRequired ?? false,
        targetType: (m.targetType ?? 'UE') as AddressType,
      };
    case 'MESSAGE_RECEIVING':
      return {
        kind: m.type,
        originatorAddress: m.originatorAddress as string,
        messageId: id,
        payload: bytes(m.payloadHex as string),
        ...app,
        deliveryStatusRequired: m.deliveryStatusRequired ?? false,
        originatorType: (m.targetType ?? 'UE') as AddressType,
      };
    case 'MESSAGE_SENDING_RESPONSE':
      return m.result === 0
        ? { kind: m.type, messageId: id, result: 'ACCEPTED', ...app, ...(m.deliveryStatus === undefined ? {} : { deliveryStatus: DELIVERY_STATUS_BY_OCTET[m.deliveryStatus] as 'DELIVERED' | 'STORED' }) }
        : { kind: m.type, messageId: id, result: 'FAILURE', failureReason: reasonOf(m.failureReason), ...app };
    case 'MESSAGE_RECEIVING_ACK':
      return { kind: m.type, messageId: id, ...app };
    case 'DELIVERY_REPORT_SENDING_REQUEST':
      return { kind: m.type, targetAddress: m.targetAddress as string, messageId: id, deliveryStatus: DELIVERY_STATUS_BY_OCTET[m.deliveryStatus as number] as DeliveryStatus, ...app, ...reason };
    case 'DELIVERY_REPORT_RECEIVING':
      return { kind: m.type, originatorAddress: m.originatorAddress as string, messageId: id, deliveryStatus: DELIVERY_STATUS_BY_OCTET[m.deliveryStatus as number] as DeliveryStatus, ...app, ...reason };
    case 'REGISTRATION_REQUEST':
      return m.lifetimeS === undefined
        ? { kind: 'REGISTRATION_REQUEST', applicationId: m.applicationId as ApplicationId }
        : { kind: 'REGISTRATION_REQUEST', applicationId: m.applicationId as ApplicationId, lifetimeS: m.lifetimeS };
    case 'DEREGISTRATION_REQUEST':
      return { kind: 'DEREGISTRATION_REQUEST', registrationId: m.registrationId as RegistrationId };
    case 'REGISTRATION_RESPONSE':
    case 'DEREGISTRATION_RESPONSE':
      if (m.result === 'SUCCESS' && m.type === 'REGISTRATION_RESPONSE' && m.lifetimeS !== undefined) {
        return { kind: m.type, result: 'SUCCESS', registrationId: m.registrationId as RegistrationId, ...app, lifetimeS: m.lifetimeS };
      }
      return m.result === 'SUCCESS'
        ? { kind: m.type, result: 'SUCCESS', registrationId: m.registrationId as RegistrationId, ...app }
        : { kind: m.type, result: 'FAILURE', failureReason: reasonOf(m.failureReason), ...app };
    case 'STATUS':
      return { kind: 'STATUS', failureReason: reasonOf(m.failureReason), offendingMessageType: m.offendingMessageType as number };
    default:
      throw new Error(`vector with unknown type ${m.type}`);
  }
}

const vectors = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'm5-vectors.json'), 'utf8')) as {
  decode: Array<{ name: string; hex: string; message: VectorMessage }>;
  reject: RejectVector[];
};

export const decodeVectors: DecodeVector[] = vectors.decode.map((v) => ({ name: v.name, hex: v.hex, message: toDomain(v.message) }));
export const rejectVectors: RejectVector[] = vectors.reject;
/** Version 2 vectors (docs/wire-formats.md §5) have names starting `v2`. */
export const isV2 = (v: { name: string }): boolean => v.name.startsWith('v2');
