/**
 * The UDP link as the gateway lists it (docs/adding-a-device-link.md): on by default at
 * 0.0.0.0:5690, off with `--no-udp` or `udp: { enabled: false }`; `links:` entries of type `udp`
 * add more ports.
 */
import { defineDeviceLink, hostSetting, portSetting, transportLayer2Ids, z } from '@msgin5g/link-sdk';
import { UdpDeviceLink } from './udp-device-link';

/** Settings of one UDP link instance. */
export const udpLinkSettings = z
  .object({
    /** Address to bind (IPv4 or IPv6 literal). */
    host: hostSetting.default('0.0.0.0'),
    /** UDP port (docs/wire-formats.md §3.2, provisional default 5690). */
    port: portSetting.default(5690),
  })
  .strict();

/** Descriptor of the UDP link: M5 binary, one message per datagram (docs/wire-formats.md §3.2). */
export const udpDeviceLink = defineDeviceLink({
  kind: 'udp',
  summary: 'M5 binary over UDP, one message per datagram (docs/wire-formats.md §3.2); on by default',
  settings: udpLinkSettings,
  activation: 'default',
  options: [
    { setting: 'host', flag: '--udp-host <host>', env: 'MSGIN5G_UDP_HOST', description: 'UDP device link address, IPv4 or IPv6 (default 0.0.0.0)' },
    { setting: 'port', flag: '--udp-port <port>', env: 'MSGIN5G_UDP_PORT', description: 'UDP device link port (default 5690)' },
  ],
  layer2Ids: transportLayer2Ids,
  resources: (s) => (s.port === 0 ? [] : [`udp-port:${s.port}`]),
  create: (s, deps) => new UdpDeviceLink({ host: s.host, port: s.port, logger: deps.logger }),
});
