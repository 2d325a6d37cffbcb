/**
 * The `DeviceLink` contract suite over the real UDP link (IPv4 and IPv6 loopback). (The in-memory
 * double runs it in packages/core/test/doubles.contract.test.ts.)
 */
import type { Layer2Id } from '@msgin5g/core';
import { deviceLinkContract, type DeviceLinkHarness } from '@msgin5g/core/testing';
import { UdpDeviceLink } from '@msgin5g/udp-device-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { endpointPort, RawUdpDevice } from './raw-udp-device';

function udpHarness(host: '127.0.0.1' | '::1'): () => Promise<DeviceLinkHarness> {
  return async () => {
    const link = new UdpDeviceLink({ host, port: 0 });
    return {
      link,
      unreachableLayer2Id: 'udp: not ip:port' as Layer2Id,
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
