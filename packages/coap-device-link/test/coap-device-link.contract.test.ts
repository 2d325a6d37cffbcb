/**
 * The `DeviceLink` contract suite over the real CoAP link (IPv4 and IPv6 loopback), with devices on
 * npm `coap`'s Agent.
 */
import type { Layer2Id } from '@msgin5g/core';
import { deviceLinkContract, type DeviceLinkHarness } from '@msgin5g/core/testing';
import { CoapDeviceLink } from '@msgin5g/coap-device-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import '@msgin5g/test-support/close-coap-global-agents';
import { CoapAgentDevice } from './coap-agent-device';
import { endpointPort } from './recorder';

function coapHarness(host: '127.0.0.1' | '::1'): () => Promise<DeviceLinkHarness> {
  return async () => {
    const link = new CoapDeviceLink({ host, port: 0 });
    return {
      link,
      unreachableLayer2Id: 'coap: not ip:port' as Layer2Id,
      device: () => CoapAgentDevice.open(host, { host, port: endpointPort(link.endpoint) }),
      teardown: async () => {},
    };
  };
}

deviceLinkContract('CoapDeviceLink (IPv4)', coapHarness('127.0.0.1'));

const noIpv6 = ipv6LoopbackUnavailable();
if (noIpv6 === undefined) {
  deviceLinkContract('CoapDeviceLink (IPv6)', coapHarness('::1'));
} else {
  describe('DeviceLink contract: CoapDeviceLink (IPv6)', () => {
    itUnless(noIpv6, 'CoapDeviceLink (IPv6) contract')('runs on ::1', () => {});
  });
}
