/**
 * The `DeviceLink` contract suite over the L2 link on an in-memory Ethernet segment: no root, no
 * namespaces, no native addon. (`@msgin5g/raw-ethernet` runs the link over real frames as root.)
 */
import type { Layer2Id } from '@msgin5g/core';
import { deviceLinkContract } from '@msgin5g/core/testing';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import { FrameDevice, InMemoryEthernet } from '@msgin5g/l2-device-link/testing';

const GATEWAY_MAC = '020000000001';

deviceLinkContract('L2DeviceLink over in-memory Ethernet', async () => {
  const net = new InMemoryEthernet();
  const link = new L2DeviceLink({ socket: net.attach({ mac: GATEWAY_MAC, interfaceName: 'veth-gw' }) });
  let n = 0;
  return {
    link,
    unreachableLayer2Id: 'not-a-mac' as Layer2Id,
    device: async () => {
      n += 1;
      const mac = `02000000aa${n.toString(16).padStart(2, '0')}`;
      return FrameDevice.open(net.attach({ mac }), { gatewayMac: GATEWAY_MAC });
    },
    teardown: async () => {},
  };
});

deviceLinkContract('L2DeviceLink on an in-memory lo (one host, every frame looped back, capture sees OUTGOING), specified MAC, EtherType 0x88b6', async () => {
  const net = new InMemoryEthernet({ loopback: true, mtu: 65536 });
  const link = new L2DeviceLink({ socket: net.attach({ mac: '000000000000', seesOutgoing: true }), mac: '02:00:00:00:00:42', etherType: 0x88b6 });
  let n = 0;
  return {
    link,
    unreachableLayer2Id: 'not-a-mac' as Layer2Id,
    device: async () => {
      n += 1;
      return FrameDevice.open(net.attach({ mac: '000000000000' }), { gatewayMac: '020000000042', mac: `0a000000bb${n.toString(16).padStart(2, '0')}`, etherType: 0x88b6 });
    },
    teardown: async () => {},
  };
});
