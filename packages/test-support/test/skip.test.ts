/** itUnless and the IPv6 probe. */
import { createSocket } from 'node:dgram';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';

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
