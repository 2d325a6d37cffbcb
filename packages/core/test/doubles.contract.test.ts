/**
 * The doubles core tests rely on run the same contract suites as the adapters, so they are proven
 * honest (docs/architecture.md §4).
 */
import type { Layer2Id } from '@msgin5g/core';
import { InMemoryDeviceLink, InMemoryRegistrationStore, registrationStoreContract, deviceLinkContract, type DeviceLinkHarness, type TestDevice } from '@msgin5g/core/testing';

registrationStoreContract('InMemoryRegistrationStore', () => new InMemoryRegistrationStore());

deviceLinkContract('InMemoryDeviceLink', async (): Promise<DeviceLinkHarness> => {
  const link = new InMemoryDeviceLink('udp');
  let n = 0;
  return {
    link,
    unreachableLayer2Id: 'not an address' as Layer2Id,
    async device(): Promise<TestDevice> {
      const layer2Id = `127.0.0.1:${41000 + n++}` as Layer2Id;
      return {
        layer2Id,
        send: async (request) => link.deliver(layer2Id, request),
        sendMalformed: async () => link.deliverMalformed(layer2Id, 'test: not a request', 3),
        nextResponse: (timeoutMs) => link.nextResponse(layer2Id, timeoutMs),
        sendDelivery: async (message) => link.deliverDelivery(layer2Id, message),
        sendMalformedDelivery: async (messageId) => {
          // what a binary link answers (docs/wire-formats.md §2 reject table)
          link.deliverMalformed(layer2Id, 'test: MESSAGE SENDING REQUEST cut short', 20, { kind: 'MESSAGE_SENDING_RESPONSE', messageId, result: 'FAILURE', failureReason: 'MALFORMED_REQUEST' });
          return { kind: 'UNIT', unit: await link.nextDelivery(layer2Id) };
        },
        nextDeliveryUnit: (timeoutMs) => link.nextDelivery(layer2Id, timeoutMs),
        acknowledge: async (m) => link.deliverDelivery(layer2Id, { kind: 'MESSAGE_RECEIVING_ACK', messageId: m.messageId, ...(m.applicationId === undefined ? {} : { applicationId: m.applicationId }) }),
        close: async () => undefined,
      };
    },
    teardown: async () => undefined,
  };
});
