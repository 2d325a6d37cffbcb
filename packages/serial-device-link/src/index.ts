/**
 * `@msgin5g/serial-device-link`: the `DeviceLink` port over a serial line (UART), M5 binary
 * messages in SLIP frames, one device per port (docs/wire-formats.md §3.4). Work in progress: the
 * SLIP framing (src/slip.ts) comes first; the link and its descriptor follow.
 */
export {};
