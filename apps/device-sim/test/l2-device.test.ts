/**
 * L2Device and the CLI's `--link l2` over an in-memory Ethernet segment, against a real
 * L2DeviceLink whose handler plays the gateway: no root, no native addon. (The native path is
 * `l2-cli.root.test.ts`.)
 */
import type { ApplicationId, DeviceLinkHandler, DeviceResponse, Layer2Id, RegistrationId } from '@msgin5g/core';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import { InMemoryEthernet, type InMemoryFrameSocket } from '@msgin5g/l2-device-link/testing';
import { L2Device, runCli, toHex } from '@msgin5g/device-sim';

const GW = '020000000001';
const DEV = '02000000aa01';
const Z = (n: number) => '00'.repeat(n);

/** A gateway on the segment that answers with `answer(request)`, or not at all (undefined). */
async function scriptedGateway(net: InMemoryEthernet, answer: (r: Parameters<DeviceLinkHandler['onRequest']>[0]) => DeviceResponse | undefined) {
  const link = new L2DeviceLink({ socket: net.attach({ mac: GW, interfaceName: 'gw0' }) });
  const seen: Array<{ kind: string; from: Layer2Id }> = [];
  await link.start({
    onRequest: (request, from) => {
      seen.push({ kind: request.kind, from });
      const response = answer(request);
      if (response !== undefined) void link.send(from, response);
    },
    onProtocolError: () => {},
  });
  return { link, seen };
}

