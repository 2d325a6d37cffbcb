/**
 * UdpDeviceLink beyond the contract: bind errors, addresses, dual-stack `::` with IPv4-mapped
 * sources, the endpoint string.
 */
import * as dgram from 'node:dgram';
import {
  DeviceLinkError,
  type DeviceLinkHandler,
  type DeviceProtocolError,
  type DeviceRequest,
  type DeviceResponse,
  type Layer2Id,
  type RegistrationId,
} from '@msgin5g/core';
import { UdpDeviceLink, unmapIpv4 } from '@msgin5g/udp-device-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { endpointPort, RawUdpDevice, RecordingLogger } from './raw-udp-device';

class Recorder implements DeviceLinkHandler {
  readonly requests: Array<{ request: DeviceRequest; from: Layer2Id }> = [];
  readonly errors: DeviceProtocolError[] = [];
  onRequest(request: DeviceRequest, from: Layer2Id): void {
    this.requests.push({ request, from });
  }
  onProtocolError(error: DeviceProtocolError): void {
    this.errors.push(error);
  }
  async until(pred: () => boolean, timeoutMs = 3000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

const itIpv6 = itUnless(ipv6LoopbackUnavailable(), 'IPv6 tests of UdpDeviceLink');

const response: DeviceResponse = { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0a0b' as RegistrationId };
const nullHandler: DeviceLinkHandler = { onRequest() {}, onProtocolError() {} };

async function occupiedPort(host: string): Promise<{ port: number; close: () => Promise<void> }> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => s.bind(0, host, () => resolve()));
  return { port: s.address().port, close: () => new Promise((resolve) => s.close(() => resolve())) };
}

describe('UdpDeviceLink', () => {
  const links: UdpDeviceLink[] = [];
  const devices: RawUdpDevice[] = [];
  const started = async (host: string, handler: DeviceLinkHandler = nullHandler, logger?: RecordingLogger) => {
    const link = new UdpDeviceLink({ host, port: 0, ...(logger === undefined ? {} : { logger }) });
    links.push(link);
    await link.start(handler);
    return link;
  };
  const device = async (localHost: string, target: { host: string; port: number }) => {
    const d = await RawUdpDevice.open(localHost, target);
    devices.push(d);
    return d;
  };
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.close();
    for (const l of links.splice(0)) await l.stop();
  });

  describe('start', () => {
    it('rejects with DeviceLinkError BIND and "UDP port N is in use" when the port is taken', async () => {
      const busy = await occupiedPort('127.0.0.1');
      try {
        const link = new UdpDeviceLink({ host: '127.0.0.1', port: busy.port });
        const p = link.start(nullHandler);
        await expect(p).rejects.toBeInstanceOf(DeviceLinkError);
        await expect(p).rejects.toMatchObject({ reason: 'BIND', message: expect.stringContaining(`UDP port ${busy.port} is in use`) });
        await expect(p).rejects.toHaveProperty('cause.code', 'EADDRINUSE');
        await link.stop(); // idempotent even when never started
      } finally {
        await busy.close();
      }
    });

    it('rejects with BIND when the address is not on this host', async () => {
      // 192.0.2.1 (TEST-NET-1, RFC 5737) is never configured locally.
      const link = new UdpDeviceLink({ host: '192.0.2.1', port: 0 });
      await expect(link.start(nullHandler)).rejects.toMatchObject({ reason: 'BIND', message: expect.stringContaining('not configured on this host') });
    });

    it('rejects a second start while running', async () => {
      const link = await started('127.0.0.1');
      await expect(link.start(nullHandler)).rejects.toMatchObject({ reason: 'BIND' });
    });

    it('throws TypeError on a host that is not an IP literal or a bad port', () => {
      expect(() => new UdpDeviceLink({ host: 'localhost', port: 5690 })).toThrow(TypeError);
      expect(() => new UdpDeviceLink({ host: '127.0.0.1', port: 70000 })).toThrow(TypeError);
      expect(() => new UdpDeviceLink({ host: '127.0.0.1', port: 1, maxDatagramOctets: 0 })).toThrow(TypeError);
    });

    it('stop() during start() wins: start rejects with CLOSED and no socket stays open', async () => {
      const link = new UdpDeviceLink({ host: '127.0.0.1', port: 0 });
      const starting = link.start(nullHandler);
      await link.stop();
      await expect(starting).rejects.toMatchObject({ reason: 'CLOSED' });
      await expect(link.send('127.0.0.1:9' as Layer2Id, response)).rejects.toMatchObject({ reason: 'CLOSED' });
    });

    it('can be started again after stop', async () => {
      const link = await started('127.0.0.1');
      await link.stop();
      await link.start(nullHandler);
      await expect(link.send('127.0.0.1:9' as Layer2Id, response)).resolves.toBeUndefined();
    });
  });

