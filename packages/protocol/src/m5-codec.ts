/**
 * M5 binary codec, public face: {@link decodeM5} and {@link encodeM5} (docs/wire-formats.md §2; the
 * decoding rules are described in `m5-decoder.ts`).
 *
 * Encoding is canonical: Application ID IEI 0xA0, IEs in the order Application ID, then
 * Registration ID or Failure reason, then Registration lifetime, so `encodeM5(decodeM5(b))`
 * reproduces every canonical `b`.
 */
import { REGISTRATION_ID_MAX_OCTETS, assertNever, isLifetimeS, type ApplicationId, type DeviceResponse, type FailureReason, type RegistrationId } from '@msgin5g/core';
import { FAILURE_REASON_CODE, M5_IEI, M5_MESSAGE_TYPE, M5_RESULT } from './codepoints';
import { isHex, writeHex } from './hex';
import { decodeM5Unit } from './m5-decoder';
import type { M5Message } from './m5-message';
import { M5ProtocolError } from './m5-protocol-error';

/** Outcome of {@link decodeM5}. */
export type M5DecodeResult = { ok: true; message: M5Message } | { ok: false; error: M5ProtocolError };

const T = M5_MESSAGE_TYPE;

/**
 * Decodes one M5 binary unit (a UDP datagram payload, or the N octets after an L2 frame's length).
 * Never throws, whatever the input: a bad unit gives `{ ok: false, error }` with reason `EMPTY`,
 * `UNKNOWN_MESSAGE_TYPE` (also for 0x01/0x02, not decoded by this version) or `MALFORMED`.
 *
 * @see TS 24.538 Annex A.2, TS 24.007 §11.2, docs/wire-formats.md §2
 */
export function decodeM5(bytes: Uint8Array): M5DecodeResult {
  const r = decodeM5Unit(bytes);
  return r.ok ? r : { ok: false, error: new M5ProtocolError(r.reason, r.detail, r.messageType) };
}

/**
 * Encodes a message canonically (Application ID IEI 0xA0; IEs in the order Application ID,
 * Registration ID / Failure reason, Registration lifetime). Output length: REGISTRATION REQUEST 3
 * octets (9 with a lifetime); DE-REGISTRATION REQUEST 2 + id octets; responses 2 + 3 (with
 * Application ID) + 2 + id octets (+ 6 with a lifetime) or + 3; STATUS 3.
 *
 * @throws M5ProtocolError (`MALFORMED`) for a value with no encoding: Application ID outside
 *   0..65535, Registration ID not 1..16 octets of hex, unknown Failure reason, a lifetime outside
 *   1..2^32−1 s, message type
 *   outside 0..255. Such values never come from the parse functions of `@msgin5g/core`.
 * @see docs/wire-formats.md §2 "Contents"
 */
export function encodeM5(message: M5Message): Uint8Array {
  switch (message.kind) {
    case 'REGISTRATION_REQUEST': {
      const app = checkApplicationId(message.applicationId, T.REGISTRATION_REQUEST);
      if (message.lifetimeS === undefined) return Uint8Array.of(T.REGISTRATION_REQUEST, app >> 8, app & 0xff);
      const out = new Uint8Array(3 + LIFETIME_IE_OCTETS);
      out.set([T.REGISTRATION_REQUEST, app >> 8, app & 0xff]);
      writeLifetime(out, 3, checkLifetime(message.lifetimeS, T.REGISTRATION_REQUEST));
      return out;
    }
    case 'DEREGISTRATION_REQUEST': {
      const octets = checkRegistrationId(message.registrationId, T.DEREGISTRATION_REQUEST);
      const out = new Uint8Array(2 + octets);
      out[0] = T.DEREGISTRATION_REQUEST;
      out[1] = octets;
      writeHex(message.registrationId, out, 2);
      return out;
    }
    case 'REGISTRATION_RESPONSE':
      return encodeResponse(message, T.REGISTRATION_RESPONSE);
    case 'DEREGISTRATION_RESPONSE':
      return encodeResponse(message, T.DEREGISTRATION_RESPONSE);
    case 'STATUS': {
      const reason = checkFailureReason(message.failureReason, T.STATUS);
      const offending = message.offendingMessageType;
      if (!Number.isInteger(offending) || offending < 0 || offending > 0xff) {
        throw new M5ProtocolError('MALFORMED', `STATUS: offending message type must be an octet 0..255, got ${show(offending)}`, T.STATUS);
      }
      return Uint8Array.of(T.STATUS, reason, offending);
    }
    default:
      return assertNever(message, 'M5 message kind');
  }
}

