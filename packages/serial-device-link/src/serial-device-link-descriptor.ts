/**
 * The serial link as the gateway lists it (docs/adding-a-device-link.md): one instance per port, on
 * when a path is set — `--serial-path /dev/ttyUSB0` (repeat it for more ports; each value is one
 * more instance), `MSGIN5G_SERIAL_PATH=/dev/ttyUSB0,/dev/ttyUSB1`, `serial: { path }` in the config
 * file, or `links: [{ type: serial, path: /dev/ttyUSB0, baudRate: 9600 }]`.
 * `--serial-baud` / `MSGIN5G_SERIAL_BAUD` / `baudRate` sets the line speed (default 115200).
 *
 * @see docs/wire-formats.md §3.4
 */
import { defineDeviceLink, positiveIntegerSetting, z } from '@msgin5g/link-sdk';
import { DEFAULT_SERIAL_BAUD_RATE, SerialDeviceLink } from './serial-device-link';
import { parseSerialPath, serialLayer2Ids } from './serial-layer2-ids';

/** Settings of one serial link instance. */
export const serialLinkSettings = z
  .object({
    /** The port's path (`/dev/ttyUSB0`); the device's Layer-2 ID is `serial:` + this path. */
    path: z.string({ error: 'is required: the serial port path, such as /dev/ttyUSB0' }).superRefine((v, ctx) => {
      const p = parseSerialPath(v);
      if (!p.ok) ctx.addIssue({ code: 'custom', message: p.error });
    }),
    /** Line speed, baud (8N1, no flow control; docs/wire-formats.md §3.4, provisional default 115200). */
    baudRate: positiveIntegerSetting.max(4_000_000, 'must be at most 4000000 baud').default(DEFAULT_SERIAL_BAUD_RATE),
  })
  .strict();

/** Descriptor of the serial link: M5 binary in SLIP frames over a UART, one device per port (docs/wire-formats.md §3.4). */
export const serialDeviceLink = defineDeviceLink({
  kind: 'serial',
  summary: 'M5 binary in SLIP frames over a serial port (UART), one device per port, 8N1 (docs/wire-formats.md §3.4); on when a path is set',
  settings: serialLinkSettings,
  activation: { by: 'path' },
  options: [
    {
      setting: 'path',
      flag: '--serial-path <path>',
      env: 'MSGIN5G_SERIAL_PATH',
      description: 'run a serial device link on this port (/dev/ttyUSB0); its device is serial:<path>',
      repeatable: true,
    },
    { setting: 'baudRate', flag: '--serial-baud <n>', env: 'MSGIN5G_SERIAL_BAUD', description: 'line speed of the serial links, baud, 8N1, no flow control (default 115200)' },
  ],
  layer2Ids: serialLayer2Ids,
  // One link per port: two would read each other's frames.
  resources: (s) => [`serial:${s.path}`],
  create: (s, deps) => new SerialDeviceLink({ id: deps.id, path: s.path, baudRate: s.baudRate, logger: deps.logger }),
});
