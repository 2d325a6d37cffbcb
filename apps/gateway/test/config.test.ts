import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXCHANGE_LIFETIME_MS } from '@msgin5g/core';
import { loadConfig } from '@msgin5g/gateway';
import { problems } from './config-problems';

describe('loadConfig', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));


  it('applies the documented defaults', () => {
    const c = loadConfig({ authorization: 'open' }, {});
    expect(c.server).toEqual({ uri: 'coap://127.0.0.1:5683/msgin5g', deadlineMs: 30000, upstreamSockets: 1 });
    expect(c.links).toEqual([{ id: 'udp', kind: 'udp', settings: { host: '0.0.0.0', port: 5690 }, origin: 'udp' }]);
    expect(c.store).toBe('sqlite:./data/gateway.db');
    expect(c.tombstoneLifetimeMs).toBe(EXCHANGE_LIFETIME_MS);
    expect(c.removeMappingOnFailure).toBe(false);
  });

  it('refuses to start without an authorization setting and says how to set one', () => {
    const p = problems(() => loadConfig({}, {}));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^authorization: is required: use "open"/);
  });

  it('reports every bad field on its own line with the value and its source', () => {
    const p = problems(() => loadConfig({ udpPort: '70000', server: 'http://x', deadlineMs: '-5', store: 'postgres:x', authorization: 'open' }, {}));
    expect(p).toHaveLength(4);
    expect(p.find((l) => l.startsWith('udp.port'))).toMatch(/0\.\.65535 \(got "70000" from flag --udp-port\)/);
    expect(p.find((l) => l.startsWith('server.uri'))).toMatch(/coap:\/\/ URI.*from flag --server/);
    expect(p.find((l) => l.startsWith('server.deadlineMs'))).toMatch(/> 0 ms/);
    expect(p.find((l) => l.startsWith('store'))).toMatch(/"memory" or "sqlite:PATH"/);
  });

  it('layers file < environment < flags', () => {
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, 'ueServiceId: from-file\nudp:\n  port: 6000\n  host: 127.0.0.1\nauthorization: open\nremoveMappingOnFailure: true\n');
    const c = loadConfig({ config: file, udpPort: '6002' }, { MSGIN5G_UDP_PORT: '6001', MSGIN5G_UE_SERVICE_ID: 'from-env' });
    expect(c.ueServiceId).toBe('from-env');
    expect(c.links).toEqual([{ id: 'udp', kind: 'udp', settings: { host: '127.0.0.1', port: 6002 }, origin: 'udp' }]);
    expect(c.removeMappingOnFailure).toBe(true);
  });

  it('names unknown settings in a config file instead of ignoring them', () => {
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ authorization: 'open', udpPort: 5690 }));
    expect(problems(() => loadConfig({ config: file }, {}))[0]).toMatch(/^\(top level\): unknown setting\(s\) "udpPort" in config file .*typo\.json$/);
  });

  it('names the config file as the source of a bad link switch (udp.enabled), not the default', () => {
    const file = join(dir, 'enabled.yaml');
    writeFileSync(file, 'authorization: open\nudp: {enabled: "yes"}\n');
    expect(problems(() => loadConfig({ config: file }, {}))).toEqual([expect.stringMatching(/^udp\.enabled: must be true or false \(got "yes" from config file .*enabled\.yaml\)$/)]);
  });

  it('reports an unreadable or malformed config file', () => {
    expect(problems(() => loadConfig({ config: join(dir, 'missing.yaml') }, {}))[0]).toMatch(/cannot read the file \(ENOENT\)/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'a: [1, 2\n');
    expect(problems(() => loadConfig({ config: bad }, {}))[0]).toMatch(/bad\.yaml: not valid YAML \(.*line 2/);
  });

  it('says what a port must be when it is not a number', () => {
    expect(problems(() => loadConfig({ authorization: 'open', udpPort: 'abc' }, {}))[0]).toBe('udp.port: must be a port number 0..65535 (got "abc" from flag --udp-port)');
  });

  it('reads the L2 link settings: interface, specified MAC and EtherType in hex', () => {
    const c = loadConfig({ authorization: 'open', l2Interface: 'eth1', l2Mac: '02:00:00:00:00:01', l2Ethertype: '0x88b6', udp: false }, {});
    expect(c.links).toEqual([{ id: 'l2', kind: 'l2', settings: { interface: 'eth1', mac: '02:00:00:00:00:01', etherType: 0x88b6 }, origin: 'l2' }]);
    expect(loadConfig({ authorization: 'open' }, { MSGIN5G_L2_INTERFACE: 'veth0' }).links.map((l) => [l.id, l.settings])).toEqual([
      ['udp', { host: '0.0.0.0', port: 5690 }],
      ['l2', { interface: 'veth0', etherType: 0x88b5 }],
    ]);
  });

  it('rejects a bad MAC, an EtherType below 0x0600 and a configuration with no device link', () => {
    const p = problems(() => loadConfig({ authorization: 'open', l2Interface: 'eth0', l2Mac: '02:00:00', l2Ethertype: '0x0800' }, {}));
    expect(p.find((l) => l.startsWith('l2.mac'))).toMatch(/MAC address/);
    expect(problems(() => loadConfig({ authorization: 'open', l2Mac: '02:00:00:00:00:01' }, {}))).toEqual([
      'l2: l2.mac set (from flag --l2-mac), but the l2 link runs only when l2.interface (--l2-interface) is set',
    ]);
    expect(loadConfig({ authorization: 'open', l2Interface: 'eth0', l2Ethertype: '0x0800' }, {}).links[1]?.settings.etherType).toBe(0x0800);
    expect(problems(() => loadConfig({ authorization: 'open', l2Interface: 'eth0', l2Ethertype: '0x05dc' }, {}))[0]).toMatch(/^l2\.etherType: must be 0x0600\.\.0xffff/);
    expect(problems(() => loadConfig({ authorization: 'open', udp: false }, {}))[0]).toMatch(/^links: no device link would run: keep the udp link \(udp\.enabled\), or set l2\.interface \(--l2-interface\), or set coapDevice\.port \(--coap-device-port\)/);
  });

  it('takes the log level from MSGIN5G_LOG_LEVEL', () => {
    expect(loadConfig({ authorization: 'open' }, { MSGIN5G_LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
  });

  it('takes the registration lifetime (default 86400 s) and the expiry pace (default 100/s) from flags or the environment, and refuses bad values', () => {
    const d = loadConfig({ authorization: 'open' }, {});
    expect([d.registrationLifetimeS, d.expiry]).toEqual([86_400, { expiriesPerSecond: 100, retryDelayMs: 60_000 }]);
    expect(loadConfig({ authorization: 'open' }, { MSGIN5G_REGISTRATION_LIFETIME_S: '600', MSGIN5G_EXPIRY_RATE: '20' })).toMatchObject({ registrationLifetimeS: 600, expiry: { expiriesPerSecond: 20 } });
    expect(loadConfig({ authorization: 'open', registrationLifetimeS: '2', expiryRate: '5' }, { MSGIN5G_REGISTRATION_LIFETIME_S: '600' })).toMatchObject({ registrationLifetimeS: 2, expiry: { expiriesPerSecond: 5 } });
    expect(problems(() => loadConfig({ authorization: 'open', registrationLifetimeS: '0' }, {}))[0]).toMatch(/^registrationLifetimeS: must be ≥ 1 s \(got "0" from flag --registration-lifetime-s\)/);
    expect(problems(() => loadConfig({ authorization: 'open', registrationLifetimeS: '1.5' }, {}))[0]).toMatch(/^registrationLifetimeS: must be an integer number of seconds/);
    expect(problems(() => loadConfig({ authorization: 'open', expiryRate: '0' }, {}))[0]).toMatch(/^expiry\.expiriesPerSecond: must be > 0/);
    // The pace stays within the upstream Message ID budget: 65536 per 247 s per socket (265/s).
    expect(loadConfig({ authorization: 'open', expiryRate: '265' }, {}).expiry.expiriesPerSecond).toBe(265);
    expect(problems(() => loadConfig({ authorization: 'open', expiryRate: '266' }, {}))[0]).toMatch(/^expiry\.expiriesPerSecond: must be ≤ 265, what 1 upstream socket\(s\) may send .* \(got 266 from flag --expiry-rate\)/);
    expect(loadConfig({ authorization: 'open', expiryRate: '1000', upstreamSockets: '4' }, {}).expiry.expiriesPerSecond).toBe(1000);
  });

  it('takes the upstream socket count from MSGIN5G_UPSTREAM_SOCKETS or --upstream-sockets (flag wins), 1..64', () => {
    expect(loadConfig({ authorization: 'open' }, { MSGIN5G_UPSTREAM_SOCKETS: '8' }).server.upstreamSockets).toBe(8);
    expect(loadConfig({ authorization: 'open', upstreamSockets: '4' }, { MSGIN5G_UPSTREAM_SOCKETS: '8' }).server.upstreamSockets).toBe(4);
    expect(problems(() => loadConfig({ authorization: 'open', upstreamSockets: '65' }, {}))[0]).toMatch(/^server\.upstreamSockets: must be 1\.\.64 \(got "65" from flag --upstream-sockets\)/);
  });
});

describe('inbox and message settings (docs/adr/0013, docs/wire-formats.md §5.3)', () => {
  it('defaults to a loopback inbox on any free port and the documented queue bounds', () => {
    const c = loadConfig({ authorization: 'open' }, {});
    expect(c.inbox).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.messages).toEqual({ queuePerDevice: 64, queueTotal: 100_000, firstResendMs: 2000 });
  });

  it('reads flags and the environment, and "off"', () => {
    const c = loadConfig({ authorization: 'open', inboxPort: 'off', messageQueuePerDevice: '3' }, { MSGIN5G_MESSAGE_QUEUE_TOTAL: '10' });
    expect(c.inbox.port).toBe('off');
    expect(c.messages.queuePerDevice).toBe(3);
    expect(c.messages.queueTotal).toBe(10);
  });

  it('refuses a wildcard inbox without an advertised host, and a per-device bound above the total', () => {
    expect(() => loadConfig({ authorization: 'open', inboxHost: '0.0.0.0' }, {})).toThrow(/inbox\.advertiseHost: required .*--inbox-advertise-host/);
    expect(loadConfig({ authorization: 'open', inboxHost: '0.0.0.0', inboxAdvertiseHost: '192.0.2.1' }, {}).inbox.advertiseHost).toBe('192.0.2.1');
    expect(() => loadConfig({ authorization: 'open', messageQueuePerDevice: '20', messageQueueTotal: '10' }, {})).toThrow(/messages\.queuePerDevice: must be ≤ messages\.queueTotal \(10\)/);
    expect(() => loadConfig({ authorization: 'open', inboxPort: '70000' }, {})).toThrow(/inbox\.port: must be a UDP port/);
    expect(() => loadConfig({ authorization: 'open', inboxHost: '0.0.0.0', inboxAdvertiseHost: '0.0.0.0' }, {})).toThrow(/inbox\.advertiseHost: must be an address or name the MSGin5G Server can reach, not a wildcard \(got "0\.0\.0\.0" from flag --inbox-advertise-host\)/);
  });
});
