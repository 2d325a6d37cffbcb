/**
 * The L2 link over a real `AfPacketFrameSocket` (`@msgin5g/raw-ethernet`): the socket's errors become
 * `DeviceLinkError` `BIND` with a message an operator can act on. ENODEV needs no privilege; EPERM is
 * shown by a child run without CAP_NET_RAW (setpriv) when this process is root.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DeviceLinkError } from '@msgin5g/core';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import { AfPacketFrameSocket } from '@msgin5g/raw-ethernet';
import { dropNetRawUnavailable, itUnless, withoutNetRaw } from '@msgin5g/test-support';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('L2DeviceLink on AfPacketFrameSocket: start errors', () => {
  it('turns ENODEV (no such interface) into DeviceLinkError BIND', async () => {
    const link = new L2DeviceLink({ socket: new AfPacketFrameSocket({ interfaceName: 'm5-nodev0', etherType: 0x88b5 }) });
    const p = link.start({ onRequest() {}, onProtocolError() {} });
    await expect(p).rejects.toBeInstanceOf(DeviceLinkError);
    await expect(p).rejects.toMatchObject({ reason: 'BIND', message: expect.stringContaining('no network interface "m5-nodev0"'), cause: expect.objectContaining({ code: 'ENODEV' }) });
  });

  const why = !isRoot ? 'not root: the EPERM child is run by root without CAP_NET_RAW' : dropNetRawUnavailable();
  itUnless(why, 'EPERM test of L2DeviceLink')('turns EPERM (no CAP_NET_RAW) into DeviceLinkError BIND naming the privilege', () => {
    const script = `
      const { AfPacketFrameSocket } = require(${JSON.stringify(require.resolve('@msgin5g/raw-ethernet'))});
      const { L2DeviceLink } = require(${JSON.stringify(join(__dirname, '..', 'dist'))});
      (async () => {
        const out = {};
        try { await new L2DeviceLink({ socket: new AfPacketFrameSocket({ interfaceName: 'lo', etherType: 0x88b5 }) }).start({ onRequest() {}, onProtocolError() {} }); out.link = 'started'; }
        catch (e) { out.link = { reason: e.reason, message: e.message }; }
        console.log(JSON.stringify(out));
      })();`;
    const [setpriv, ...args] = withoutNetRaw([process.execPath, '-e', script]);
    const r = spawnSync(setpriv as string, args, { encoding: 'utf8', timeout: 10_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { link: { reason: string; message: string } };
    expect(out.link.reason).toBe('BIND');
    expect(out.link.message).toMatch(/no permission for raw Ethernet frames \(run as root or grant CAP_NET_RAW\)/);
  });
});
