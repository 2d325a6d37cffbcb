import type { Layer2Id } from '@msgin5g/core';
import { defineDeviceLink, portSetting, prefixedTransportLayer2Ids, transportLayer2Ids, z, type DeviceLinkDescriptor } from '@msgin5g/link-sdk';

const base: DeviceLinkDescriptor<{ path: string; baud?: number }> = {
  kind: 'tty',
  summary: 'test',
  settings: z.object({ path: z.string(), baud: z.number().optional() }).strict(),
  activation: { by: 'path' },
  options: [{ setting: 'path', flag: '--tty-path <path>', env: 'MSGIN5G_TTY_PATH', description: 'a port', repeatable: true }],
  layer2Ids: { form: 'tty:PATH', parse: () => ({ ok: false, error: 'x' }), pattern: () => undefined },
  create: () => {
    throw new Error('not in this test');
  },
};

describe('defineDeviceLink', () => {
  it('returns a well-formed descriptor unchanged', () => {
    expect(defineDeviceLink(base)).toBe(base);
  });

  it.each([
    [{ kind: 'Serial Link' }, /link kind must be a lower-case letter/],
    [{ options: [{ setting: 'path', flag: '--path <p>', description: 'd' }] }, /flag --path <p> must start with --tty-/],
    [{ options: [{ setting: 'path', flag: '--tty-path', description: 'd' }] }, /must look like "--tty-name <value>"/],
    [{ options: [{ setting: 'path', flag: '--tty-path <p>', env: 'TTY_PATH', description: 'd' }] }, /must be MSGIN5G_/],
    [{ options: [{ setting: 'baud', flag: '--tty-baud <n>', description: 'd', repeatable: true }] }, /repeatable option --tty-baud <n> must set the activating setting path/],
    [
      {
        options: [
          { setting: 'path', flag: '--tty-path <p>', description: 'd', repeatable: true },
          { setting: 'path', flag: '--tty-also <p>', description: 'd', repeatable: true },
        ],
      },
      /at most one repeatable option/,
    ],
    [{ options: [{ setting: 'name', flag: '--tty-name <n>', description: 'd' }] }, /setting "name" is reserved/],
    [{ options: [{ setting: 'speed', flag: '--tty-speed <n>', description: 'd' }] }, /flag --tty-speed <n> sets "speed", which is not a setting \(path, baud\)/],
    [{ activation: { by: 'device' } }, /activation\.by names "device", which is not a setting/],
    [{ settings: z.object({ path: z.string() }) }, /settings must be a strict zod object/],
    [{ settings: z.string() }, /settings must be a strict zod object/],
    [{ settings: z.object({ path: z.string(), name: z.string() }).strict() }, /setting "name" is reserved/],
  ])('refuses a mistake where the link package defines it: %j', (override, message) => {
    expect(() => defineDeviceLink({ ...base, ...(override as Partial<DeviceLinkDescriptor<{ path: string; baud?: number }>>) })).toThrow(message);
  });

  it('accepts flags spelled after the config section key (coapDevice → --coap-device-…)', () => {
    const d = { ...base, kind: 'coap', configKey: 'coapDevice', activation: 'default' as const, options: [{ setting: 'path', flag: '--coap-device-port <p>', description: 'd' }] };
    expect(defineDeviceLink(d)).toBe(d);
  });
});

describe('transportLayer2Ids (UDP-based links)', () => {
  const id = (s: string) => s as Layer2Id;
  const match = (pattern: string, layer2Id: string): boolean => {
    const m = transportLayer2Ids.pattern(pattern);
    if (m === undefined || !m.ok) throw new Error(`pattern ${pattern} not read`);
    return m.value(id(layer2Id));
  };

  it('parses ip:port and [ipv6]:port into the canonical form', () => {
    expect(transportLayer2Ids.parse('192.0.2.7:40000')).toEqual({ ok: true, value: '192.0.2.7:40000' });
    expect(transportLayer2Ids.parse('[2001:DB8::7]:40000')).toEqual({ ok: true, value: '[2001:db8::7]:40000' });
    expect(transportLayer2Ids.parse('192.0.2.7').ok).toBe(false);
  });

  it('matches ip:port exactly, a bare IP at any port, and a CIDR block', () => {
    expect(match('192.0.2.7:40000', '192.0.2.7:40000')).toBe(true);
    expect(match('192.0.2.7:40000', '192.0.2.7:40001')).toBe(false);
    expect(match('192.0.2.7', '192.0.2.7:1')).toBe(true);
    expect(match('192.0.2.0/24', '192.0.2.99:5')).toBe(true);
    expect(match('192.0.2.0/24', '192.0.3.1:5')).toBe(false);
    expect(match('2001:db8::/32', '[2001:db8::1]:5')).toBe(true);
    expect(match('2001:db8::/32', '192.0.2.1:5')).toBe(false);
  });

  it('says what is wrong with a CIDR block, and leaves other syntaxes to other links', () => {
    expect(transportLayer2Ids.pattern('10.0.0.0/33')).toEqual({ ok: false, error: '"10.0.0.0/33" is not a valid CIDR block (prefix 0..32)' });
    expect(transportLayer2Ids.pattern('02:00:00:00:00:aa')).toBeUndefined();
    expect(transportLayer2Ids.pattern('serial:/dev/ttyS0')).toBeUndefined();
  });
});

describe('prefixedTransportLayer2Ids (tcp:ip:port)', () => {
  const tcp = prefixedTransportLayer2Ids('tcp');
  const id = (s: string) => s as Layer2Id;

  it('parses and matches only IDs with its prefix', () => {
    expect(tcp.parse('tcp:[2001:DB8::7]:40000')).toEqual({ ok: true, value: 'tcp:[2001:db8::7]:40000' });
    expect(tcp.parse('192.0.2.7:40000').ok).toBe(false);
    const m = tcp.pattern('tcp:192.0.2.0/24');
    if (m === undefined || !m.ok) throw new Error('pattern not read');
    expect(m.value(id('tcp:192.0.2.9:1'))).toBe(true);
    expect(m.value(id('192.0.2.9:1'))).toBe(false);
    expect(m.value(id('tcp:192.0.3.9:1'))).toBe(false);
    expect(tcp.pattern('192.0.2.0/24')).toBeUndefined();
    expect(tcp.pattern('tcp:10.0.0.0/33')).toEqual({ ok: false, error: '"10.0.0.0/33" is not a valid CIDR block (prefix 0..32)' });
    expect(tcp.pattern('tcp:nonsense')).toEqual({ ok: false, error: '"tcp:nonsense" is not tcp:ip:port, tcp:IP or tcp:CIDR' });
    expect(() => prefixedTransportLayer2Ids('TCP')).toThrow(TypeError);
  });
});

describe('portSetting', () => {
  it('says a missing port is required, and what a bad one must be', () => {
    const s = z.object({ port: portSetting }).strict();
    expect(s.safeParse({}).error?.issues[0]?.message).toBe('is required');
    expect(s.safeParse({ port: 'x' }).error?.issues[0]?.message).toBe('must be a port number 0..65535');
    expect(s.safeParse({ port: '70000' }).error?.issues[0]?.message).toBe('must be 0..65535');
    expect(s.safeParse({ port: '5690' }).data).toEqual({ port: 5690 });
  });
});
