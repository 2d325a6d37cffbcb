/**
 * When coap's own give-up comes before the gateway's deadline (a deadline longer than coap's
 * EXCHANGE_LIFETIME), the exchange still ends SERVER_UNREACHABLE "no answer", not a network error.
 * coap's timing is global, so it is shrunk only in this file (Jest gives each file its own modules).
 */
import { defaultTiming, parameters, updateTiming } from 'coap';
import type { UeServiceId } from '@msgin5g/core';
import { CoapServerLink } from '@msgin5g/coap-server-link';
import { RawCoapPeer } from './raw-coap-peer';

afterAll(() => defaultTiming());

it("coap's own give-up (RetrySendError after EXCHANGE_LIFETIME) → SERVER_UNREACHABLE 'no answer within the deadline'", async () => {
  updateTiming({ ackTimeout: 0.05, ackRandomFactor: 1, maxRetransmit: 1, maxLatency: 0.1 });
  expect(parameters.exchangeLifetime).toBeLessThan(0.5);
  const peer = await RawCoapPeer.start(); // never answers
  const link = new CoapServerLink({ uri: peer.uri, deadlineMs: 10_000 });
  try {
    const started = Date.now();
    const outcome = await link.register({ ueServiceId: 'gw-1' as UeServiceId });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcome).toEqual({ kind: 'FAILURE', reason: 'SERVER_UNREACHABLE', cause: 'no answer within the deadline' });
    expect(peer.requests.length).toBe(2); // first transmission + MAX_RETRANSMIT 1
  } finally {
    await link.close();
    await peer.close();
  }
});
