/**
 * Device link instances from the config file's `links:` list, the per-kind sections, flags and the
 * environment, all derived from the descriptors (src/links.ts; docs/architecture.md §4).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVICE_LINKS, loadConfig } from '@msgin5g/gateway';
import { problems } from './config-problems';
import { InMemoryDeviceLink } from '@msgin5g/core/testing';
import { defineDeviceLink, z } from '@msgin5g/link-sdk';

/** A link kind the gateway does not ship, as an outside team would add one: several ports, one repeatable flag. */
const tty = defineDeviceLink({
  kind: 'tty',
  summary: 'test link',
  settings: z.object({ path: z.string().startsWith('/dev/'), baud: z.coerce.number().int().positive().default(115200) }).strict(),
  activation: { by: 'path' },
  options: [
    { setting: 'path', flag: '--tty-path <path>', env: 'MSGIN5G_TTY_PATH', description: 'a port', repeatable: true },
    { setting: 'baud', flag: '--tty-baud <n>', env: 'MSGIN5G_TTY_BAUD', description: 'baud' },
  ],
  layer2Ids: { form: 'tty:PATH', parse: () => ({ ok: false, error: 'n/a' }), pattern: () => undefined },
  resources: (s) => [`tty:${s.path}`],
  create: () => new InMemoryDeviceLink('tty'),
});
const WITH_TTY = [...DEVICE_LINKS, tty];
/** The link kinds the gateway lists, as its messages name them (a new link package adds one). */
const KINDS = DEVICE_LINKS.map((d) => d.kind).join(', ');

describe('loadConfig: device link instances', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-links-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('runs the links: entries, names the first of a kind by the kind and the next kind-2, or by name', () => {
    const f = file('links.yaml', 'authorization: open\nlinks:\n  - {type: udp, port: 6001}\n  - {type: udp, port: 6002, host: 127.0.0.1}\n  - {type: udp, port: 6003, name: lab}\n  - {type: coap, port: 6004}\n');
    const c = loadConfig({ config: f }, {});
    expect(c.links.map((l) => [l.id, l.kind, l.settings, l.origin])).toEqual([
      ['udp', 'udp', { host: '0.0.0.0', port: 6001 }, 'links.0'],
      ['udp-2', 'udp', { host: '127.0.0.1', port: 6002 }, 'links.1'],
      ['lab', 'udp', { host: '0.0.0.0', port: 6003 }, 'links.2'],
      ['coap', 'coap', { host: '0.0.0.0', port: 6004, uriPath: 'msgin5g', maxExchangesPerDevice: 8, maxPendingExchanges: 10000, refusalMaxAgeS: 5 }, 'links.3'],
    ]);
  });

  it('keeps the default UDP link with links: only when the udp section asks for it', () => {
    const f = file('both.yaml', 'authorization: open\nudp: {port: 5800}\nlinks:\n  - {type: udp, port: 5801}\n');
    expect(loadConfig({ config: f }, {}).links.map((l) => [l.id, l.settings.port])).toEqual([
      ['udp', 5800],
      ['udp-2', 5801],
    ]);
    // Today's flags keep working next to links: they configure the section instance.
    expect(loadConfig({ config: f, udpPort: '5900' }, {}).links.map((l) => l.settings.port)).toEqual([5900, 5801]);
  });

  it('reports a bad entry by its place in the list: unknown type, bad setting, unknown setting, bad name', () => {
    const f = file('bad.yaml', 'authorization: open\nlinks:\n  - {type: lora}\n  - {type: udp, port: 70000}\n  - {type: coap, port: 1, colour: red}\n  - {type: udp, port: 2, name: "Bad Name"}\n  - 7\n');
    const p = problems(() => loadConfig({ config: f }, {}));
    expect(p).toEqual([
      `links.0.type: must be one of ${KINDS} (got "lora" from config file ${f})`,
      `links.4: must be a mapping with a type (${KINDS}) (got 7 from config file ${f})`,
      'links.1.port: must be 0..65535 (got 70000 from config file ' + f + ')',
      `links.2: unknown setting(s) "colour" in config file ${f}`,
      'links.3.name: link name must be a lower-case letter then up to 31 of a-z, 0-9, "-" (such as "udp-2"), got "Bad Name"',
    ]);
  });

  it('refuses two instances holding one resource (a UDP port) or sharing a name', () => {
    const f = file('clash.yaml', 'authorization: open\nlinks:\n  - {type: udp, port: 6100}\n  - {type: coap, port: 6100}\n  - {type: udp, port: 6101, name: udp}\n');
    const p = problems(() => loadConfig({ config: f }, {}));
    // Explicit names are taken first, so the unnamed first entry is "udp-2".
    expect(p).toEqual(['links.1: link "coap" needs udp-port:6100, which link "udp-2" already holds']);
    const g = file('names.yaml', 'authorization: open\nlinks:\n  - {type: udp, port: 6100, name: a}\n  - {type: coap, port: 6101, name: a}\n');
    expect(problems(() => loadConfig({ config: g }, {}))).toEqual(['links.1.name: another link is already named "a"']);
    expect(problems(() => loadConfig({ authorization: 'open', coapDevicePort: '5690' }, {}))).toEqual(['coapDevice: link "coap" needs udp-port:5690, which link "udp" already holds']);
  });

  it('a repeatable flag starts one instance per value; the other flags apply to each; so does a comma-separated variable', () => {
    const c = loadConfig({ authorization: 'open', udp: false, ttyPath: ['/dev/ttyS0', '/dev/ttyS1'], ttyBaud: '9600' }, {}, WITH_TTY);
    expect(c.links.map((l) => [l.id, l.settings])).toEqual([
      ['tty', { path: '/dev/ttyS0', baud: 9600 }],
      ['tty-2', { path: '/dev/ttyS1', baud: 9600 }],
    ]);
    const e = loadConfig({ authorization: 'open', udp: false }, { MSGIN5G_TTY_PATH: '/dev/ttyA, /dev/ttyB' }, WITH_TTY);
    expect(e.links.map((l) => l.settings.path)).toEqual(['/dev/ttyA', '/dev/ttyB']);
    expect(problems(() => loadConfig({ authorization: 'open', ttyPath: ['/dev/x', 'COM3'] }, {}, WITH_TTY))).toEqual(['tty.path: Invalid string: must start with "/dev/" (got "COM3" from flag --tty-path)']);
    expect(problems(() => loadConfig({ authorization: 'open', ttyPath: ['/dev/x', '/dev/x'] }, {}, WITH_TTY))).toEqual(['tty.path.1: link "tty-2" needs tty:/dev/x, which link "tty" already holds']);
  });
});

describe('loadConfig: CoAP device link limits from the config file', () => {
  it('reads maxExchangesPerDevice, maxPendingExchanges and refusalMaxAgeS, and reports a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-coap-'));
    try {
      const f = join(dir, 'c.yaml');
      writeFileSync(f, 'authorization: open\ncoapDevice: {port: 6200, maxExchangesPerDevice: 2, refusalMaxAgeS: 30}\n');
      expect(loadConfig({ config: f }, {}).links.find((l) => l.kind === 'coap')?.settings).toMatchObject({ maxExchangesPerDevice: 2, maxPendingExchanges: 10000, refusalMaxAgeS: 30 });
      writeFileSync(f, 'authorization: open\ncoapDevice: {port: 6200, refusalMaxAgeS: 90000}\n');
      expect(() => loadConfig({ config: f }, {})).toThrow(/coapDevice\.refusalMaxAgeS: .*86400/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
