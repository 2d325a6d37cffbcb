/** itUnless, the IPv6 probe and withoutNetRaw. */
import { createSocket } from 'node:dgram';
import { dropNetRawUnavailable, ipv6LoopbackUnavailable, itUnless, runChecked, withoutNetRaw } from '@msgin5g/test-support';

describe('itUnless', () => {
  it('is Jest it when nothing is missing', () => {
    expect(itUnless(undefined, 'x')).toBe(it);
  });

  it('otherwise declares skipped tests whose names carry the reason, and prints the reason once', () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const skip = jest.spyOn(it, 'skip').mockImplementation(() => undefined);
    try {
      const declare = itUnless('no frobnicator here', 'frobnicator tests');
      const fn = () => undefined;
      declare('frobnicates', fn, 1234);
      expect(skip).toHaveBeenCalledWith('frobnicates (skipped: no frobnicator here)', fn, 1234);
      expect(written).toEqual(['frobnicator tests skipped: no frobnicator here\n']);
    } finally {
      write.mockRestore();
      skip.mockRestore();
    }
  });
});

describe('ipv6LoopbackUnavailable', () => {
  it('says ::1 is usable exactly when a UDP socket can bind it', async () => {
    const socket = createSocket('udp6');
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(0, '::1', () => resolve(true));
    });
    if (bound) socket.close();
    const why = ipv6LoopbackUnavailable();
    expect({ bound, why }).toEqual(bound ? { bound, why: undefined } : { bound, why: expect.stringMatching(/::1 is not configured/) });
  });
});

describe('withoutNetRaw', () => {
  const why = dropNetRawUnavailable();
  itUnless(why, 'withoutNetRaw test')('runs the command as the same user without CAP_NET_RAW (bit 13) in any set', async () => {
    const [command, ...args] = withoutNetRaw([process.execPath, '-e', 'console.log(process.getuid()); console.log(require("fs").readFileSync("/proc/self/status", "utf8"))']);
    expect(command).toBe('setpriv');
    const r = await runChecked(command as string, args);
    const [uid, ...status] = r.stdout.split('\n');
    expect(Number(uid)).toBe(process.getuid?.());
    const sets = Object.fromEntries(status.filter((l) => /^Cap(Inh|Prm|Eff|Bnd|Amb):/.test(l)).map((l) => l.split(/:\s*/) as [string, string]));
    expect(Object.keys(sets).sort()).toEqual(['CapAmb', 'CapBnd', 'CapEff', 'CapInh', 'CapPrm']);
    for (const [set, mask] of Object.entries(sets)) expect({ set, netRaw: (BigInt(`0x${mask}`) >> 13n) & 1n }).toEqual({ set, netRaw: 0n });
  });
});
