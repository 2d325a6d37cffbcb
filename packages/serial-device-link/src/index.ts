/**
 * `@msgin5g/serial-device-link`: the `DeviceLink` port over a serial line (UART), M5 binary
 * messages in SLIP frames (RFC 1055), one device per port, Layer-2 ID `serial:` + the port's path
 * (docs/wire-formats.md §3.4). The gateway lists {@link serialDeviceLink} in apps/gateway/src/links.ts.
 *
 * Written as an outside team would write a link, only against the public SDK: `@msgin5g/core`
 * (the `DeviceLink` port; `@msgin5g/core/testing` for the contract suite), `@msgin5g/protocol` (the
 * M5 codec and the reject table, `decodeDeviceRequest`), `@msgin5g/link-sdk` (`LinkLifecycle`,
 * `defineDeviceLink`, zod) — docs/adding-a-device-link.md walks through it.
 *
 * SLIP framing (src/slip.ts) is this package's own, not `@serialport/parser-slip-encoder` (no bound
 * on a frame, quadratic appends, empty and half frames emitted) and not in `@msgin5g/protocol`
 * although byte layouts live there: it is the framing of this one link, the M5 bytes inside it are
 * still `@msgin5g/protocol`'s, and an outside team does not change other packages. A second link
 * that needs SLIP moves the (pure) module to `@msgin5g/protocol` in a commit of its own.
 *
 * Exports: the link, its options type, and the descriptor.
 */
export { SerialDeviceLink, type SerialDeviceLinkOptions } from './serial-device-link';
export { serialDeviceLink } from './serial-device-link-descriptor';