const success = (r: { kind: string }): DeviceResponse =>
  r.kind === 'REGISTRATION_REQUEST'
    ? { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0011223344556677' as RegistrationId, applicationId: 42 as ApplicationId }
    : { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0011223344556677' as RegistrationId, applicationId: 42 as ApplicationId };

describe('L2Device (in-memory Ethernet)', () => {
  let net: InMemoryEthernet;
  let gw: Awaited<ReturnType<typeof scriptedGateway>> | undefined;
  afterEach(async () => {
    await gw?.link.stop();
    gw = undefined;
  });

  it('registers: sends a padded M5 frame from its MAC, returns the response, its M5 bytes and frame', async () => {
    net = new InMemoryEthernet();
    gw = await scriptedGateway(net, success);
    const socket = net.attach({ mac: DEV });
    const device = await L2Device.open({ socket, gatewayMac: '02:00:00:00:00:01' });
    try {
      expect(device.layer2Id).toBe(DEV);
      const answer = await device.exchange({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId }, { timeoutMs: 500, retries: 0 });
      expect(answer.message).toEqual(success({ kind: 'REGISTRATION_REQUEST' }));
      expect(toHex(answer.bytes)).toBe('1100a0002a21080011223344556677');
      expect(toHex(answer.frame)).toBe(`${DEV}${GW}88b5000f1100a0002a21080011223344556677${Z(29)}`);
      expect(answer.attempts).toBe(1);
      expect(socket.sent.map(toHex)).toEqual([`${GW}${DEV}88b5000310002a${Z(41)}`]);
      expect(gw.seen).toEqual([{ kind: 'REGISTRATION_REQUEST', from: DEV }]);
    } finally {
      await device.close();
    }
  });

  it('uses --mac as its Layer-2 ID (added to the interface filter) and ignores frames not from the gateway or not to it', async () => {
    net = new InMemoryEthernet();
    gw = await scriptedGateway(net, success);
    const socket = net.attach({ mac: '02000000ffff' });
    const device = await L2Device.open({ socket, gatewayMac: GW, mac: '0a:00:00:00:00:07' });
    const stranger = net.attach({ mac: '02000000cc01' });
    await stranger.start(() => {});
    try {
      expect(device.layer2Id).toBe('0a0000000007');
      expect([...socket.unicastAddresses]).toEqual(['0a0000000007']);
      // A DE-REGISTRATION RESPONSE from a stranger, and one from the gateway to someone else.
      await stranger.send(Buffer.from(`0a0000000007 02000000cc01 88b5 0003 130001 ${Z(41)}`.replace(/ /g, ''), 'hex'));
      await stranger.send(Buffer.from(`02000000cc02 ${GW} 88b5 0003 130001 ${Z(41)}`.replace(/ /g, ''), 'hex'));
      const answer = await device.request({ kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' as RegistrationId }, { timeoutMs: 500, retries: 0 });
      expect(answer).toMatchObject({ kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS' });
      await expect(device.nextMessage(50)).rejects.toMatchObject({ reason: 'TIMEOUT' });
    } finally {
      await stranger.close();
      await device.close();
    }
  });

  it('resends the same frame after each timeout and reports TIMEOUT with the attempts', async () => {
    net = new InMemoryEthernet();
    gw = await scriptedGateway(net, () => undefined);
    const socket = net.attach({ mac: DEV });
    const device = await L2Device.open({ socket, gatewayMac: GW });
    try {
      await expect(device.request({ kind: 'REGISTRATION_REQUEST', applicationId: 1 as ApplicationId }, { timeoutMs: 30, retries: 2 })).rejects.toMatchObject({
        reason: 'TIMEOUT',
        details: { attempts: 3 },
        message: expect.stringContaining('no answer from 02:00:00:00:00:01 on mem1 after 3 attempt(s) of 30 ms'),
      });
      expect(new Set(socket.sent.map(toHex)).size).toBe(1);
      expect(socket.sent).toHaveLength(3);
    } finally {
      await device.close();
    }
  });

  it('open: BIND with the socket error code; BAD_ARGUMENT for bad MACs or its MAC equal to the gateway\'s', async () => {
    net = new InMemoryEthernet();
    await expect(L2Device.open({ socket: net.attach({ mac: DEV, startError: 'EPERM' }), gatewayMac: GW })).rejects.toMatchObject({ reason: 'BIND', details: { code: 'EPERM' } });
    await expect(L2Device.open({ socket: net.attach({ mac: DEV }), gatewayMac: 'ff:ff:ff:ff:ff:ff' })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT' });
    await expect(L2Device.open({ socket: net.attach({ mac: DEV }), gatewayMac: GW, mac: '01:00:5e:00:00:01' })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT' });
    const lo = net.attach({ mac: '000000000000' });
    await expect(L2Device.open({ socket: lo, gatewayMac: '000000000000' })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT', message: expect.stringContaining("is the gateway's MAC") });
    expect(lo.started).toBe(false); // closed again
    await expect(L2Device.open({ gatewayMac: GW })).rejects.toMatchObject({ reason: 'BAD_ARGUMENT', message: expect.stringContaining('interface name') });
  });

  it('a frame the socket refuses fails the request at once with SEND', async () => {
    net = new InMemoryEthernet();
    const socket: InMemoryFrameSocket = net.attach({ mac: DEV });
    const device = await L2Device.open({ socket, gatewayMac: GW });
    socket.failSends('ENETDOWN');
    try {
      await expect(device.request({ kind: 'REGISTRATION_REQUEST', applicationId: 1 as ApplicationId }, { timeoutMs: 5000, retries: 3 })).rejects.toMatchObject({ reason: 'SEND', details: { code: 'ENETDOWN' } });
    } finally {
      await device.close();
    }
    await expect(device.sendUnit(Uint8Array.of(0x10))).rejects.toMatchObject({ reason: 'CLOSED' });
  });
});

describe('device CLI --link l2 (in process, in-memory Ethernet)', () => {
  const run = async (net: InMemoryEthernet, argv: string[]) => {
    const out: string[] = [];
    let err = '';
    const code = await runCli(argv, {
      out: (l) => out.push(l),
      err: (t) => (err += t),
      frameSocket: (interfaceName) => net.attach({ mac: DEV, interfaceName }),
    });
    return { code, out, err };
  };

  it('register then deregister print one JSON line each with the device MAC as Layer-2 ID', async () => {
    const net = new InMemoryEthernet();
    const gw = await scriptedGateway(net, success);
    try {
      const reg = await run(net, ['register', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', '02:00:00:00:00:01', '--app-id', '42']);
      expect(reg).toMatchObject({ code: 0, err: '' });
      expect(reg.out.map((l) => JSON.parse(l) as unknown)).toEqual([
        { type: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42, registrationId: '0011223344556677', layer2Id: DEV, hex: '1100a0002a21080011223344556677' },
      ]);
      const dereg = await run(net, ['deregister', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', GW, '--registration-id', '0011223344556677', '--ethertype', '0x88b5']);
      expect(dereg.code).toBe(0);
      expect(JSON.parse(dereg.out[0] ?? '')).toMatchObject({ type: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', layer2Id: DEV });
    } finally {
      await gw.link.stop();
    }
  });

  it('no answer: prints {"error":"TIMEOUT",…} with interface, gateway MAC and attempts, exits 2', async () => {
    const net = new InMemoryEthernet();
    const r = await run(net, ['register', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', GW, '--app-id', '1', '--timeout-ms', '20', '--retries', '1']);
    expect(r.code).toBe(2);
    expect(r.out.map((l) => JSON.parse(l) as unknown)).toEqual([{ error: 'TIMEOUT', interface: 'veth1', gatewayMac: '02:00:00:00:00:01', layer2Id: DEV, attempts: 2, timeoutMs: 20 }]);
    expect(r.err).toContain('no answer from 02:00:00:00:00:01');
  });

  it('a socket that cannot open: prints {"error":"BIND",…,"code":"EPERM"} and exits 2', async () => {
    const out: string[] = [];
    let err = '';
    const code = await runCli(['register', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', GW, '--app-id', '1'], {
      out: (l) => out.push(l),
      err: (t) => (err += t),
      frameSocket: (interfaceName) => new InMemoryEthernet().attach({ mac: DEV, interfaceName, startError: 'EPERM' }),
    });
    expect(code).toBe(2);
    expect(JSON.parse(out[0] ?? '')).toMatchObject({ error: 'BIND', interface: 'veth1', gatewayMac: '02:00:00:00:00:01', code: 'EPERM' });
    expect(err).toContain('EPERM');
  });

  it.each([
    ['--link l2 without --interface', ['register', '--link', 'l2', '--gateway-mac', GW, '--app-id', '1'], /--interface/],
    ['--link l2 without --gateway-mac', ['register', '--link', 'l2', '--interface', 'veth1', '--app-id', '1'], /--gateway-mac/],
    ['--link l2 with --gateway', ['register', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', GW, '--gateway', '127.0.0.1:5690', '--app-id', '1'], /--gateway applies to --link udp only/],
    ['--link l2 with --local-port', ['register', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', GW, '--local-port', '5000', '--app-id', '1'], /--local-port applies to --link udp only/],
    ['udp with --interface', ['register', '--gateway', '127.0.0.1:5690', '--interface', 'veth1', '--app-id', '1'], /--interface applies to --link l2 only/],
    ['a bad --gateway-mac', ['register', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', '02:00:00', '--app-id', '1'], /--gateway-mac/],
    ['a group --mac', ['register', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', GW, '--mac', 'ff:ff:ff:ff:ff:ff', '--app-id', '1'], /--mac must be a unicast/],
    ['a bad --ethertype', ['register', '--link', 'l2', '--interface', 'veth1', '--gateway-mac', GW, '--ethertype', '0x8100', '--app-id', '1'], /--ethertype/],
    ['an unknown --link', ['register', '--link', 'bluetooth', '--gateway', '127.0.0.1:5690', '--app-id', '1'], /--link/],
  ])('bad arguments (%s): message on stderr, nothing on stdout, exit 2', async (_what, argv, message) => {
    const r = await run(new InMemoryEthernet(), argv);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toMatch(message);
  });
});