// ---- encoding -------------------------------------------------------------------------------

function encodeResponse(message: DeviceResponse, type: number): Uint8Array {
  const app = message.applicationId === undefined ? -1 : checkApplicationId(message.applicationId, type);
  const appOctets = app < 0 ? 0 : 3;
  switch (message.result) {
    case 'SUCCESS': {
      const idOctets = checkRegistrationId(message.registrationId, type);
      const lifetime = message.kind === 'REGISTRATION_RESPONSE' && message.lifetimeS !== undefined ? checkLifetime(message.lifetimeS, type) : -1;
      const out = new Uint8Array(2 + appOctets + 2 + idOctets + (lifetime < 0 ? 0 : LIFETIME_IE_OCTETS));
      let i = writeResponseHead(out, type, M5_RESULT.SUCCESS, app);
      out[i++] = M5_IEI.REGISTRATION_ID;
      out[i++] = idOctets;
      writeHex(message.registrationId, out, i);
      if (lifetime >= 0) writeLifetime(out, i + idOctets, lifetime);
      return out;
    }
    case 'FAILURE': {
      const reason = checkFailureReason(message.failureReason, type);
      const out = new Uint8Array(2 + appOctets + 3);
      let i = writeResponseHead(out, type, M5_RESULT.FAILURE, app);
      out[i++] = M5_IEI.FAILURE_REASON;
      out[i++] = 1;
      out[i] = reason;
      return out;
    }
    default:
      return assertNever(message, 'response result');
  }
}

/** Writes Message Type, Result and (when `app` ≥ 0) the Application ID IE; returns the next offset. */
function writeResponseHead(out: Uint8Array, type: number, result: number, app: number): number {
  out[0] = type;
  out[1] = result;
  if (app < 0) return 2;
  out[2] = M5_IEI.APPLICATION_ID;
  out[3] = app >> 8;
  out[4] = app & 0xff;
  return 5;
}

/** Octets of the Registration lifetime IE: IEI, length 4, 4-octet value. */
const LIFETIME_IE_OCTETS = 6;

/** Writes the Registration lifetime IE (docs/wire-formats.md §2) at `offset`. */
function writeLifetime(out: Uint8Array, offset: number, seconds: number): void {
  out[offset] = M5_IEI.REGISTRATION_LIFETIME;
  out[offset + 1] = 4;
  out[offset + 2] = Math.floor(seconds / 0x1000000) & 0xff;
  out[offset + 3] = (seconds >>> 16) & 0xff;
  out[offset + 4] = (seconds >>> 8) & 0xff;
  out[offset + 5] = seconds & 0xff;
}

function checkLifetime(value: number, type: number): number {
  if (!isLifetimeS(value)) throw new M5ProtocolError('MALFORMED', `Registration lifetime must be an integer 1..4294967295 s, got ${show(value)}`, type);
  return value;
}

function checkApplicationId(value: ApplicationId, type: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new M5ProtocolError('MALFORMED', `Application ID must be an integer 0..65535, got ${show(value)}`, type);
  }
  return value;
}

/** Returns the Registration ID's length in octets. */
function checkRegistrationId(value: RegistrationId, type: number): number {
  if (typeof value !== 'string' || !isHex(value) || value.length > 2 * REGISTRATION_ID_MAX_OCTETS) {
    throw new M5ProtocolError('MALFORMED', `Registration ID must be 1..16 octets as hex, got ${show(value)}`, type);
  }
  return value.length >> 1;
}

function checkFailureReason(reason: FailureReason, type: number): number {
  const code = typeof reason === 'string' && Object.hasOwn(FAILURE_REASON_CODE, reason) ? FAILURE_REASON_CODE[reason] : undefined;
  if (code === undefined) throw new M5ProtocolError('MALFORMED', `unknown Failure reason ${show(reason)}`, type);
  return code;
}

/** A value for an error message; never throws (unlike `String()` on a symbol-keyed or null-prototype object). */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined || value === null) return String(value);
  return typeof value;
}
