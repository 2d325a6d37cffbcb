/**
 * AfPacketFrameSocket in this process: options, interface lookup, errors with `code` and a clear
 * message (ENODEV, EPERM, EMSGSIZE, EINVAL, EBADF), start/close lifecycle on `lo`. The lookups and
 * ENODEV need no privilege; the socket tests on `lo` need root and are skipped with the reason
 * printed otherwise. EPERM is shown by a child process run without CAP_NET_RAW (setpriv) when this
 * process is root, and in this process when it is not. What the L2 link makes of these errors is
 * tested in packages/l2-device-link/test/af-packet-link.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AfPacketFrameSocket, interfaceInfo, PACKET_TYPE, RawEthernetError } from '@msgin5g/raw-ethernet';
import { dropNetRawUnavailable, itUnless, withoutNetRaw } from '@msgin5g/test-support';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const itRoot = isRoot ? it : it.skip;
if (!isRoot) console.log('raw-ethernet socket tests on lo skipped: not root (AF_PACKET needs root or CAP_NET_RAW)');

/** Whether this process has CAP_NET_RAW (bit 13 of CapEff). */
function hasNetRaw(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << 13n)) !== 0n;
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('AfPacketFrameSocket', () => {
  describe('options', () => {
    it.each([
      ['an empty interface name', { interfaceName: '', etherType: 0x88b5 }],
      ['an interface name over 15 characters', { interfaceName: 'a-very-long-name0', etherType: 0x88b5 }],
      ['an EtherType below 0x0600', { interfaceName: 'lo', etherType: 0x05ff }],
      ['a fractional EtherType', { interfaceName: 'lo', etherType: 0x88b5 + 0.5 }],
    ])('throws TypeError on %s', (_what, options) => {
      expect(() => new AfPacketFrameSocket(options)).toThrow(TypeError);
    });
  });

  describe('interfaceInfo (no privilege needed)', () => {
    it('reads index, MAC, MTU, type and state of lo', () => {
      expect(interfaceInfo('lo')).toEqual({ name: 'lo', index: expect.any(Number), mac: '000000000000', mtu: expect.any(Number), hardwareType: 772, up: true, running: true });
      expect(interfaceInfo('lo').mtu).toBeGreaterThanOrEqual(1500);
    });

    it('throws RawEthernetError ENODEV with a clear message for a missing interface', () => {
      expect(() => interfaceInfo('m5-nodev0')).toThrow(RawEthernetError);
      expect(() => interfaceInfo('m5-nodev0')).toThrow(expect.objectContaining({ code: 'ENODEV', errno: 19, interfaceName: 'm5-nodev0', message: expect.stringContaining('no network interface named "m5-nodev0"') }));
    });

    it('throws EINVAL for a name the kernel cannot hold', () => {
      expect(() => interfaceInfo('x'.repeat(16))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    });
  });

  describe('start errors', () => {
    it('rejects with ENODEV for a missing interface', async () => {
      const socket = new AfPacketFrameSocket({ interfaceName: 'm5-nodev0', etherType: 0x88b5 });
      await expect(socket.start(() => {})).rejects.toMatchObject({ name: 'RawEthernetError', code: 'ENODEV', message: expect.stringContaining('no network interface named "m5-nodev0"') });
    });

    if (isRoot) {
      // The child stays root, so it can load this package from any checkout (a clone in a folder
      // only root can read too), but runs without CAP_NET_RAW, which AF_PACKET needs.
      const itDropNetRaw = itUnless(dropNetRawUnavailable(), 'EPERM test of AfPacketFrameSocket');
      itDropNetRaw('reports EPERM clearly to an unprivileged process (child run without CAP_NET_RAW by setpriv)', () => {
        const script = `
          const { AfPacketFrameSocket } = require(${JSON.stringify(join(__dirname, '..', 'dist'))});
          (async () => {
            const out = {};
            try { await new AfPacketFrameSocket({ interfaceName: 'lo', etherType: 0x88b5 }).start(() => {}); out.socket = 'opened'; }
            catch (e) { out.socket = { code: e.code, message: e.message }; }
            console.log(JSON.stringify(out));
          })();`;
        const [setpriv, ...args] = withoutNetRaw([process.execPath, '-e', script]);
        const r = spawnSync(setpriv as string, args, { encoding: 'utf8', timeout: 10_000 });
        expect(r.stderr).toBe('');
        const out = JSON.parse(r.stdout) as { socket: { code: string; message: string } };
        expect(out.socket.code).toBe('EPERM');
        expect(out.socket.message).toMatch(/no permission to open a raw Ethernet socket on lo: AF_PACKET needs root or CAP_NET_RAW/);
      });
    } else {
      const itNoRaw = itUnless(hasNetRaw() ? 'this process has CAP_NET_RAW without being root (setcap on node?), so it cannot show EPERM' : undefined, 'EPERM test of AfPacketFrameSocket');
      itNoRaw('reports EPERM clearly in this unprivileged process', async () => {
        const socket = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: 0x88b5 });
        await expect(socket.start(() => {})).rejects.toMatchObject({ code: 'EPERM', message: expect.stringContaining('AF_PACKET needs root or CAP_NET_RAW') });
      });
    }
  });

  describe('send before start', () => {
    it('rejects with EBADF, and a frame under 14 octets with EINVAL', async () => {
      const socket = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: 0x88b5 });
      await expect(socket.send(new Uint8Array(60))).rejects.toMatchObject({ code: 'EBADF' });
      await expect(socket.send(new Uint8Array(13))).rejects.toMatchObject({ code: 'EINVAL' });
      await socket.close(); // never started: harmless
    });
  });

  describe('on lo (root)', () => {
    // A private EtherType and made-up MACs keep these frames apart from anything else on lo.
    const ETHERTYPE = 0x88b6;
    const frame = hex(`02000000bb01 02000000bb02 88b6 0003 10002a ${'00'.repeat(41)}`);

    itRoot('receives a frame sent on lo with the same bytes; close() twice is harmless; start again after close works', async () => {
      const rx = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: ETHERTYPE });
      const tx = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: ETHERTYPE });
      const got: Array<{ hex: string; pktType: number }> = [];
      try {
        const info = await rx.start((f, t) => got.push({ hex: Buffer.from(f).toString('hex'), pktType: t }));
        expect(info).toEqual({ mac: '000000000000', mtu: interfaceInfo('lo').mtu });
        await tx.start(() => {});
        await expect(rx.start(() => {})).rejects.toMatchObject({ code: 'EALREADY' });
        await tx.send(frame);
        await until(() => got.length >= 1);
        expect(got[0]).toEqual({ hex: Buffer.from(frame).toString('hex'), pktType: PACKET_TYPE.OTHERHOST });
        expect(rx.stats()).toMatchObject({ received: 1, truncated: 0, dropped: 0 });
        await rx.close();
        await rx.close();
        await expect(rx.send(frame)).rejects.toMatchObject({ code: 'EBADF' });
        got.length = 0;
        await rx.start((f, t) => got.push({ hex: Buffer.from(f).toString('hex'), pktType: t }));
        await tx.send(frame);
        await until(() => got.length >= 1);
        expect(got).toHaveLength(1);
      } finally {
        await rx.close();
        await tx.close();
      }
    });

    itRoot('raises the receive buffer so a burst of 1,000 frames sent without yielding is not dropped; a tiny buffer drops and counts', async () => {
      const tx = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: ETHERTYPE });
      const big = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: ETHERTYPE });
      const tiny = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: ETHERTYPE, receiveBufferOctets: 4096 });
      let n = 0;
      try {
        await tx.start(() => {});
        await big.start(() => (n += 1));
        await tiny.start(() => {});
        for (let i = 0; i < 1000; i++) await tx.send(frame); // no event-loop turn in between
        await until(() => n >= 1000);
        await new Promise((r) => setTimeout(r, 20));
        expect(big.stats()).toMatchObject({ received: 1000, dropped: 0, truncated: 0 });
        expect(big.stats().receiveBufferOctets).toBeGreaterThanOrEqual(1 << 20);
        const t = tiny.stats();
        expect(t.dropped).toBeGreaterThan(0);
        expect(t.received + t.dropped).toBe(1000);
      } finally {
        await tx.close();
        await big.close();
        await tiny.close();
      }
    });

    itRoot('rejects a frame over the MTU with EMSGSIZE and a message naming the MTU', async () => {
      const tx = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: ETHERTYPE });
      try {
        await tx.start(() => {});
        const mtu = interfaceInfo('lo').mtu;
        const big = new Uint8Array(mtu + 15);
        big.set(frame.subarray(0, 14));
        await expect(tx.send(big)).rejects.toMatchObject({ code: 'EMSGSIZE', message: expect.stringContaining(`exceeds what lo carries (MTU ${mtu}`) });
      } finally {
        await tx.close();
      }
    });

    itRoot('a frame handler that throws is reported through onError and the socket keeps receiving', async () => {
      const rx = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: ETHERTYPE });
      const tx = new AfPacketFrameSocket({ interfaceName: 'lo', etherType: ETHERTYPE });
      const errors: string[] = [];
      let n = 0;
      try {
        await rx.start(
          () => {
            n += 1;
            throw new Error(`handler bug ${n}`);
          },
          (err) => errors.push(err.message),
        );
        await tx.start(() => {});
        await tx.send(frame);
        await tx.send(frame);
        await until(() => n >= 2);
        expect(errors).toEqual(['handler bug 1', 'handler bug 2']);
      } finally {
        await rx.close();
        await tx.close();
      }
    });
  });
});

async function until(pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
