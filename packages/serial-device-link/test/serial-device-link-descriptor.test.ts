/**
 * The serial link's descriptor (docs/adding-a-device-link.md): settings, flags, activation,
 * resources, Layer-2 IDs and authorization patterns.
 */
import { parseLinkId, must, silentLogger, type Layer2Id } from '@msgin5g/core';
import { FakeClock } from '@msgin5g/core/testing';
import { SerialDeviceLink, serialDeviceLink } from '@msgin5g/serial-device-link';

const ids = serialDeviceLink.layer2Ids;
const match = (pattern: string, id: string): boolean => {
  const m = ids.pattern(pattern);
  if (m === undefined || !m.ok) throw new Error(`pattern ${pattern} not read: ${JSON.stringify(m)}`);
  return m.value(id as Layer2Id);
};

describe('serialDeviceLink descriptor', () => {
  it('is kind serial, on when a path is set, with a repeatable --serial-path and --serial-baud', () => {
    expect(serialDeviceLink.kind).toBe('serial');
    expect(serialDeviceLink.activation).toEqual({ by: 'path' });
    expect(serialDeviceLink.options.map((o) => [o.flag, o.env, o.setting, o.repeatable === true])).toEqual([
      ['--serial-path <path>', 'MSGIN5G_SERIAL_PATH', 'path', true],
      ['--serial-baud <n>', 'MSGIN5G_SERIAL_BAUD', 'baudRate', false],
    ]);
  });

  it('settings: path required, baudRate 115200 by default, coerced from a string, unknown keys refused', () => {
    expect(serialDeviceLink.settings.parse({ path: '/dev/ttyUSB0' })).toEqual({ path: '/dev/ttyUSB0', baudRate: 115200 });
    expect(serialDeviceLink.settings.parse({ path: '/dev/ttyUSB0', baudRate: '9600' })).toEqual({ path: '/dev/ttyUSB0', baudRate: 9600 });
    expect(serialDeviceLink.settings.safeParse({}).success).toBe(false);
    expect(serialDeviceLink.settings.safeParse({ path: '' }).success).toBe(false);
    expect(serialDeviceLink.settings.safeParse({ path: '/dev/tty USB0' }).success).toBe(false);
    expect(serialDeviceLink.settings.safeParse({ path: '/dev/ttyUSB0', baudRate: 0 }).success).toBe(false);
    expect(serialDeviceLink.settings.safeParse({ path: '/dev/ttyUSB0', baudRate: 'fast' }).success).toBe(false);
    expect(serialDeviceLink.settings.safeParse({ path: '/dev/ttyUSB0', parity: 'even' }).success).toBe(false);
  });

  it('holds the port as a resource, so two instances on one port refuse the configuration', () => {
    expect(serialDeviceLink.resources?.({ path: '/dev/ttyUSB0', baudRate: 115200 })).toEqual(['serial:/dev/ttyUSB0']);
  });

  it('creates a SerialDeviceLink (not opened) for the settings', () => {
    const link = serialDeviceLink.create({ path: '/dev/ttyUSB3', baudRate: 57600 }, { id: must(parseLinkId('serial-2')), logger: silentLogger, clock: new FakeClock() });
    expect(link).toBeInstanceOf(SerialDeviceLink);
    expect(link.kind).toBe('serial');
    expect(link.endpoint).toBe('serial:/dev/ttyUSB3 57600 8N1');
  });

  it('parses Layer-2 IDs: serial:PATH, and a bare absolute path turned into it', () => {
    expect(ids.parse('serial:/dev/ttyUSB0')).toEqual({ ok: true, value: 'serial:/dev/ttyUSB0' });
    expect(ids.parse('/dev/ttyUSB0')).toEqual({ ok: true, value: 'serial:/dev/ttyUSB0' });
    expect(ids.parse('serial:COM3')).toEqual({ ok: true, value: 'serial:COM3' });
    expect(ids.parse('ttyUSB0').ok).toBe(false);
    expect(ids.parse('serial:').ok).toBe(false);
    expect(ids.parse('serial:/dev/tty\u0001').ok).toBe(false);
    expect(ids.parse('192.0.2.7:40000').ok).toBe(false);
  });

  it('authorization patterns: exact, bare path, and * within one path segment', () => {
    expect(match('serial:/dev/ttyUSB0', 'serial:/dev/ttyUSB0')).toBe(true);
    expect(match('serial:/dev/ttyUSB0', 'serial:/dev/ttyUSB1')).toBe(false);
    expect(match('/dev/ttyUSB0', 'serial:/dev/ttyUSB0')).toBe(true);
    expect(match('serial:/dev/ttyUSB*', 'serial:/dev/ttyUSB0')).toBe(true);
    expect(match('serial:/dev/ttyUSB*', 'serial:/dev/ttyUSB12')).toBe(true);
    expect(match('serial:/dev/ttyUSB*', 'serial:/dev/ttyUSB')).toBe(true);
    expect(match('serial:/dev/ttyUSB*', 'serial:/dev/ttyACM0')).toBe(false);
    expect(match('serial:/dev/ttyUSB*', 'serial:/dev/ttyUSB0/x')).toBe(false);
    expect(match('serial:/dev/serial/by-id/*', 'serial:/dev/serial/by-id/usb-FTDI_FT232R-if00-port0')).toBe(true);
    expect(match('serial:/dev/tty.USB*', 'serial:/dev/ttyXUSB0')).toBe(false); // "." is literal
    expect(match('serial:/dev/*/ttyS0', 'serial:/dev/a/ttyS0')).toBe(true);
    expect(match('serial:/dev/ttyUSB*', '192.0.2.7:40000')).toBe(false);
  });

  it('leaves other links\' patterns alone and reports a bad serial pattern', () => {
    expect(ids.pattern('192.0.2.0/24')).toBeUndefined();
    expect(ids.pattern('02:00:00:00:00:aa')).toBeUndefined();
    expect(ids.pattern('*')).toBeUndefined();
    expect(ids.pattern('serial:')).toMatchObject({ ok: false });
    expect(ids.pattern('serial:/dev/tty USB*')).toMatchObject({ ok: false });
  });
});
