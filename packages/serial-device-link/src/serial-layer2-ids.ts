/**
 * Layer-2 IDs of the serial link (docs/wire-formats.md §1, §3.4): one device per port, so a device
 * is known by the port it is wired to, `serial:` followed by the port's path as configured
 * (`serial:/dev/ttyUSB0`, `serial:/dev/serial/by-id/usb-FTDI_…-if00-port0`). The path is kept as
 * given, not resolved: a udev symlink names the same device across reboots, the `/dev/ttyUSBn` it
 * points to may not.
 *
 * Authorization-list patterns (`layer2Id:` of an entry):
 * - `serial:/dev/ttyUSB0` — that port only (a bare `/dev/ttyUSB0` means the same);
 * - a `*` inside the path — any run of characters except `/`, so one `*` stays within one path
 *   segment: `serial:/dev/ttyUSB*` matches `serial:/dev/ttyUSB0` and `serial:/dev/ttyUSB12`, not
 *   `serial:/dev/ttyUSB0/x` nor `serial:/dev/ttyACM0`; `serial:/dev/serial/by-id/*` matches every
 *   port udev names by id. No other character is special (`?`, `[` are literal).
 * The gateway itself handles a lone `*` (every device of every link).
 */
import type { Layer2Id, Parsed } from '@msgin5g/core';
import type { Layer2IdMatcher, Layer2IdSyntax } from '@msgin5g/link-sdk';

/** Prefix of every serial Layer-2 ID. */
export const SERIAL_LAYER2_PREFIX = 'serial:';

/** Longest port path, characters, so the default UE Service ID (`<gateway>/serial:<path>/<Application ID>`) stays short. */
export const MAX_SERIAL_PATH_LENGTH = 200;

/**
 * Checks a port path: 1..200 characters, no whitespace, control characters or commas (commas
 * separate paths in `MSGIN5G_SERIAL_PATH`). `/dev/ttyUSB0`, `/dev/serial/by-id/…`, `COM3`.
 * @returns the path, or the reason it is refused.
 */
export function parseSerialPath(path: string): Parsed<string> {
  if (typeof path !== 'string' || path.length === 0) return { ok: false, error: 'a serial port path must not be empty (such as /dev/ttyUSB0)' };
  if (path.length > MAX_SERIAL_PATH_LENGTH) return { ok: false, error: `a serial port path has at most ${MAX_SERIAL_PATH_LENGTH} characters, got ${path.length}` };
  if (/[\s,]/.test(path) || hasControlCharacter(path)) return { ok: false, error: `a serial port path must not hold whitespace, commas or control characters, got ${JSON.stringify(path)}` };
  return { ok: true, value: path };
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** The Layer-2 ID of the device on the port at `path` (checked with {@link parseSerialPath}). */
export function serialLayer2Id(path: string): Parsed<Layer2Id> {
  const p = parseSerialPath(path);
  return p.ok ? { ok: true, value: `${SERIAL_LAYER2_PREFIX}${p.value}` as Layer2Id } : p;
}

/**
 * Parses a serial Layer-2 ID as typed: `serial:/dev/ttyUSB0`, or a bare absolute path
 * `/dev/ttyUSB0`, which means the same.
 * @returns the canonical `serial:PATH`, or why the text is not one.
 */
export function parseSerialLayer2Id(text: string): Parsed<Layer2Id> {
  if (typeof text !== 'string') return { ok: false, error: 'a serial Layer-2 ID must be a string' };
  if (text.startsWith(SERIAL_LAYER2_PREFIX)) return serialLayer2Id(text.slice(SERIAL_LAYER2_PREFIX.length));
  if (text.startsWith('/')) return serialLayer2Id(text);
  return { ok: false, error: `a serial Layer-2 ID is serial:PATH (such as serial:/dev/ttyUSB0), got ${JSON.stringify(text)}` };
}

function globMatcher(path: string): Layer2IdMatcher {
  const source = path
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  const re = new RegExp(`^${source}$`);
  return (id) => id.startsWith(SERIAL_LAYER2_PREFIX) && re.test(id.slice(SERIAL_LAYER2_PREFIX.length));
}

/** The serial link's {@link Layer2IdSyntax} (its descriptor's `layer2Ids`). */
export const serialLayer2Ids: Layer2IdSyntax = {
  form: 'serial:PATH (serial:/dev/ttyUSB0); patterns: serial:PATH, or a * within one path segment (serial:/dev/ttyUSB*)',
  parse: parseSerialLayer2Id,
  pattern(text) {
    let path: string;
    if (text.startsWith(SERIAL_LAYER2_PREFIX)) path = text.slice(SERIAL_LAYER2_PREFIX.length);
    else if (text.startsWith('/')) path = text;
    else return undefined; // another link's pattern, or nobody's
    const checked = parseSerialPath(path);
    if (!checked.ok) return { ok: false, error: `authorization pattern ${JSON.stringify(text)}: ${checked.error}` };
    if (!path.includes('*')) {
      const exact = `${SERIAL_LAYER2_PREFIX}${path}`;
      return { ok: true, value: (id) => id === exact };
    }
    return { ok: true, value: globMatcher(path) };
  },
};
