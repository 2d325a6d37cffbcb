/**
 * docs/msgin5g-gateway.service and LICENSE (issue 11 item 5). The unit is checked with
 * `systemd-analyze verify` where the tool is installed (a visible skip otherwise); a deliberately
 * broken copy shows that the check reports problems.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itUnless } from '@msgin5g/test-support';
import { configSchema } from '@msgin5g/gateway';

const ROOT = join(__dirname, '..', '..', '..');
const UNIT = join(ROOT, 'docs', 'msgin5g-gateway.service');

function systemdAnalyzeMissing(): string | undefined {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.error !== undefined || r.status !== 0 ? 'systemd-analyze is not installed (apt-get install systemd)' : undefined;
}

/** `systemd-analyze verify` of a copy of `text` named msgin5g-gateway.service; its complaints about that file. */
function verify(text: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'gw-unit-'));
  try {
    const file = join(dir, 'msgin5g-gateway.service');
    writeFileSync(file, text);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
    return `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('msgin5g-gateway.service'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('running as a service: the systemd unit and the licence', () => {
  const unit = readFileSync(UNIT, 'utf8');
  const setting = (key: string) => unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

  it('the unit runs the built main.js start --config as a dedicated user, with SIGTERM, restart on failure and hardening', () => {
    expect(setting('Type')).toEqual(['simple']);
    expect(setting('ExecStart')[0]).toMatch(/^\/\S*node \S*apps\/gateway\/dist\/main\.js start --config \S+$/);
    expect(setting('KillSignal')).toEqual(['SIGTERM']);
    expect(setting('Restart')).toEqual(['on-failure']);
    expect(setting('User')[0]).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(setting('User')[0]).not.toBe('root');
    expect(setting('NoNewPrivileges')).toEqual(['yes']);
    expect(setting('ProtectSystem')).toEqual(['strict']);
    expect(setting('ReadWritePaths')).toHaveLength(1);
    expect(unit).toMatch(/^#AmbientCapabilities=CAP_NET_RAW$/m);
    // The stop must outlast the drain (drainTimeoutMs) plus the self-de-registration (≥ 1 s).
    const drainMs = configSchema.parse({ authorization: 'open' }).drainTimeoutMs;
    expect(Number(setting('TimeoutStopSec')[0]) * 1000).toBeGreaterThan(drainMs + 1000);
  });

  itUnless(systemdAnalyzeMissing(), 'systemd-analyze verify of docs/msgin5g-gateway.service')('systemd-analyze verify finds nothing to report (and does report a broken copy)', () => {
    expect(verify(unit)).toEqual([]);
    const broken = unit.replace('Type=simple', 'Type=simpel\nNoSuchKey=1');
    expect(verify(broken).length).toBeGreaterThanOrEqual(2);
  });

  it("LICENSE is the Apache License 2.0 that package.json's license field names", () => {
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string }).license).toBe('Apache-2.0');
    expect(license).toMatch(/^ +Apache License\n +Version 2\.0, January 2004\n +http:\/\/www\.apache\.org\/licenses\/\n/);
    expect(license).toMatch(/END OF TERMS AND CONDITIONS/);
    expect(license.split('\n')).toHaveLength(202);
  });
});
