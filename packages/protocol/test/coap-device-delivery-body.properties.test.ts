/**
 * fast-check properties of the CoAP device link's message bodies (coap-device-delivery-body.ts):
 * each body decodes to what was encoded, within the 4,096-octet body limit; hostile bodies never
 * make a decoder throw.
 */
import type { DeliveryMessage, MessageSendingResponse } from '@msgin5g/core';
import { decodeCoapDeviceBody, decodeCoapGatewayDelivery, decodeCoapMessageResponse, encodeCoapDeviceDelivery, encodeCoapGatewayDelivery, encodeCoapMessageResponse, MAX_JSON_BODY_OCTETS } from '@msgin5g/protocol';
import fc from 'fast-check';
import { NUM_RUNS, deliveryMessage, hostileBody } from './arbitraries';

const run = { numRuns: NUM_RUNS };
/** What JSON can carry: payloads that fit a body, no IMDN of Delivery status STORED (no `delivSt` for it). */
const jsonable = deliveryMessage.filter((m) => !('payload' in m && m.payload.length > 1000) && !((m.kind === 'DELIVERY_REPORT_SENDING_REQUEST' || m.kind === 'DELIVERY_REPORT_RECEIVING') && m.deliveryStatus === 'STORED'));

describe('CoAP device link message bodies: properties', () => {
  it('decode(encode(x)) equals x, for every message the CoAP link carries', () => {
    fc.assert(
      fc.property(jsonable, (m: DeliveryMessage) => {
        switch (m.kind) {
          case 'MESSAGE_SENDING_REQUEST':
          case 'DELIVERY_REPORT_SENDING_REQUEST': {
            const body = encodeCoapDeviceDelivery(m);
            expect(body.length).toBeLessThanOrEqual(MAX_JSON_BODY_OCTETS);
            expect(decodeCoapDeviceBody(body)).toEqual({ ok: true, value: m });
            return;
          }
          case 'MESSAGE_RECEIVING':
          case 'DELIVERY_REPORT_RECEIVING':
            expect(decodeCoapGatewayDelivery(encodeCoapGatewayDelivery(m))).toEqual({ ok: true, value: m });
            return;
          case 'MESSAGE_SENDING_RESPONSE': {
            // an accepted response without a Delivery status is written DELIVERED (documented)
            const expected: MessageSendingResponse = m.result === 'ACCEPTED' && m.deliveryStatus === undefined ? { ...m, deliveryStatus: 'DELIVERED' } : m;
            expect(decodeCoapMessageResponse(encodeCoapMessageResponse(m))).toEqual({ ok: true, value: expected });
            return;
          }
          case 'MESSAGE_RECEIVING_ACK':
            return; // no JSON form: a CoAP device acknowledges with 2.04
          default:
            throw new Error('unexpected kind');
        }
      }),
      run,
    );
  });

  it('the decoders never throw and always say why they refuse', () => {
    fc.assert(
      fc.property(hostileBody, (body) => {
        for (const decode of [decodeCoapDeviceBody, decodeCoapGatewayDelivery, decodeCoapMessageResponse]) {
          const r = decode(body);
          if (!r.ok) {
            expect(r.error.length).toBeGreaterThan(0);
            expect(r.error.length).toBeLessThan(400);
          }
        }
      }),
      run,
    );
  });
});
