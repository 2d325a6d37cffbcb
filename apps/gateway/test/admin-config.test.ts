/** The admin listener's settings (src/config.ts): defaults, sources, "off", and the token rule beyond loopback. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { isLoopbackHost, loadConfig } from '@msgin5g/gateway';
import { runGatewayCli } from '../src/demo/processes';
import { problems } from './config-problems';

const TOKEN = 'admin-token-0123456789';

describe('admin API configuration', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-admin-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to 127.0.0.1:9690 without a token', () => {
    expect(loadConfig({ authorization: 'open' }, {}).admin).toEqual({ host: '127.0.0.1', port: 9690 });
  });

  it('reads the config file < environment < flags, like every other setting', () => {
    const file = join(dir, 'admin.yaml');
    writeFileSync(file, `authorization: open\nadmin:\n  host: 0.0.0.0\n  port: 9000\n  token: ${TOKEN}-file\n`);
    expect(loadConfig({ config: file }, {}).admin).toEqual({ host: '0.0.0.0', port: 9000, token: `${TOKEN}-file` });
    expect(loadConfig({ config: file }, { MSGIN5G_ADMIN_PORT: '9001', MSGIN5G_ADMIN_TOKEN: `${TOKEN}-env` }).admin).toEqual({ host: '0.0.0.0', port: 9001, token: `${TOKEN}-env` });
    expect(loadConfig({ config: file, adminPort: '0', adminHost: '::1', adminToken: `${TOKEN}-flag` }, { MSGIN5G_ADMIN_PORT: '9001' }).admin).toEqual({ host: '::1', port: 0, token: `${TOKEN}-flag` });
  });

  it('"off" (or YAML false) turns the listener off, and then no token is needed anywhere', () => {
    expect(loadConfig({ authorization: 'open', adminPort: 'off', adminHost: '0.0.0.0' }, {}).admin.port).toBe('off');
    const file = join(dir, 'off.yaml');
    writeFileSync(file, 'authorization: open\nadmin: {port: false}\n');
    expect(loadConfig({ config: file }, {}).admin.port).toBe('off');
  });

  it('refuses a listener beyond loopback without a token, saying how to fix it', () => {
    const p = problems(() => loadConfig({ authorization: 'open', adminHost: '0.0.0.0' }, {}));
    expect(p).toEqual([expect.stringMatching(/^admin\.token: required when the admin API listens beyond loopback \(admin\.host "0\.0\.0\.0" from flag --admin-host\): set --admin-token or MSGIN5G_ADMIN_TOKEN/)]);
    expect(() => loadConfig({ authorization: 'open', adminHost: '0.0.0.0', adminToken: TOKEN }, {})).not.toThrow();
    expect(() => loadConfig({ authorization: 'open', adminHost: 'localhost' }, {})).not.toThrow();
  });

  it('reports a bad port or a short token without echoing the token', () => {
    const p = problems(() => loadConfig({ authorization: 'open', adminPort: '70000', adminToken: 'short-secret' }, {}));
    expect(p.find((l) => l.startsWith('admin.port'))).toMatch(/TCP port 0\.\.65535 \(0: any free port\) or "off"/);
    expect(p.find((l) => l.startsWith('admin.token'))).toMatch(/at least 16 characters .*\(got "\(hidden\)" from flag --admin-token\)/);
    expect(p.join('\n')).not.toContain('short-secret');
  });

  it.each([
    ['127.0.0.1', true], ['127.1.2.3', true], ['::1', true], ['[::1]', true], ['localhost', true], ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false], ['::', false], ['10.0.0.5', false], ['gateway.example', false], ['128.0.0.1', false],
  ])('isLoopbackHost(%s) = %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('the gateway refuses to start listening beyond loopback without a token: exit 2, nothing opened', async () => {
    const store = join(dir, 'never.db');
    const r = await runGatewayCli(['start', '--store', `sqlite:${store}`, '--authorization', 'open', '--udp-host', '127.0.0.1', '--udp-port', '0', '--admin-host', '0.0.0.0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/admin\.token: required when the admin API listens beyond loopback/);
    expect(existsSync(store)).toBe(false);
  });

  it('an admin port in use stops the start with exit 1 naming the address, and releases the store', async () => {
    const busy = createServer();
    await new Promise<void>((res) => busy.listen(0, '127.0.0.1', () => res()));
    const port = (busy.address() as { port: number }).port;
    try {
      const store = join(dir, 'busy.db');
      const r = await runGatewayCli(['start', '--store', `sqlite:${store}`, '--authorization', 'open', '--udp-host', '127.0.0.1', '--udp-port', '0', '--server', 'coap://127.0.0.1:9/msgin5g', '--admin-port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`msgin5g-gateway: cannot start: admin API cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
      expect(existsSync(`${store}.lock`)).toBe(false);
    } finally {
      await new Promise((res) => busy.close(res));
    }
  });
});
