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
    });
    expect(M5_IEI).toEqual({ APPLICATION_ID: 0xa0, REGISTRATION_ID: 0x21, FAILURE_REASON: 0x22, REGISTRATION_LIFETIME: 0x24 });
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
      UNSPECIFIED: 0xff,
    });
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
    for (const code of [0x00, 0x0a, 0x42, 0xfe, 256, -1, 1.5, Number.NaN]) expect(failureReasonFromCode(code)).toBeUndefined();
  });
});
