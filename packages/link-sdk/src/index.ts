/**
 * `@msgin5g/link-sdk`: the public SDK of device links. A link package implements the `DeviceLink`
 * port of `@msgin5g/core`, runs its contract suite (`deviceLinkContract` from
 * `@msgin5g/core/testing`), and exports one {@link DeviceLinkDescriptor}; nothing in the core, the
 * store or another link changes (docs/adding-a-device-link.md).
 */
export {
  defineDeviceLink,
  type AnyDeviceLinkDescriptor,
  type DeviceLinkDescriptor,
  type Layer2IdMatcher,
  type Layer2IdSyntax,
  type LinkDeps,
  type LinkOption,
} from './device-link-descriptor';
export { prefixedTransportLayer2Ids, transportLayer2Ids } from './transport-layer2-ids';
export { z } from 'zod';
export { hostSetting, portSetting, positiveIntegerSetting } from './settings';
export { LinkLifecycle, type LinkLifecycleOptions, type Running } from './link-lifecycle';
