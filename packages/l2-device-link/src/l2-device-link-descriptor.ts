/**
 * The L2 link as the gateway lists it (docs/adding-a-device-link.md): `L2DeviceLink` reading the
 * wire through an `AfPacketFrameSocket` of `@msgin5g/raw-ethernet`. On when an interface is set (`--l2-interface`, `l2: { interface }`, a `links:` entry of type `l2`).
 */
import { parseMacLayer2Id, type Layer2Id } from '@msgin5g/core';
import { defineDeviceLink, z } from '@msgin5g/link-sdk';
import { isUsableEtherType } from '@msgin5g/protocol';
import { AfPacketFrameSocket } from '@msgin5g/raw-ethernet';
import { L2DeviceLink } from './l2-device-link';

/** EtherType: a number or "0x88b5"; 0x0600..0xFFFF (below 0x0600 the field is an IEEE 802.3 length), not a VLAN TPID. */
const etherType = z
  .union([z.number(), z.string().regex(/^(0x[0-9a-fA-F]{1,4}|[0-9]{1,5})$/, 'must be an EtherType such as 0x88b5').transform((v) => Number(v))])
  .pipe(
    z
      .number()
      .int()
      .min(0x0600, 'must be 0x0600..0xffff')
      .max(0xffff, 'must be 0x0600..0xffff')
      .refine((n) => isUsableEtherType(n), 'must not be a VLAN tag type (0x8100, 0x88a8, 0x9100)'),
  );

/** Settings of one L2 link instance. */
export const l2LinkSettings = z
  .object({
    /** The device-facing network interface (Linux name, at most 15 characters). */
    interface: z.string().min(1).max(15, 'an interface name has at most 15 characters'),
    /** The specified MAC address devices send to; default the interface's own MAC. */
    mac: z
      .string()
      .regex(/^([0-9a-fA-F]{2}[:-]?){5}[0-9a-fA-F]{2}$/, 'must be a MAC address such as 02:00:00:00:00:01')
      .optional(),
    /** EtherType of M5 frames (docs/wire-formats.md §3.1, provisional 0x88B5). */
    etherType: etherType.default(0x88b5),
  })
  .strict();

/** Descriptor of the L2 link: M5 binary in Ethernet II frames to the specified MAC (docs/wire-formats.md §3.1). */
export const l2DeviceLink = defineDeviceLink({
  kind: 'l2',
  summary: 'M5 binary in Ethernet frames to a specified MAC address (docs/wire-formats.md §3.1); Linux, root or CAP_NET_RAW; on when an interface is set',
  settings: l2LinkSettings,
  activation: { by: 'interface' },
  options: [
    { setting: 'interface', flag: '--l2-interface <if>', env: 'MSGIN5G_L2_INTERFACE', description: 'run the L2 device link on this interface (Linux; root or CAP_NET_RAW)' },
    { setting: 'mac', flag: '--l2-mac <mac>', env: 'MSGIN5G_L2_MAC', description: "the specified MAC address devices send frames to (default: the interface's own)" },
    { setting: 'etherType', flag: '--l2-ethertype <ethertype>', env: 'MSGIN5G_L2_ETHERTYPE', description: 'EtherType of M5 frames (default 0x88b5)' },
  ],
  layer2Ids: {
    form: 'a MAC address (02:00:00:00:00:aa, stored as 0200000000aa)',
    parse: parseMacLayer2Id,
    print: (id: Layer2Id) => id.replace(/(..)(?!$)/g, '$1:'),
    pattern(text) {
      const mac = parseMacLayer2Id(text);
      return mac.ok ? { ok: true, value: (id) => id === mac.value } : undefined;
    },
  },
  // One specified MAC per interface: two instances answering frames to one MAC would both answer.
  resources: (s) => [`l2:${s.interface}:${s.mac === undefined ? 'own' : s.mac.toLowerCase().replace(/[:-]/g, '')}`],
  create: (s, deps) =>
    new L2DeviceLink({
      // Bound to the M5 EtherType so the kernel filters: a single 802.1Q-tagged M5 frame still
      // arrives (the kernel strips the tag); only QinQ would need ETH_P_ALL (docs/adr/0007).
      socket: new AfPacketFrameSocket({ interfaceName: s.interface, etherType: s.etherType }),
      ...(s.mac === undefined ? {} : { mac: s.mac }),
      etherType: s.etherType,
      logger: deps.logger,
    }),
});
