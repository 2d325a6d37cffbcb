/**
 * Every provisional code point the project puts on a wire, in one module.
 *
 * The published TS 24.538 gives the MSGin5G-5 formats only as Annex A examples and its public
 * copies show no code points for registration or de-registration, so the project fixed its own
 * in `docs/wire-formats.md` (version 1). Each constant below cites the section it comes from; an
 * interop fix against the real spec text is a one-line change here and nowhere else
 * (docs/adr/0004-provisional-code-points.md).
 *
 * Rejected alternative: constants next to the codec that uses them. That spreads the guesses over
 * several files and makes "what is provisional?" a code search instead of one file to review.
 */
import type { FailureReason } from '@msgin5g/core';

/**
 * M5 binary Message Type values (docs/wire-formats.md §2 "Message types", provisional).
 * 0x01/0x02 are Annex A.2.1.1/A.2.1.2 messages this version does not decode (answered with STATUS).
 */
export const M5_MESSAGE_TYPE = {
  /** REGISTRATION REQUEST, Application Client → Gateway (docs/wire-formats.md §2). */
  REGISTRATION_REQUEST: 0x10,
  /** REGISTRATION RESPONSE, Gateway → Application Client (docs/wire-formats.md §2). */
  REGISTRATION_RESPONSE: 0x11,
  /** DE-REGISTRATION REQUEST, Application Client → Gateway (docs/wire-formats.md §2). */
  DEREGISTRATION_REQUEST: 0x12,
  /** DE-REGISTRATION RESPONSE, Gateway → Application Client (docs/wire-formats.md §2). */
  DEREGISTRATION_RESPONSE: 0x13,
  /** STATUS (unknown or undecodable message), Gateway → Application Client (docs/wire-formats.md §2). */
  STATUS: 0x1f,
  /** MESSAGE SENDING REQUEST (TS 24.538 Annex A.2.1.1; docs/wire-formats.md §2, later version). */
  MESSAGE_SENDING_REQUEST: 0x01,
  /** DELIVERY REPORT SENDING REQUEST (TS 24.538 Annex A.2.1.2; docs/wire-formats.md §2, later version). */
  DELIVERY_REPORT_SENDING_REQUEST: 0x02,
} as const;

/** One of the {@link M5_MESSAGE_TYPE} values. */
export type M5MessageTypeCode = (typeof M5_MESSAGE_TYPE)[keyof typeof M5_MESSAGE_TYPE];

/** Information Element Identifiers of the M5 optional part (docs/wire-formats.md §2 "Contents", provisional). */
export const M5_IEI = {
  /**
   * Application ID, TV, 3 octets. Any IEI 0xA0..0xAF is read as Application ID (TS 24.538 Annex
   * A.2.1.1 shows the IEI as the nibble "A"); encoders write 0xA0 (docs/wire-formats.md §2).
   */
  APPLICATION_ID: 0xa0,
  /** Registration ID, TLV, 3..18 octets (docs/wire-formats.md §2). */
  REGISTRATION_ID: 0x21,
  /** Failure reason, TLV, 3 octets (docs/wire-formats.md §2). */
  FAILURE_REASON: 0x22,
  /**
   * Registration lifetime, TLV, 6 octets: a 4-octet unsigned number of seconds, big-endian, 1..2^32−1.
   * In a REGISTRATION REQUEST the lifetime the device asks for; in a success REGISTRATION RESPONSE
   * the lifetime granted (docs/wire-formats.md §2, docs/adr/0011-registration-lifetime.md).
   * 0x23 is taken by §5's Delivery status.
   */
  REGISTRATION_LIFETIME: 0x24,
} as const;

/** Mask and value that identify an Application ID IEI by its high nibble (docs/wire-formats.md §2). */
export const M5_IEI_APPLICATION_ID_MASK = 0xf0;

/** Result octet of REGISTRATION/DE-REGISTRATION RESPONSE (docs/wire-formats.md §2 "Contents"). */
export const M5_RESULT = {
  SUCCESS: 0x00,
  FAILURE: 0x01,
} as const;

/** Failure reason code points (docs/wire-formats.md §2 "Failure reasons", provisional). */
export const FAILURE_REASON_CODE: Readonly<Record<FailureReason, number>> = {
  UNKNOWN_REGISTRATION_ID: 0x01,
  NOT_AUTHORISED: 0x02,
  SERVER_REJECTED: 0x03,
  SERVER_UNREACHABLE: 0x04,
  MALFORMED_REQUEST: 0x05,
  GATEWAY_NOT_REGISTERED: 0x06,
  CONGESTION: 0x07,
  APPLICATION_ID_IN_USE: 0x08,
  MESSAGE_TYPE_NOT_SUPPORTED: 0x09,
  UNSPECIFIED: 0xff,
};

// Reverse table, built once: index = code, value = reason (undefined for codes not in the table).
const REASON_BY_CODE: ReadonlyArray<FailureReason | undefined> = (() => {
  const table = new Array<FailureReason | undefined>(256).fill(undefined);
  for (const reason of Object.keys(FAILURE_REASON_CODE) as FailureReason[]) table[FAILURE_REASON_CODE[reason]] = reason;
  return table;
})();

/**
 * The Failure reason of a code point, or `undefined` for a code not in docs/wire-formats.md §2.
 * (The M5 decoder reads such codes as `UNSPECIFIED`, so a newer peer's reasons still decode.)
 */
export function failureReasonFromCode(code: number): FailureReason | undefined {
  return Number.isInteger(code) && code >= 0 && code <= 0xff ? REASON_BY_CODE[code] : undefined;
}

/** Default UDP port of the gateway's M5-over-UDP device link (docs/wire-formats.md §3.2, provisional). */
export const DEFAULT_UDP_DEVICE_PORT = 5690;

/** EtherType of M5 frames on the L2 device link: IEEE 802 local experimental 1 (docs/wire-formats.md §3.1, provisional, configurable). */
export const DEFAULT_L2_ETHERTYPE = 0x88b5;

/** Uri-Path of the MSGin5G resource, on the CoAP device link and on MSGin5G-1 (docs/wire-formats.md §3.3 and §4, provisional). */
export const MSGIN5G_URI_PATH = 'msgin5g';

/** CoAP Content-Format application/json (RFC 7252 §12.3; docs/wire-formats.md §3.3 and §4). */
export const COAP_CONTENT_FORMAT_JSON = 50;

/** Default CoAP port (RFC 7252 §6.1; docs/wire-formats.md §4). */
export const DEFAULT_COAP_PORT = 5683;

/**
 * Failure cause an MSGin5G Server sends in a FAILURE answer to a DEREG for a UE Service ID it does
 * not know; the gateway reads it as success (docs/wire-formats.md §4, provisional TS 29.538-style text).
 */
export const FAILURE_CAUSE_NOT_REGISTERED = 'NOT_REGISTERED';
