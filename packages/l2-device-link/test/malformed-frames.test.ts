/**
 * Malformed frames of every kind to the L2 link (C07's L2 counterpart): none reaches onRequest,
 * none stops the link; each is answered per the docs/wire-formats.md §2 reject table when a source MAC and
 * a decodable length exist, dropped and reported (`answered: false`) when not, or ignored when it
 * is not addressed to the link. Random frames (fast-check) agree with an oracle built from the
 * pure decoders.
 */
import fc from 'fast-check';
import { decodeDeviceRequest, decodeM5Frame, withVlanTag } from '@msgin5g/protocol';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import { FrameDevice, InMemoryEthernet, type InMemoryFrameSocket } from '@msgin5g/l2-device-link/testing';
import { hex, Recorder, settle, toHex } from './helpers';

const GW = '020000000001';
const DEV = '02000000aa01';
const Z = (n: number) => '00'.repeat(n);

describe('L2DeviceLink: malformed frames', () => {
  let net: InMemoryEthernet;
  let gwSocket: InMemoryFrameSocket;
  let link: L2DeviceLink;
  let handler: Recorder;
  let device: FrameDevice;

  beforeEach(async () => {
    net = new InMemoryEthernet({ mtu: 1500 });
    gwSocket = net.attach({ mac: GW });
    link = new L2DeviceLink({ socket: gwSocket });
    handler = new Recorder();
    await link.start(handler);
    device = await FrameDevice.open(net.attach({ mac: DEV }), { gatewayMac: GW });
  });
  afterEach(async () => {
    await device.close();
    await link.stop();
  });

  it('answers, drops or ignores each kind as specified, never delivers a request, and keeps working', async () => {
    const jumbo = new Uint8Array(9018);
    jumbo.set(hex(`${GW}${DEV}88b5 0003 10002a`));
    const cases: Array<{ name: string; frame: Uint8Array; outcome: 'ignored' | { answered: string | null; from: boolean } }> = [
      { name: 'empty frame', frame: new Uint8Array(0), outcome: { answered: null, from: false } },
      { name: 'runt: 13 octets', frame: hex(`${GW}${DEV}88`), outcome: { answered: null, from: false } },
      { name: 'header only (14 octets): no length field', frame: hex(`${GW}${DEV}88b5`), outcome: { answered: null, from: true } },
      { name: '15 octets: half a length field', frame: hex(`${GW}${DEV}88b500`), outcome: { answered: null, from: true } },
      { name: 'length 3 with 1 octet after it', frame: hex(`${GW}${DEV}88b5 0003 10`), outcome: { answered: null, from: true } },
      { name: 'length 0x0100 past the end of a padded frame', frame: hex(`${GW}${DEV}88b5 0100 10002a ${Z(41)}`), outcome: { answered: null, from: true } },
      { name: 'length 0xffff', frame: hex(`${GW}${DEV}88b5 ffff ${Z(44)}`), outcome: { answered: null, from: true } },
      { name: 'length 0 (empty unit), padded', frame: hex(`${GW}${DEV}88b5 0000 ${Z(44)}`), outcome: { answered: null, from: true } },
      { name: 'jumbo frame of 9,018 octets over a 1500 MTU', frame: jumbo, outcome: { answered: null, from: true } },
      { name: 'VLAN tag cut short', frame: hex(`${GW}${DEV}8100 0064`), outcome: { answered: null, from: true } },
      { name: 'group source MAC', frame: hex(`${GW}030000000001 88b5 0003 10002a ${Z(41)}`), outcome: { answered: null, from: false } },
      { name: 'unknown message type 7E 00', frame: hex(`${GW}${DEV}88b5 0002 7e00 ${Z(42)}`), outcome: { answered: '1f097e', from: true } },
      { name: 'a response type (0x11) sent to the gateway', frame: hex(`${GW}${DEV}88b5 0002 1100 ${Z(42)}`), outcome: { answered: '1f0911', from: true } },
      { name: 'REGISTRATION REQUEST cut short inside the length (10 00)', frame: hex(`${GW}${DEV}88b5 0002 1000 ${Z(42)}`), outcome: { answered: '1101220105', from: true } },
      { name: 'DE-REGISTRATION REQUEST, Registration ID past the end (12 08 00 11)', frame: hex(`${GW}${DEV}88b5 0004 12080011 ${Z(40)}`), outcome: { answered: '1301220105', from: true } },
      { name: 'DE-REGISTRATION REQUEST, Registration ID of length 0', frame: hex(`${GW}${DEV}88b5 0002 1200 ${Z(42)}`), outcome: { answered: '1301220105', from: true } },
      { name: 'tagged, unknown type', frame: withVlanTag(hex(`${GW}${DEV}88b5 0002 7e00 ${Z(42)}`), 5), outcome: { answered: '1f097e', from: true } },
      { name: 'wrong EtherType (IPv4) to the gateway MAC', frame: hex(`${GW}${DEV}0800 4500 ${Z(44)}`), outcome: 'ignored' },
      { name: 'wrong EtherType behind a VLAN tag', frame: withVlanTag(hex(`${GW}${DEV}86dd 0003 10002a ${Z(41)}`), 9), outcome: 'ignored' },
      { name: 'jumbo frame of another EtherType', frame: Uint8Array.from([...hex(`${GW}${DEV}0800`), ...new Uint8Array(9000)]), outcome: 'ignored' },
      { name: 'three VLAN tags (more than skipped)', frame: withVlanTag(withVlanTag(withVlanTag(hex(`${GW}${DEV}88b5 0003 10002a ${Z(41)}`), 1), 2), 3), outcome: 'ignored' },
    ];
    for (const c of cases) net.inject(c.frame);
    const reported = cases.filter((c) => c.outcome !== 'ignored');
    await handler.until(() => handler.errors.length === reported.length);
    await settle();

    // Each reported frame was reported once, in order, with its size and, when known, the device.
    expect(handler.errors.map((e) => ({ link: e.link, from: e.from, octets: e.octets, answered: e.answered }))).toEqual(
      reported.map((c) => {
        const o = c.outcome as { answered: string | null; from: boolean };
        return { link: 'l2', from: o.from ? DEV : undefined, octets: c.frame.length, answered: o.answered !== null };
      }),
    );
    for (const e of handler.errors) expect(e.detail.length).toBeGreaterThan(0);
    expect(handler.requests).toEqual([]);
    expect(link.counters).toMatchObject({ malformed: reported.length, ignoredOtherEtherType: 4, requests: 0 });

    // The device got exactly the reject-table answers, in order, each in a padded M5 frame.
    for (const c of reported) {
      const answer = (c.outcome as { answered: string | null }).answered;
      if (answer === null) continue;
      const frame = await device.nextFrame();
      expect({ name: c.name, frame: toHex(frame) }).toEqual({
        name: c.name,
        frame: `${DEV}${GW}88b5${(answer.length / 2).toString(16).padStart(4, '0')}${answer}${Z(60 - 16 - answer.length / 2)}`,
      });
    }
    await expect(device.nextFrame(50)).rejects.toThrow(/no frame/);

    // The link still works.
    await device.send({ kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' as never });
    await handler.until(() => handler.requests.length === 1);
    expect(handler.requests[0]).toEqual({ request: { kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' }, from: DEV, link: 'l2' });
  });

  it("the in-memory socket applies the kernel's size checks (EMSGSIZE over MTU + 14, + 4 when tagged; EINVAL under 14)", async () => {
    await expect(device.sendFrame(new Uint8Array(1515))).rejects.toMatchObject({ code: 'EMSGSIZE' });
    await expect(device.sendFrame(new Uint8Array(13))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(device.sendFrame(withVlanTag(new Uint8Array(1514), 1))).resolves.toBeUndefined(); // a tag may add 4
  });

  it('random bytes (fast-check) never throw, never reach onRequest, and the link keeps working', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 1600 }), async (frame) => {
        net.inject(frame);
        await settle(2);
      }),
      { numRuns: 300, seed: 0x10c },
    );
    expect(handler.requests).toEqual([]);
    await device.send({ kind: 'REGISTRATION_REQUEST', applicationId: 7 as never });
    await handler.until(() => handler.requests.length === 1);
  });

  it('random payloads behind a valid header (fast-check) get exactly the oracle outcome', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.boolean(), async (payload, tagged) => {
        const before = { requests: handler.requests.length, errors: handler.errors.length };
        let frame = new Uint8Array(14 + payload.length);
        frame.set(hex(`${GW}${DEV}88b5`));
        frame.set(payload, 14);
        if (tagged) frame = withVlanTag(frame, 42);
        net.inject(frame);
        await settle(2);
        // Oracle: the pure frame reader, then the pure M5 reader.
        const reading = decodeM5Frame(frame, 0x88b5);
        const inbound = reading.kind === 'M5' ? decodeDeviceRequest(reading.unit) : undefined;
        const expectRequest = inbound?.kind === 'REQUEST' ? 1 : 0;
        expect(handler.requests.length - before.requests).toBe(expectRequest);
        expect(handler.errors.length - before.errors).toBe(1 - expectRequest);
        if (expectRequest === 0) {
          const e = handler.errors[handler.errors.length - 1];
          expect(e?.answered).toBe(inbound?.kind === 'REJECT' && inbound.answer !== null);
        }
      }),
      { numRuns: 300, seed: 0x10d },
    );
  });

  it('a handler that throws does not stop the link (the error is logged)', async () => {
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (_f: Record<string, unknown>, m: string) => void errors.push(m) };
    const n2 = new InMemoryEthernet();
    const throwing = new L2DeviceLink({ socket: n2.attach({ mac: GW }), logger });
    const seen: unknown[] = [];
    await throwing.start({
      onRequest: (r) => {
        seen.push(r);
        throw new Error('handler bug');
      },
      onProtocolError: () => {
        throw new Error('handler bug');
      },
    });
    const d = await FrameDevice.open(n2.attach({ mac: DEV }), { gatewayMac: GW });
    try {
      await d.sendMalformed();
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as never });
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: 43 as never });
      const until = Date.now() + 3000;
      while (seen.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      expect(seen).toEqual([
        { kind: 'REGISTRATION_REQUEST', applicationId: 42 },
        { kind: 'REGISTRATION_REQUEST', applicationId: 43 },
      ]);
      expect(errors.filter((m) => /handler threw/.test(m))).toHaveLength(3);
      expect(toHex(await d.nextUnit())).toBe('1f097e');
    } finally {
      await d.close();
      await throwing.stop();
    }
  });
});
