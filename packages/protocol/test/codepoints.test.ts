import { FAILURE_REASONS } from '@msgin5g/core';
import {
  COAP_CONTENT_FORMAT_JSON,
  DEFAULT_COAP_PORT,
  DEFAULT_L2_ETHERTYPE,
  DEFAULT_UDP_DEVICE_PORT,
  FAILURE_REASON_CODE,
  M5_IEI,
  M5_MESSAGE_TYPE,
  M5_RESULT,
  M5_DELIVERY_STATUS,
  M5_DELIVERY_STATUS_REQUIRED,
  M5_MESSAGE_RESULT,
  M5_TARGET_TYPE,
  MSGIN5G_URI_PATH,
  failureReasonFromCode,
} from '@msgin5g/protocol';

describe('provisional code points (docs/wire-formats.md)', () => {
  it('match the §2 tables', () => {
    expect(M5_MESSAGE_TYPE).toEqual({
      REGISTRATION_REQUEST: 0x10,
      REGISTRATION_RESPONSE: 0x11,
      DEREGISTRATION_REQUEST: 0x12,
      DEREGISTRATION_RESPONSE: 0x13,
      STATUS: 0x1f,
      MESSAGE_SENDING_REQUEST: 0x01,
      DELIVERY_REPORT_SENDING_REQUEST: 0x02,
      MESSAGE_SENDING_RESPONSE: 0x03,
      MESSAGE_RECEIVING: 0x04,
      MESSAGE_RECEIVING_ACK: 0x05,
      DELIVERY_REPORT_RECEIVING: 0x06,
    });
    expect(M5_IEI).toEqual({ APPLICATION_ID: 0xa0, REGISTRATION_ID: 0x21, FAILURE_REASON: 0x22, DELIVERY_STATUS: 0x23, REGISTRATION_LIFETIME: 0x24, DELIVERY_STATUS_REQUIRED: 0xb0, TARGET_TYPE: 0xd0 });
    expect(M5_RESULT).toEqual({ SUCCESS: 0x00, FAILURE: 0x01 });
    expect(FAILURE_REASON_CODE).toEqual({
      UNKNOWN_REGISTRATION_ID: 0x01,
      NOT_AUTHORISED: 0x02,
      SERVER_REJECTED: 0x03,
      SERVER_UNREACHABLE: 0x04,
      MALFORMED_REQUEST: 0x05,
      GATEWAY_NOT_REGISTERED: 0x06,
      CONGESTION: 0x07,
      APPLICATION_ID_IN_USE: 0x08,
      MESSAGE_TYPE_NOT_SUPPORTED: 0x09,
      DEVICE_NOT_REGISTERED: 0x0a,
      APPLICATION_ID_REQUIRED: 0x0b,
      PAYLOAD_TOO_LARGE: 0x0c,
      RECIPIENT_UNKNOWN: 0x0d,
      NOT_DELIVERED: 0x0e,
      UNSPECIFIED: 0xff,
    });
  });

  it('match the §5.1 tables', () => {
    expect(M5_DELIVERY_STATUS).toEqual({ DELIVERED: 0x00, FAILED: 0x01, STORED: 0x02 });
    expect(M5_TARGET_TYPE).toEqual({ UE: 0x0, AS: 0x1, GROUP: 0x2 });
    expect(M5_DELIVERY_STATUS_REQUIRED).toEqual({ NOT_REQUIRED: 0x0, REQUIRED: 0x1 });
    expect(M5_MESSAGE_RESULT).toEqual({ ACCEPTED: 0x00, FAILURE: 0x01 });
  });

  it('match §3 and §4', () => {
    expect([DEFAULT_UDP_DEVICE_PORT, DEFAULT_L2_ETHERTYPE, MSGIN5G_URI_PATH, COAP_CONTENT_FORMAT_JSON, DEFAULT_COAP_PORT]).toEqual([5690, 0x88b5, 'msgin5g', 50, 5683]);
  });

  it('give every Failure reason of core a distinct code, and read each code back', () => {
    const codes = FAILURE_REASONS.map((r) => FAILURE_REASON_CODE[r]);
    expect(new Set(codes).size).toBe(FAILURE_REASONS.length);
    for (const r of FAILURE_REASONS) expect(failureReasonFromCode(FAILURE_REASON_CODE[r])).toBe(r);
  });

  it('read codes outside the table as undefined', () => {
    for (const code of [0x00, 0x0f, 0x42, 0xfe, 256, -1, 1.5, Number.NaN]) expect(failureReasonFromCode(code)).toBeUndefined();
  });
});
