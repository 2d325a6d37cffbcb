/**
 * L2DeviceLink beyond the contract: options, the endpoint, start and send errors classified into
 * DeviceLinkError, the specified MAC, restart, logging.
 */
import { DeviceLinkError, type DeviceLinkHandler, type DeviceResponse, type Layer2Id } from '@msgin5g/core';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import type { FrameSocket } from '@msgin5g/raw-ethernet';
import { FrameDevice, InMemoryEthernet } from '@msgin5g/l2-device-link/testing';
import { Recorder, RecordingLogger, settle, toHex } from './helpers';

const GW = '020000000001';
const DEV = '02000000aa01';
const response: DeviceResponse = { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' };
const nullHandler: DeviceLinkHandler = { onRequest() {}, onProtocolError() {} };

describe('L2DeviceLink', () => {
  describe('constructor', () => {
    const socket = new InMemoryEthernet().attach({ mac: GW });
    it.each([
      ['an EtherType below 0x0600 (a length)', { etherType: 0x05dc }],
      ['the 802.1Q TPID as EtherType', { etherType: 0x8100 }],
      ['a non-integer EtherType', { etherType: 1.5 }],
      ['an EtherType above 0xffff', { etherType: 0x10000 }],
      ['a MAC that is not 6 octets', { mac: '02:00:00:00:01' }],
      ['a group MAC', { mac: '01:00:5e:00:00:01' }],
      ['the broadcast MAC', { mac: 'ff:ff:ff:ff:ff:ff' }],
    ])('throws TypeError on %s', (_what, options) => {
      expect(() => new L2DeviceLink({ socket, ...options })).toThrow(TypeError);
    });

    it('accepts the MAC forms parseMacLayer2Id accepts', () => {
      for (const mac of ['02:00:00:00:00:2A', '02-00-00-00-00-2a', '02000000002a']) {
        expect(new L2DeviceLink({ socket, mac }).endpoint).toBe('l2://mem0/02:00:00:00:00:2a?ethertype=0x88b5');
      }
    });
  });

  describe('endpoint', () => {
    it('names interface, MAC (* until known) and EtherType', async () => {
      const net = new InMemoryEthernet();
      const link = new L2DeviceLink({ socket: net.attach({ mac: GW, interfaceName: 'veth0' }), etherType: 0x9000 });
      expect(link.endpoint).toBe('l2://veth0/*?ethertype=0x9000');
      await link.start(nullHandler);
      expect(link.endpoint).toBe('l2://veth0/02:00:00:00:00:01?ethertype=0x9000');
      expect(link.kind).toBe('l2');
      await link.stop();
    });
  });

  describe('start', () => {
    it.each([
      ['EPERM', /no permission for raw Ethernet frames \(run as root or grant CAP_NET_RAW\)/],
      ['EACCES', /no permission/],
      ['ENODEV', /no network interface "veth9"/],
      ['ENETDOWN', /interface veth9 is down/],
      ['ENOTSUP', /not supported here \(Linux only\)/],
      ['EIO', /start failed/],
    ])('rejects with BIND when the socket fails with %s, with a clear message and the cause', async (code, message) => {
      const link = new L2DeviceLink({ socket: new InMemoryEthernet().attach({ mac: GW, interfaceName: 'veth9', startError: code }) });
      const p = link.start(nullHandler);
      await expect(p).rejects.toBeInstanceOf(DeviceLinkError);
      await expect(p).rejects.toMatchObject({ reason: 'BIND', message: expect.stringMatching(message) });
      await expect(p).rejects.toHaveProperty('cause.code', code);
      await link.stop(); // idempotent even when never started
    });

    it('rejects a second start while running', async () => {
      const link = new L2DeviceLink({ socket: new InMemoryEthernet().attach({ mac: GW }) });
      await link.start(nullHandler);
      await expect(link.start(nullHandler)).rejects.toMatchObject({ reason: 'BIND', message: expect.stringContaining('already running') });
      await link.stop();
    });

    it('stop() during start() wins: start rejects with CLOSED and the socket is closed', async () => {
      const socket = new InMemoryEthernet().attach({ mac: GW });
      const link = new L2DeviceLink({ socket });
      const starting = link.start(nullHandler);
      await link.stop();
      await expect(starting).rejects.toMatchObject({ reason: 'CLOSED' });
      expect(socket.started).toBe(false);
      await expect(link.send(DEV as Layer2Id, response)).rejects.toMatchObject({ reason: 'CLOSED' });
    });

    it('can be started again after stop', async () => {
      const net = new InMemoryEthernet();
      const link = new L2DeviceLink({ socket: net.attach({ mac: GW }) });
      const h = new Recorder();
      await link.start(h);
      await link.stop();
      await link.start(h);
      const d = await FrameDevice.open(net.attach({ mac: DEV }), { gatewayMac: GW });
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: 1 as never });
      await h.until(() => h.requests.length === 1);
      await link.send(DEV as Layer2Id, response);
      await expect(d.nextResponse()).resolves.toEqual(response);
      await d.close();
      await link.stop();
    });

    it('a specified MAC that is not the interface MAC is added to the interface unicast filter; frames to the interface MAC are then ignored', async () => {
      const net = new InMemoryEthernet();
      const socket = net.attach({ mac: '02000000ffff' });
      const link = new L2DeviceLink({ socket, mac: '02:00:00:00:00:42' });
      const h = new Recorder();
      await link.start(h);
      expect([...socket.unicastAddresses]).toEqual(['020000000042']);
      const toSpecified = await FrameDevice.open(net.attach({ mac: DEV }), { gatewayMac: '020000000042' });
      const toInterface = await FrameDevice.open(net.attach({ mac: '02000000aa02' }), { gatewayMac: '02000000ffff' });
      await toInterface.send({ kind: 'REGISTRATION_REQUEST', applicationId: 1 as never });
      await toSpecified.send({ kind: 'REGISTRATION_REQUEST', applicationId: 2 as never });
      await h.until(() => h.requests.length === 1);
      await settle();
      expect(h.requests).toEqual([{ request: { kind: 'REGISTRATION_REQUEST', applicationId: 2 }, from: DEV, link: 'l2' }]);
      await link.send(DEV as Layer2Id, response);
      // The response comes from the specified MAC.
      expect(toHex(await toSpecified.nextFrame()).slice(12, 24)).toBe('020000000042');
      await toSpecified.close();
      await toInterface.close();
      await link.stop();
    });

    it('warns when the socket cannot add a unicast address', async () => {
      const inner = new InMemoryEthernet().attach({ mac: GW });
      const socket: FrameSocket = { interfaceName: 'x0', start: (f, e) => inner.start(f, e), send: (f) => inner.send(f), close: () => inner.close() };
      const logger = new RecordingLogger();
      const link = new L2DeviceLink({ socket, mac: '020000000042', logger });
      await link.start(nullHandler);
      expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([expect.stringContaining('cannot add a unicast address')]);
      await link.stop();
    });

    it('rejects with BIND when the interface has a group MAC and none is configured', async () => {
      const link = new L2DeviceLink({ socket: new InMemoryEthernet().attach({ mac: '030000000001' }) });
      await expect(link.start(nullHandler)).rejects.toMatchObject({ reason: 'BIND', message: expect.stringContaining('group MAC') });
    });
  });

  describe('send', () => {
    it('rejects with CLOSED before start', async () => {
      const link = new L2DeviceLink({ socket: new InMemoryEthernet().attach({ mac: GW }) });
      await expect(link.send(DEV as Layer2Id, response)).rejects.toMatchObject({ reason: 'CLOSED' });
    });

    it.each([
      ['a UDP Layer-2 ID', '127.0.0.1:40000'],
      ['a short MAC', '02000000aa'],
      ['a group MAC', '01005e000001'],
      ['the broadcast MAC', 'ffffffffffff'],
    ])('rejects %s with BAD_ADDRESS', async (_what, to) => {
      const link = new L2DeviceLink({ socket: new InMemoryEthernet().attach({ mac: GW }) });
      await link.start(nullHandler);
      const p = link.send(to as Layer2Id, response);
      await expect(p).rejects.toBeInstanceOf(DeviceLinkError);
      await expect(p).rejects.toMatchObject({ reason: 'BAD_ADDRESS' });
      await link.stop();
    });

    it.each([
      ['EMSGSIZE', 'SEND', /too large for the interface MTU/],
      ['ENOBUFS', 'SEND', /transmit queue full/],
      ['ENETDOWN', 'SEND', /is down/],
      ['EBADF', 'CLOSED', /closed/],
    ])('classifies a socket %s into %s', async (code, reason, message) => {
      const socket = new InMemoryEthernet().attach({ mac: GW });
      const link = new L2DeviceLink({ socket });
      await link.start(nullHandler);
      socket.failSends(code);
      const p = link.send(DEV as Layer2Id, response);
      await expect(p).rejects.toMatchObject({ reason, message: expect.stringMatching(message), cause: expect.objectContaining({ code }) });
      await link.stop();
    });
  });

  describe('logging', () => {
    it('logs the listening endpoint, ignored frames at debug, and a malformed frame', async () => {
      const net = new InMemoryEthernet();
      const logger = new RecordingLogger();
      const link = new L2DeviceLink({ socket: net.attach({ mac: GW, interfaceName: 'veth0' }), logger });
      await link.start(nullHandler);
      const d = await FrameDevice.open(net.attach({ mac: DEV }), { gatewayMac: GW });
      await d.sendUnit(new Uint8Array(0));
      await d.sendFrame(Uint8Array.from(Buffer.from(`ffffffffffff${DEV}88b5000310002a`, 'hex')));
      await settle();
      expect(logger.lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 'info', message: 'L2 device link listening', fields: expect.objectContaining({ endpoint: 'l2://veth0/02:00:00:00:00:01?ethertype=0x88b5', mtu: 1500 }) }),
          expect.objectContaining({ level: 'debug', message: 'malformed frame', fields: expect.objectContaining({ layer2Id: DEV, octets: 60, answered: false }) }),
          expect.objectContaining({ level: 'debug', message: 'frame ignored', fields: expect.objectContaining({ why: 'ignoredOtherDestination', count: 1 }) }),
        ]),
      );
      expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
      await d.close();
      await link.stop();
    });

    it('logs a receive-side socket error and keeps running', async () => {
      let reportError: ((err: Error) => void) | undefined;
      const inner = new InMemoryEthernet().attach({ mac: GW });
      const socket: FrameSocket = {
        interfaceName: 'x0',
        start: (f, e) => {
          reportError = e;
          return inner.start(f);
        },
        send: (f) => inner.send(f),
        close: () => inner.close(),
      };
      const logger = new RecordingLogger();
      const link = new L2DeviceLink({ socket, logger });
      await link.start(nullHandler);
      reportError?.(Object.assign(new Error('recvmsg on x0: Network is down'), { code: 'ENETDOWN' }));
      expect(logger.lines.filter((l) => l.level === 'error')).toEqual([
        expect.objectContaining({ message: 'L2 device link socket error', fields: expect.objectContaining({ err: expect.stringContaining('is down') }) }),
      ]);
      await expect(link.send(DEV as Layer2Id, response)).resolves.toBeUndefined();
      await link.stop();
    });
  });
});