  describe('endpoint', () => {
    it('names the configured port before start and the bound port after', async () => {
      expect(new UdpDeviceLink({ host: '0.0.0.0' }).endpoint).toBe('udp://0.0.0.0:5690');
      expect(new UdpDeviceLink({ host: '::', port: 5690 }).endpoint).toBe('udp://[::]:5690');
      const link = await started('127.0.0.1');
      expect(link.endpoint).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
      expect(endpointPort(link.endpoint)).toBeGreaterThan(0);
      expect(link.kind).toBe('udp');
    });

    itIpv6('brackets an IPv6 host', async () => {
      const link = await started('::1');
      expect(link.endpoint).toMatch(/^udp:\/\/\[::1\]:\d+$/);
    });
  });

  describe('send', () => {
    it('rejects with CLOSED before start', async () => {
      const link = new UdpDeviceLink({ host: '127.0.0.1', port: 0 });
      await expect(link.send('127.0.0.1:40000' as Layer2Id, response)).rejects.toMatchObject({ reason: 'CLOSED' });
    });

    it.each([
      ['a MAC Layer-2 ID', '02000000aa01'],
      ['a host name', 'localhost:40000'],
      ['port 0', '127.0.0.1:0'],
      ['no port', '127.0.0.1'],
      ['an IPv6 address on an IPv4 link', '[::1]:40000'],
    ])('rejects %s with BAD_ADDRESS', async (_what, to) => {
      const link = await started('127.0.0.1');
      const p = link.send(to as Layer2Id, response);
      await expect(p).rejects.toBeInstanceOf(DeviceLinkError);
      await expect(p).rejects.toMatchObject({ reason: 'BAD_ADDRESS' });
    });

    itIpv6('rejects an IPv4 Layer-2 ID on an IPv6-only (::1) link with BAD_ADDRESS', async () => {
      const link = await started('::1');
      await expect(link.send('127.0.0.1:40000' as Layer2Id, response)).rejects.toMatchObject({ reason: 'BAD_ADDRESS' });
    });
  });

  describe('dual-stack ::', () => {
    itIpv6('gives an IPv4 device its plain IPv4 Layer-2 ID (not ::ffff:…) and answers it there', async () => {
      const h = new Recorder();
      const link = await started('::', h);
      const d4 = await device('127.0.0.1', { host: '127.0.0.1', port: endpointPort(link.endpoint) });
      await d4.sendRaw(Uint8Array.of(0x10, 0x00, 0x2a));
      await h.until(() => h.requests.length === 1);
      expect(h.requests[0]?.from).toBe(d4.layer2Id);
      expect(d4.layer2Id).toMatch(/^127\.0\.0\.1:\d+$/);
      await link.send(d4.layer2Id, response);
      await expect(d4.nextResponse()).resolves.toEqual(response);
    });

    itIpv6('serves an IPv6 device on the same socket with a bracketed Layer-2 ID', async () => {
      const h = new Recorder();
      const link = await started('::', h);
      const d6 = await device('::1', { host: '::1', port: endpointPort(link.endpoint) });
      await d6.sendRaw(Uint8Array.of(0x10, 0x00, 0x2a));
      await h.until(() => h.requests.length === 1);
      expect(h.requests[0]?.from).toMatch(/^\[::1\]:\d+$/);
      expect(h.requests[0]?.from).toBe(d6.layer2Id);
      await link.send(d6.layer2Id, response);
      await expect(d6.nextResponse()).resolves.toEqual(response);
    });

    itIpv6('answers a malformed datagram from an IPv4 device (mapped address) with the reject-table bytes', async () => {
      const h = new Recorder();
      const link = await started('::', h);
      const d4 = await device('127.0.0.1', { host: '127.0.0.1', port: endpointPort(link.endpoint) });
      await d4.sendRaw(Uint8Array.of(0x7e, 0x00));
      await h.until(() => h.errors.length === 1);
      expect(h.errors[0]).toMatchObject({ from: d4.layer2Id, answered: true, octets: 2 });
      expect(Buffer.from(await d4.nextDatagram()).toString('hex')).toBe('1f097e');
    });
  });

  describe('unmapIpv4', () => {
    it.each([
      ['::ffff:127.0.0.1', '127.0.0.1'],
      ['::FFFF:192.0.2.7', '192.0.2.7'],
      ['::1', '::1'],
      ['2001:DB8::7', '2001:db8::7'],
      ['192.0.2.7', '192.0.2.7'],
      ['::ffff:999.0.0.1', '::ffff:999.0.0.1'],
    ])('%s → %s', (input, expected) => {
      expect(unmapIpv4(input)).toBe(expected);
    });
  });

  describe('logging', () => {
    it('logs the listening endpoint and a malformed datagram', async () => {
      const logger = new RecordingLogger();
      const link = await started('127.0.0.1', nullHandler, logger);
      const d = await device('127.0.0.1', { host: '127.0.0.1', port: endpointPort(link.endpoint) });
      await d.sendRaw(Uint8Array.of());
      const until = Date.now() + 3000;
      while (!logger.lines.some((l) => l.message === 'malformed datagram') && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      expect(logger.lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 'debug', message: 'UDP device link listening', fields: expect.objectContaining({ endpoint: link.endpoint }) }),
          expect.objectContaining({ message: 'malformed datagram', fields: expect.objectContaining({ layer2Id: d.layer2Id, octets: 0, answered: false }) }),
        ]),
      );
      // The receive buffer was enlarged without complaint.
      expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    });
  });
});
