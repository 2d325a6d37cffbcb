import type { ApplicationId, MessageId, MessageReceiving } from '@msgin5g/core';
import { coapMessageReceivingMaxPayloadOctets, COAP_MSG_BODY_OVERHEAD_OCTETS, encodeCoapGatewayDelivery, encodeM5, MAX_JSON_BODY_OCTETS, MESSAGE_RECEIVING_OVERHEAD_OCTETS, messageReceivingMaxPayloadOctets } from '@msgin5g/protocol';

/** A MESSAGE RECEIVING with every field but the payload at its longest (docs/wire-formats.md §5.1). */
function worstCase(payloadOctets: number, address = 'a'.repeat(255)): MessageReceiving {
  return {
    kind: 'MESSAGE_RECEIVING',
    originatorAddress: address,
    messageId: '00112233445566778899aabbccddeeff' as MessageId,
    payload: new Uint8Array(payloadOctets).fill(0xc0),
    applicationId: 65535 as ApplicationId,
    deliveryStatusRequired: true,
    originatorType: 'GROUP',
  };
}

describe('MESSAGE RECEIVING sizes (docs/wire-formats.md §5.2)', () => {
  it('the overhead is what the encoder writes around the payload at worst: 280 octets', () => {
    expect(MESSAGE_RECEIVING_OVERHEAD_OCTETS).toBe(280);
    for (const p of [1, 100, 65535]) expect(encodeM5(worstCase(p)).length).toBe(MESSAGE_RECEIVING_OVERHEAD_OCTETS + p);
    // a 4-octet multi-byte address of 255 octets costs the same
    expect(encodeM5(worstCase(7, 'é'.repeat(127) + 'a')).length).toBe(MESSAGE_RECEIVING_OVERHEAD_OCTETS + 7);
  });

  it('messageReceivingMaxPayloadOctets: unit − 280, within 0..65535', () => {
    expect(messageReceivingMaxPayloadOctets(65_507)).toBe(65_227);
    expect(messageReceivingMaxPayloadOctets(1_498)).toBe(1_218);
    expect(messageReceivingMaxPayloadOctets(65_536)).toBe(65_256);
    expect(messageReceivingMaxPayloadOctets(70_000)).toBe(65_535);
    expect(messageReceivingMaxPayloadOctets(100)).toBe(0);
    expect(() => messageReceivingMaxPayloadOctets(-1)).toThrow(RangeError);
    expect(() => messageReceivingMaxPayloadOctets(1.5)).toThrow(RangeError);
    const unit = 1_498;
    expect(encodeM5(worstCase(messageReceivingMaxPayloadOctets(unit))).length).toBe(unit);
  });

  it('CoAP: the largest payload fits a 4,096-octet body with the worst JSON around it, one base64 group more does not', () => {
    const max = coapMessageReceivingMaxPayloadOctets();
    expect(max % 3).toBe(0);
    const control = '\u0001'.repeat(255); // JSON writes each as \u0001: the longest form of a 255-octet address
    const fits = encodeCoapGatewayDelivery({ ...worstCase(max, control), deliveryStatusRequired: false });
    expect(fits.length).toBeLessThanOrEqual(MAX_JSON_BODY_OCTETS);
    expect(fits.length).toBeGreaterThan(MAX_JSON_BODY_OCTETS - 4);
    expect(encodeCoapGatewayDelivery({ ...worstCase(max + 1, control), deliveryStatusRequired: false }).length).toBeGreaterThan(MAX_JSON_BODY_OCTETS);
    expect(COAP_MSG_BODY_OVERHEAD_OCTETS).toBe(fits.length - (max / 3) * 4);
    expect(max).toBe(1_812);
    expect(coapMessageReceivingMaxPayloadOctets(100)).toBe(0);
  });
});
