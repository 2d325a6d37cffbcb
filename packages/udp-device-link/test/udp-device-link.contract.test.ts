/**
 * The `DeviceLink` contract suite over the real UDP link (IPv4 and IPv6 loopback), and over the
 * in-memory double core tests rely on, so the double is proven to behave like the link.
 */
import type { Layer2Id } from '@msgin5g/core';
import { deviceLinkContract, InMemoryDeviceLink, type DeviceLinkHarness, type TestDevice } from '@msgin5g/core/testing';
import { UdpDeviceLink } from '@msgin5g/udp-device-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { endpointPort, RawUdpDevice } from './raw-udp-device';

function udpHarness(host: '127.0.0.1' | '::1'): () => Promise<DeviceLinkHarness> {
  return async () => {
    const link = new UdpDeviceLink({ host, port: 0 });
    return {
      link,
      device: () => RawUdpDevice.open(host, { host, port: endpointPort(link.endpoint) }),
      teardown: async () => {},
    };
  };
}

deviceLinkContract('UdpDeviceLink (IPv4)', udpHarness('127.0.0.1'));

const noIpv6 = ipv6LoopbackUnavailable();
if (noIpv6 === undefined) {
  deviceLinkContract('UdpDeviceLink (IPv6)', udpHarness('::1'));
} else {
  describe('DeviceLink contract: UdpDeviceLink (IPv6)', () => {
    itUnless(noIpv6, 'UdpDeviceLink (IPv6) contract')('runs on ::1', () => {});
  });
}

deviceLinkContract('InMemoryDeviceLink', async () => {
  const link = new InMemoryDeviceLink('udp');
  let n = 0;
  return {
    link,
    device: async (): Promise<TestDevice> => {
      n += 1;
      const layer2Id = `192.0.2.${n}:40000` as Layer2Id;
      return {
        layer2Id,
        send: async (request) => link.deliver(layer2Id, request),
        sendMalformed: async () => link.deliverMalformed(layer2Id, 'unknown message type 0x7e', 2),
        nextResponse: (timeoutMs) => link.nextResponse(layer2Id, timeoutMs),
        close: async () => {},
      };
    },
    teardown: async () => {},
  };
});
