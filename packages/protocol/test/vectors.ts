// Loads the M5 binary test vectors of docs/wire-formats.md §2 (fixtures/m5-vectors.json) and maps their
// JSON form (`type`, `result`, …) into the domain shape the codec uses (`kind`, branded ids).
import type { ApplicationId, FailureReason, RegistrationId } from '@msgin5g/core';
import type { M5Message } from '@msgin5g/protocol';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface VectorMessage {
  type: string;
  result?: string;
  applicationId?: number;
  registrationId?: string;
  failureReason?: string;
  offendingMessageType?: number;
  lifetimeS?: number;
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
  switch (m.type) {
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
        : { kind: m.type, result: 'FAILURE', failureReason: m.failureReason as FailureReason, ...app };
    case 'STATUS':
      return { kind: 'STATUS', failureReason: m.failureReason as FailureReason, offendingMessageType: m.offendingMessageType as number };
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
