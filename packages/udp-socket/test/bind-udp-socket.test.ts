import * as dgram from 'node:dgram';
import { bindUdpSocket, DEFAULT_RECV_BUFFER_OCTETS, unmapIpv4, type BoundUdpSocket } from '@msgin5g/udp-socket';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';

const itIpv6 = itUnless(ipv6LoopbackUnavailable(), 'IPv6 test of bindUdpSocket');
const close = (b: BoundUdpSocket) => new Promise<void>((resolve) => b.socket.close(() => resolve()));

describe('bindUdpSocket', () => {
  it('binds an ephemeral port, delivers datagrams with their source, and reports socket errors without closing', async () => {
    const got: Array<{ hex: string; address: string; port: number }> = [];
    const errors: Error[] = [];
    const bound = await bindUdpSocket({
      host: '127.0.0.1',
      port: 0,
      recvBufferOctets: DEFAULT_RECV_BUFFER_OCTETS,
      onMessage: (msg, address, port) => got.push({ hex: msg.toString('hex'), address, port }),
      onError: (err) => errors.push(err),
    });
    const peer = dgram.createSocket('udp4');
    try {
      expect(bound.port).toBeGreaterThan(0);
      await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', () => resolve()));
      peer.send(Buffer.from('10002a', 'hex'), bound.port, '127.0.0.1');
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual([{ hex: '10002a', address: '127.0.0.1', port: peer.address().port }]);
      bound.socket.emit('error', new Error('driver hiccup'));
      expect(errors.map((e) => e.message)).toEqual(['driver hiccup']);
    } finally {
      peer.close();
      await close(bound);
    }
  });

  it('rejects with the dgram error (EADDRINUSE) when the port is taken, exclusively bound', async () => {
    const first = await bindUdpSocket({ host: '127.0.0.1', port: 0, recvBufferOctets: 0, onMessage: () => undefined, onError: () => undefined });
    try {
      await expect(bindUdpSocket({ host: '127.0.0.1', port: first.port, recvBufferOctets: 0, onMessage: () => undefined, onError: () => undefined })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await close(first);
    }
  });

  itIpv6('opens udp6 for an IPv6 host', async () => {
    const bound = await bindUdpSocket({ host: '::1', port: 0, recvBufferOctets: 0, onMessage: () => undefined, onError: () => undefined });
    try {
      expect(bound.socket.address()).toMatchObject({ family: 'IPv6', address: '::1' });
    } finally {
      await close(bound);
    }
  });
});

describe('unmapIpv4', () => {
  it('turns IPv4-mapped IPv6 addresses into IPv4 and leaves others alone', () => {
    expect(unmapIpv4('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(unmapIpv4('::1')).toBe('::1');
    expect(unmapIpv4('10.0.0.1')).toBe('10.0.0.1');
  });
});
