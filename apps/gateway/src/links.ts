/**
 * The device links this gateway can run: one descriptor per kind, each exported by its own package
 * (docs/adding-a-device-link.md). Config file sections and `links:` entries, `start` flags,
 * environment variables, `--help`, authorization patterns and the wiring are all derived from this
 * list. Adding a link kind is its package, one line here, and the package.json/tsconfig reference.
 */
import type { AnyDeviceLinkDescriptor } from '@msgin5g/link-sdk';
import { coapDeviceLink } from '@msgin5g/coap-device-link';
import { l2DeviceLink } from '@msgin5g/l2-device-link';
import { serialDeviceLink } from '@msgin5g/serial-device-link';
import { udpDeviceLink } from '@msgin5g/udp-device-link';

export const DEVICE_LINKS: readonly AnyDeviceLinkDescriptor[] = [udpDeviceLink, l2DeviceLink, coapDeviceLink, serialDeviceLink];
