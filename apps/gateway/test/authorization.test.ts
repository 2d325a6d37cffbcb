import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationId, Layer2Id, LinkId } from '@msgin5g/core';
import { ConfigError, DEVICE_LINKS, ListDeviceAuthorizer, OpenDeviceAuthorizer } from '@msgin5g/gateway';

const l2 = (s: string) => s as Layer2Id;
const app = (n: number) => n as ApplicationId;

describe('device authorization (TS 23.554 §8.11.2 pre-condition 1)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-auth-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('open accepts every device', () => {
    expect(new OpenDeviceAuthorizer().authorize()).toEqual({ allowed: true });
  });

  it('matches MACs, CIDR blocks, bare IPs, ip:port and ranges of Application IDs; first match wins', () => {
    const a = ListDeviceAuthorizer.fromFile(
      write(
        'list.yaml',
        `devices:
  - layer2Id: "02:00:00:00:00:aa"
    applicationIds: [42]
    ueServiceId: sensor-aa
  - layer2Id: 192.0.2.0/24
    applicationIds: ["100-199"]
  - layer2Id: "::1"
    applicationIds: "*"
  - layer2Id: 127.0.0.1:40001
    applicationIds: [7]
`,
      ),
    );
    expect(a.authorize('l2', l2('0200000000aa'), app(42))).toEqual({ allowed: true, ueServiceId: 'sensor-aa' });
    expect(a.authorize('l2', l2('0200000000aa'), app(43))).toEqual({ allowed: false });
    expect(a.authorize('udp', l2('192.0.2.77:5000'), app(150))).toEqual({ allowed: true });
    expect(a.authorize('udp', l2('192.0.3.77:5000'), app(150))).toEqual({ allowed: false });
    expect(a.authorize('udp', l2('192.0.2.77:5000'), app(200))).toEqual({ allowed: false });
    expect(a.authorize('udp', l2('[::1]:5000'), app(9))).toEqual({ allowed: true });
    expect(a.authorize('udp', l2('127.0.0.1:40001'), app(7))).toEqual({ allowed: true });
    expect(a.authorize('udp', l2('127.0.0.1:40002'), app(7))).toEqual({ allowed: false });
  });

  it('an entry may set the registration lifetime (lifetimeS, s) of the devices it matches: per device, or per Application ID', () => {
    const a = ListDeviceAuthorizer.fromFile(
      write(
        'lifetimes.yaml',
        `devices:
  - layer2Id: 127.0.0.1:40001
    applicationIds: [7]
    lifetimeS: 30
  - layer2Id: "*"
    applicationIds: [7]
    lifetimeS: 3600
    ueServiceId: sensor-7
  - layer2Id: "*"
    applicationIds: "*"
`,
      ),
    );
    expect(a.authorize('udp', l2('127.0.0.1:40001'), app(7))).toEqual({ allowed: true, lifetimeS: 30 });
    expect(a.authorize('udp', l2('127.0.0.1:40002'), app(7))).toEqual({ allowed: true, ueServiceId: 'sensor-7', lifetimeS: 3600 });
    expect(a.authorize('udp', l2('127.0.0.1:40002'), app(8))).toEqual({ allowed: true });
  });

  it.each([
    ['0', /devices\.0\.lifetimeS: must be ≥ 1 s/],
    ['1.5', /devices\.0\.lifetimeS: must be an integer number of seconds/],
    ['"60"', /devices\.0\.lifetimeS: must be a whole number of seconds/],
    ['4294967296', /devices\.0\.lifetimeS: must be ≤ 4294967295 s/],
  ])('refuses lifetimeS: %s with a clear line', (value, message) => {
    expect(() => ListDeviceAuthorizer.fromFile(write(`bad-lifetime-${value.length}.yaml`, `devices:\n  - layer2Id: "*"\n    applicationIds: "*"\n    lifetimeS: ${value}\n`))).toThrow(message);
  });

  it('reads each pattern with the Layer-2 ID syntax of the link kinds, and matches it only on instances of those kinds', () => {
    const kinds = new Map<string, string>([
      ['udp', 'udp'],
      ['udp-lab', 'udp'],
      ['coap', 'coap'],
      ['l2', 'l2'],
    ]);
    const a = ListDeviceAuthorizer.fromFile(
      write('kinds.yaml', 'devices:\n  - {layer2Id: "02:00:00:00:00:aa", applicationIds: "*"}\n  - {layer2Id: 192.0.2.0/24, applicationIds: "*"}\n'),
      { descriptors: DEVICE_LINKS, kindOf: (id) => kinds.get(id) },
    );
    // A CIDR block is a pattern of the UDP and CoAP links: it matches on every instance of them.
    expect(a.authorize('udp-lab' as LinkId, l2('192.0.2.1:5'), app(1)).allowed).toBe(true);
    expect(a.authorize('coap' as LinkId, l2('192.0.2.1:5'), app(1)).allowed).toBe(true);
    // A MAC is a pattern of the L2 link only; an unknown instance matches nothing but "*".
    expect(a.authorize('l2' as LinkId, l2('0200000000aa'), app(1)).allowed).toBe(true);
    expect(a.authorize('udp' as LinkId, l2('0200000000aa'), app(1)).allowed).toBe(false);
    expect(a.authorize('gone' as LinkId, l2('192.0.2.1:5'), app(1)).allowed).toBe(false);
  });

  it('accepts a bare JSON array of entries', () => {
    const a = ListDeviceAuthorizer.fromFile(write('list.json', JSON.stringify([{ layer2Id: '*', applicationIds: [1, '5-6'] }])));
    expect(a.authorize('udp', l2('10.0.0.1:1'), app(6)).allowed).toBe(true);
    expect(a.authorize('udp', l2('10.0.0.1:1'), app(4)).allowed).toBe(false);
  });

  it('reports each bad entry on its own line', () => {
    const file = write('bad.yaml', 'devices:\n  - layer2Id: "not-an-address!"\n    applicationIds: ["9-3"]\n  - layer2Id: 10.0.0.0/99\n    applicationIds: "*"\n');
    try {
      ListDeviceAuthorizer.fromFile(file);
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const p = (err as ConfigError).problems;
      expect(p).toHaveLength(3);
      expect(p[0]).toMatch(/devices\.0\.layer2Id: "not-an-address!" is not a Layer-2 ID pattern of any device link \(udp: ip:port.*l2: a MAC address/);
      expect(p[1]).toMatch(/devices\.0\.applicationIds: "9-3" is not a valid Application ID range/);
      expect(p[2]).toMatch(/devices\.1\.layer2Id: "10\.0\.0\.0\/99" is not a valid CIDR block/);
    }
  });

  it('reports a bad Layer-2 ID together with the schema errors of other entries, in one round', () => {
    const file = write('mixed.json', JSON.stringify([{ layer2Id: 'not-an-address', applicationIds: '*' }, { layer2Id: '*', applicationIds: [70000] }]));
    try {
      ListDeviceAuthorizer.fromFile(file);
      throw new Error('expected a ConfigError');
    } catch (err) {
      const p = (err as ConfigError).problems;
      expect(p.some((l) => /devices\.0\.layer2Id: "not-an-address" is not a Layer-2 ID pattern of any device link \(udp: ip:port.*l2: a MAC address/.test(l))).toBe(true);
      expect(p.some((l) => /devices\.1\.applicationIds/.test(l))).toBe(true);
    }
  });

  it('names unknown keys and YAML errors with their position', () => {
    expect(() => ListDeviceAuthorizer.fromFile(write('typo.yaml', 'devices:\n  - layer2: 127.0.0.1\n    applicationIds: "*"\n'))).toThrow(
      /devices\.0: unknown key\(s\) "layer2" \(allowed: layer2Id, applicationIds, ueServiceId, lifetimeS\)/,
    );
    expect(() => ListDeviceAuthorizer.fromFile(write('broken.yaml', 'devices:\n  - layer2Id: "a\n'))).toThrow(/broken\.yaml: not valid YAML \(.*line/);
    expect(() => ListDeviceAuthorizer.fromFile(write('comma.json', '[{"layer2Id":"*","applicationIds":"*",}]'))).toThrow(/comma\.json: not valid JSON/);
  });

  it('reports a missing file clearly', () => {
    expect(() => ListDeviceAuthorizer.fromFile(join(dir, 'nope.yaml'))).toThrow(/nope\.yaml: cannot read the file \(ENOENT\)/);
  });
});
