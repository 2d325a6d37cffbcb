/**
 * C10 (docs/failure-cases.md) over the in-memory Ethernet segment: padding, an 802.1Q tag, a frame to
 * another MAC, the gateway's own frames seen by its capture. Byte layouts from docs/wire-formats.md §3.1,
 * M5 bytes from §2. (`@msgin5g/raw-ethernet` repeats C10 over real frames as root.)
 */
import type { ApplicationId, RegistrationId } from '@msgin5g/core';
import { withVlanTag } from '@msgin5g/protocol';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import { PACKET_TYPE } from '@msgin5g/raw-ethernet';
import { FrameDevice, InMemoryEthernet, type InMemoryFrameSocket } from '@msgin5g/l2-device-link/testing';
import { hex, Recorder, settle, toHex } from './helpers';

const GW = '020000000001';
const DEV = '02000000aa01';
const OTHER = '02000000cc01';
const ZEROS = (n: number) => '00'.repeat(n);

describe('L2DeviceLink: C10 frames', () => {
  let net: InMemoryEthernet;
  let gwSocket: InMemoryFrameSocket;
  let link: L2DeviceLink;
  let handler: Recorder;
  let device: FrameDevice;
  let devSocket: InMemoryFrameSocket;
  let other: FrameDevice;
  const seen: Array<{ frame: string; pktType: number }> = [];

  beforeEach(async () => {
    net = new InMemoryEthernet();
    gwSocket = net.attach({ mac: GW, interfaceName: 'veth-gw' });
    link = new L2DeviceLink({ socket: gwSocket });
    handler = new Recorder();
    await link.start(handler);
    devSocket = net.attach({ mac: DEV });
    device = await FrameDevice.open(devSocket, { gatewayMac: GW });
    // A third host that records everything it sees, to prove what the gateway did (not) send.
    seen.length = 0;
    const spy = net.attach({ mac: OTHER });
    await spy.start((frame, pktType) => seen.push({ frame: toHex(frame), pktType }));
    other = await FrameDevice.open(net.attach({ mac: '02000000dd01' }), { gatewayMac: OTHER });
  });
  afterEach(async () => {
    await device.close();
    await other.close();
    await link.stop();
  });

  it('C10: a request frame padded to 60 octets with zeros is read through its length field; the response is padded to 60', async () => {
    await device.send({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId });
    await handler.until(() => handler.requests.length === 1);
    // The bytes the device put on the wire: header, length 3, 10 00 2A, 41 octets of zero padding.
    const sent = toHex(devSocket.sent[0] ?? new Uint8Array());
    expect(sent).toBe(`${GW}${DEV}88b5000310002a${ZEROS(41)}`);
    expect(sent.length / 2).toBe(60);
    expect(handler.requests).toEqual([{ request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 }, from: DEV, link: 'l2' }]);

    await link.send(DEV as never, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0011223344556677' as RegistrationId, applicationId: 42 as ApplicationId });
    const frame = await device.nextFrame();
    // docs/wire-formats.md §2 REGISTRATION RESPONSE (15 octets) in a §3.1 frame: 14 + 2 + 15 = 31, padded to 60.
    expect(toHex(frame)).toBe(`${DEV}${GW}88b5000f1100a0002a21080011223344556677${ZEROS(29)}`);
    expect(handler.errors).toEqual([]);
  });

  it('C10: non-zero padding after the unit is ignored too', async () => {
    const frame = hex(`${GW}${DEV}88b5 0003 10002a ${'ff'.repeat(41)}`);
    await device.sendFrame(frame);
    await handler.until(() => handler.requests.length === 1);
    expect(handler.requests[0]?.request).toEqual({ kind: 'REGISTRATION_REQUEST', applicationId: 42 });
    expect(handler.errors).toEqual([]);
  });

  it('C10: an 802.1Q-tagged request (TPID 0x8100, 4 more octets) is handled and the tag ignored; the answer is untagged', async () => {
    const tagged = withVlanTag(hex(`${GW}${DEV}88b5 000a 1208001122334455667700000000000000000000000000000000000000000000000000000000000000000000`), 100);
    expect(toHex(tagged.subarray(12, 18))).toBe('8100006488b5');
    await device.sendFrame(tagged);
    // QinQ: an 802.1ad S-tag then a C-tag.
    await device.sendFrame(withVlanTag(withVlanTag(hex(`${GW}${DEV}88b5 0003 10002b ${ZEROS(41)}`), 7), 300, 0x88a8));
    await handler.until(() => handler.requests.length === 2);
    expect(handler.requests.map((r) => r.request)).toEqual([
      { kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' },
      { kind: 'REGISTRATION_REQUEST', applicationId: 43 },
    ]);
    expect(handler.requests.every((r) => r.from === DEV)).toBe(true);
    await link.send(DEV as never, { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'SERVER_UNREACHABLE', applicationId: 42 as ApplicationId });
    expect(toHex(await device.nextFrame())).toBe(`${DEV}${GW}88b5000813 01a0002a220104${ZEROS(36)}`.replace(/ /g, ''));
  });

  it('C10: a frame to another MAC (and a broadcast) is ignored: no request, no report, no answer', async () => {
    const request = `${DEV}88b5 0003 10002a ${ZEROS(41)}`;
    await device.sendFrame(hex(`${OTHER}${request}`));
    await device.sendFrame(hex(`ffffffffffff${request}`));
    await device.sendFrame(hex(`01005e000001${request}`));
    await device.sendUnit(hex('10002c')); // then one to the gateway, which is handled
    await handler.until(() => handler.requests.length === 1);
    await settle();
    expect(handler.requests.map((r) => r.request)).toEqual([{ kind: 'REGISTRATION_REQUEST', applicationId: 44 }]);
    expect(handler.errors).toEqual([]);
    expect(link.counters).toMatchObject({ ignoredOtherDestination: 3, requests: 1, malformed: 0 });
    // The gateway sent nothing: the spy saw only the device's four frames.
    expect(seen.map((s) => s.frame.slice(12, 24))).toEqual([DEV, DEV, DEV, DEV]);
    expect(seen.map((s) => s.pktType)).toEqual([PACKET_TYPE.HOST, PACKET_TYPE.BROADCAST, PACKET_TYPE.MULTICAST, PACKET_TYPE.OTHERHOST]);
  });

  it("C10: frames another socket of the gateway's host sends, seen by the gateway's capture as OUTGOING, are ignored", async () => {
    // The device simulator on the gateway's own host (the demo does this): the gateway's socket,
    // bound to all EtherTypes, sees the simulator's request leave as OUTGOING. Taking it for a
    // device's request would handle it although it never came from the wire.
    const n2 = new InMemoryEthernet();
    const capture = n2.attach({ mac: GW, host: 'gateway', seesOutgoing: true });
    const l2 = new L2DeviceLink({ socket: capture });
    const h = new Recorder();
    await l2.start(h);
    const sim = await FrameDevice.open(n2.attach({ mac: GW, host: 'gateway' }), { gatewayMac: GW, mac: DEV });
    await sim.send({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId });
    await settle();
    expect(l2.counters).toMatchObject({ ignoredOutgoing: 1, requests: 0, malformed: 0 });
    expect(h.requests).toEqual([]);
    expect(h.errors).toEqual([]);
    await sim.close();
    await l2.stop();
  });

  it('C10 on lo: each request is handled once although the capture sees it twice, and the gateway\'s own answers coming back are ignored', async () => {
    const lo = new InMemoryEthernet({ loopback: true, mtu: 65536 });
    const l2 = new L2DeviceLink({ socket: lo.attach({ mac: '000000000000', seesOutgoing: true }), mac: GW });
    const h = new Recorder();
    await l2.start(h);
    const d = await FrameDevice.open(lo.attach({ mac: '000000000000' }), { gatewayMac: GW, mac: DEV });
    await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId });
    await h.until(() => h.requests.length === 1);
    await l2.send(DEV as never, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' });
    expect(toHex(await d.nextUnit())).toBe('1101220107');
    await settle();
    expect(h.requests).toHaveLength(1);
    expect(h.errors).toEqual([]);
    // The request: once OUTGOING (ignored), once incoming (handled). The answer: once incoming from
    // the gateway's own MAC (ignored; the kernel never shows a socket its own frame as OUTGOING).
    expect(l2.counters).toMatchObject({ ignoredOutgoing: 1, ignoredOwnSource: 1, requests: 1 });
    await expect(d.nextFrame(50)).rejects.toThrow(/no frame/); // answered exactly once
    // A frame from the gateway's MAC to itself, even a valid request, is not a device's.
    lo.inject(hex(`${GW}${GW}88b5 0003 10002a ${ZEROS(41)}`));
    await settle();
    expect(l2.counters.ignoredOwnSource).toBe(2);
    expect(h.requests).toHaveLength(1);
    await d.close();
    await l2.stop();
  });
});

