/**
 * `interfaceInfo(name)`: index, MAC, MTU and state of a network interface, read with ioctls
 * (SIOCGIFINDEX, SIOCGIFHWADDR, SIOCGIFMTU, SIOCGIFFLAGS). Needs no privilege.
 */
import { nativeAddon, type NativeInterfaceInfo } from './native';
import { rawEthernetError } from './raw-ethernet-error';

/** ARPHRD_ETHER and ARPHRD_LOOPBACK (linux/if_arp.h): the hardware types that carry Ethernet frames. */
export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;

/** An interface as the kernel reports it. `mac` is canonical (12 lower-case hex characters), `mtu` in octets. */
export type InterfaceInfo = NativeInterfaceInfo;

/**
 * Reads the interface `name`. Throws {@link RawEthernetError} `ENODEV` when there is none, `EINVAL`
 * for a name longer than 15 characters, `ERR_RAW_ETHERNET_NOT_BUILT` when the addon is missing.
 */
export function interfaceInfo(name: string): InterfaceInfo {
  try {
    return nativeAddon().interfaceInfo(name);
  } catch (err) {
    throw rawEthernetError(err, { interfaceName: name });
  }
}
