/**
 * Real frames between two network namespaces joined by a veth pair (root only; see `l2-lab.ts`):
 * the raw socket, the measured VLAN behaviour, the L2 link answering a device with the exact bytes
 * of docs/wire-formats.md §2/§3.1, C10 over real frames, and `close()` letting a process exit. Agents run in
 * the namespaces (`ip netns exec`); this Jest process stays in the root namespace. Without root the
 * suite prints why and skips.
 */
import { Agent, DEVICE_MAC, GATEWAY_MAC, L2Lab, labUnavailable, type CapturedFrame } from './l2-lab';

const why = labUnavailable();
if (why !== undefined) console.log(`raw-ethernet real-frame tests skipped: ${why}`);
const describeRoot = why === undefined ? describe : describe.skip;
if (why !== undefined) {
  // The reason also names a skipped test, so it shows in every report, not only in console output.
  describe('raw frames between network namespaces (root)', () => {
    it.skip(`skipped: ${why}`, () => {});
  });
}

const GW = GATEWAY_MAC;
const DEV = DEVICE_MAC;
const OTHER = '02000000cc01';
const Z = (n: number) => '00'.repeat(n);
const HOST = 0;
const OTHERHOST = 3;
const OUTGOING = 4;
/** REGISTRATION REQUEST, Application ID `app`, in a 60-octet M5 frame (docs/wire-formats.md §2, §3.1). */
const regFrame = (app: number, dst = GW) => `${dst}${DEV}88b5 0003 10${app.toString(16).padStart(4, '0')} ${Z(41)}`.replace(/ /g, '');
const withTag = (frameHex: string, tag: string) => frameHex.slice(0, 24) + tag + frameHex.slice(24);
/** Frames addressed to the device that the gateway sent. */
const toDevice = (frames: CapturedFrame[]) => frames.filter((f) => f.hex.startsWith(`${DEV}${GW}`) && f.pktType !== OUTGOING);

/** A lab with an agent in each namespace, created in beforeAll and ALWAYS removed in afterAll. */
function useLab(): { lab: () => L2Lab; a: () => Agent; b: () => Agent } {
  let lab: L2Lab | undefined;
  let a: Agent | undefined;
  let b: Agent | undefined;
  beforeAll(async () => {
    lab = L2Lab.create();
    if (lab.fallback !== undefined) console.log(`real-frame tests run on lo instead of a veth pair: ${lab.fallback}`);
    a = await Agent.start(lab.nsA);
    b = await Agent.start(lab.nsB);
  }, 15_000);
  afterAll(async () => {
    try {
      await Promise.all([a?.quit(), b?.quit()]);
    } finally {
      a?.kill();
      b?.kill();
      lab?.remove();
    }
    for (const ns of [lab?.nsA, lab?.nsB]) if (ns !== undefined) expect(L2Lab.exists(ns)).toBe(false);
  }, 15_000);
  const get = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} not set up`);
    return v;
  };
  return { lab: () => get(lab, 'lab'), a: () => get(a, 'agent a'), b: () => get(b, 'agent b') };
}

describeRoot('raw frames over a veth pair between two namespaces (root)', () => {
  const { lab, a, b } = useLab();

  it('a frame sent in namespace b arrives at the socket in namespace a with the same bytes; MAC and MTU are the interface\'s', async () => {
    const cap = await a().ok('capture', { name: 'cap', interfaceName: lab().ifA, etherType: 0x88b5 });
    if (lab().fallback === undefined) expect({ mac: cap['mac'], mtu: cap['mtu'] }).toEqual({ mac: GW, mtu: 1500 });
    await b().ok('capture', { name: 'tx', interfaceName: lab().ifB, etherType: 0x88b5 });
    const padded = regFrame(42);
    const short = `${GW}${DEV}88b5000310002a`; // 19 octets: veth does not pad
    await b().ok('send', { name: 'tx', hex: padded });
    await b().ok('send', { name: 'tx', hex: short });
    await b().ok('send', { name: 'tx', hex: `${GW}${DEV}0800${Z(46)}` }); // another EtherType: filtered by the kernel
    const frames = await a().framesUntil('cap', (f) => f.length >= 2);
    expect(frames.filter((f) => f.hex.slice(12, 24) === DEV)).toEqual([
      { hex: padded, pktType: lab().fallback === undefined ? HOST : OTHERHOST },
      { hex: short, pktType: lab().fallback === undefined ? HOST : OTHERHOST },
    ]);
    await a().ok('close', { name: 'cap' });
  });

  it('a frame over the MTU is refused with EMSGSIZE and a clear message', async () => {
    await b().ok('capture', { name: 'big', interfaceName: lab().ifB, etherType: 0x88b5 });
    const mtu = lab().fallback === undefined ? 1500 : 65536;
    const r = await b().call('send', { name: 'big', hex: `${GW}${DEV}88b5${Z(mtu + 1)}` });
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: 'EMSGSIZE', message: expect.stringContaining(`(MTU ${mtu} + 14-octet header`) });
    await b().ok('close', { name: 'big' });
  });

  it('VLAN finding: the kernel strips a received 802.1Q tag; an ETH_P_ALL socket gets it back (auxdata), a socket bound to 0x88b5 gets the frame untagged and marked OTHERHOST', async () => {
    await a().ok('capture', { name: 'all', interfaceName: lab().ifA, etherType: 'all' });
    await a().ok('capture', { name: 'typed', interfaceName: lab().ifA, etherType: 0x88b5 });
    await b().ok('capture', { name: 'vtx', interfaceName: lab().ifB, etherType: 0x88b5 });
    const plain = regFrame(42);
    const vid100 = withTag(plain, '81000064');
    const qinq = withTag(plain, '88a8000781000064');
    for (const hex of [vid100, qinq]) await b().ok('send', { name: 'vtx', hex });
    const all = (await a().framesUntil('all', (f) => f.filter((x) => x.hex.slice(12, 24) === DEV).length >= 2)).filter((x) => x.hex.slice(12, 24) === DEV && x.pktType !== OUTGOING);
    const typed = (await a().framesUntil('typed', (f) => f.length >= 1)).filter((x) => x.hex.slice(12, 24) === DEV);
    await new Promise((r) => setTimeout(r, 50));
    typed.push(...((await a().ok('frames', { name: 'typed' })).frames as CapturedFrame[]).filter((x) => x.hex.slice(12, 24) === DEV));
    // ETH_P_ALL: both frames exactly as sent (tags re-inserted by the addon from PACKET_AUXDATA).
    expect(all.map((f) => f.hex)).toEqual([vid100, qinq]);
    // Bound to 0x88b5: the single-tagged frame without its tag, OTHERHOST (VLAN 100 has no device
    // here) although it is addressed to this host; the QinQ frame never arrives.
    expect(typed).toEqual([{ hex: plain, pktType: OTHERHOST }]);
    for (const name of ['all', 'typed']) await a().ok('close', { name });
    await b().ok('close', { name: 'vtx' });
  });
});

describeRoot('L2DeviceLink in namespace a answers a device in namespace b (root)', () => {
  const { lab, a, b } = useLab();

  it('register → REGISTRATION RESPONSE and deregister → DE-REGISTRATION RESPONSE, bytes per docs/wire-formats.md §2 in 60-octet §3.1 frames', async () => {
    const started = await a().ok('link', { interfaceName: lab().ifA, mac: GW });
    expect(started['endpoint']).toBe(`l2://${lab().ifA}/02:00:00:00:00:01?ethertype=0x88b5`);
    await b().ok('capture', { name: 'dev', interfaceName: lab().ifB, etherType: 0x88b5 });
    const t0 = Date.now();
    await b().ok('send', { name: 'dev', hex: regFrame(42) });
    const reg = toDevice(await b().framesUntil('dev', (f) => toDevice(f).length >= 1));
    expect(reg.map((f) => f.hex)).toEqual([`${DEV}${GW}88b5000f1100a0002a21080011223344556677${Z(29)}`]);
    await b().ok('send', { name: 'dev', hex: `${GW}${DEV}88b5000a12080011223344556677${Z(34)}` });
    const dereg = toDevice(await b().framesUntil('dev', (f) => toDevice(f).length >= 1));
    expect(dereg.map((f) => f.hex)).toEqual([`${DEV}${GW}88b5000f1300a0002a21080011223344556677${Z(29)}`]);
    expect(Date.now() - t0).toBeLessThan(2000);
    const state = await a().ok('linkState');
    expect(state['requests']).toEqual([
      { request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 }, from: DEV },
      { request: { kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' }, from: DEV },
    ]);
    expect(state['errors']).toEqual([]);
  });

  it('a malformed frame is answered per the reject table over real frames and the link keeps working', async () => {
    await b().ok('send', { name: 'dev', hex: `${GW}${DEV}88b5 0002 7e00 ${Z(42)}`.replace(/ /g, '') });
    await b().ok('send', { name: 'dev', hex: `${GW}${DEV}88b5 0100 10002a ${Z(41)}`.replace(/ /g, '') }); // length past the end: dropped
    await b().ok('send', { name: 'dev', hex: regFrame(43) });
    const frames = toDevice(await b().framesUntil('dev', (f) => toDevice(f).length >= 2));
    expect(frames.map((f) => f.hex)).toEqual([`${DEV}${GW}88b500031f097e${Z(41)}`, `${DEV}${GW}88b5000f1100a0002b21080011223344556677${Z(29)}`]);
    const state = await a().ok('linkState');
    expect((state['errors'] as Array<{ answered: boolean; from?: string }>).map((e) => ({ answered: e.answered, from: e.from }))).toEqual([
      { answered: true, from: DEV },
      { answered: false, from: DEV },
    ]);
  });
});

describeRoot('L2DeviceLink and messages over real frames (root; docs/wire-formats.md §3.1, §5)', () => {
  const { lab, a, b } = useLab();
  const MID = '000102030405060708090a0b0c0d0e0f';

  it('a MESSAGE SENDING REQUEST reaches onDeliveryMessage and is answered 0x03; a MESSAGE RECEIVING of maxPayloadOctets fills one frame; its 0x05 comes back as the ack', async () => {
    await a().ok('link', { interfaceName: lab().ifA, mac: GW });
    await b().ok('capture', { name: 'dev', interfaceName: lab().ifB, etherType: 0x88b5 });
    // §5.2's example: 29 octets of M5, then padding to 60
    await b().ok('send', { name: 'dev', hex: `${GW}${DEV}88b5 0020 01 05 75652d3737 ${MID} 0003 010203 a0002a b1 ${Z(12)}`.replace(/ /g, '') });
    const answer = toDevice(await b().framesUntil('dev', (f) => toDevice(f).length >= 1));
    expect(answer.map((f) => f.hex)).toEqual([`${DEV}${GW}88b50015 03${MID}00a0002a ${Z(23)}`.replace(/ /g, '')]);
    const state = await a().ok('linkState');
    expect(state['deliveries']).toEqual([{ message: { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: MID, payload: '010203', applicationId: 42, deliveryStatusRequired: true, targetType: 'UE' }, from: DEV }]);
    const max = state['maxPayloadOctets'] as number;
    const mtu = (await b().ok('capture', { name: 'mtu', interfaceName: lab().ifB, etherType: 0x88b5 }))['mtu'] as number;
    expect(max).toBe(mtu - 282);
    await a().ok('receiving', { to: DEV, messageId: MID, payloadOctets: max });
    const big = toDevice(await b().framesUntil('dev', (f) => toDevice(f).length >= 1));
    expect(big).toHaveLength(1);
    expect((big[0] as CapturedFrame).hex.length / 2).toBe(14 + mtu);
    expect((big[0] as CapturedFrame).hex.slice(28, 36)).toBe(`${(mtu - 2).toString(16).padStart(4, '0')}04ff`);
    expect(await a().call('receiving', { to: DEV, messageId: MID, payloadOctets: max + 1 })).toMatchObject({ ok: false, error: { reason: 'SEND' } });
    await b().ok('send', { name: 'dev', hex: `${GW}${DEV}88b5 0014 05 ${MID} a0ffff ${Z(26)}`.replace(/ /g, '') });
    const end = Date.now() + 2000;
    let deliveries: unknown[] = [];
    while (deliveries.length < 2 && Date.now() < end) deliveries = (await a().ok('linkState'))['deliveries'] as unknown[];
    expect(deliveries[1]).toEqual({ message: { kind: 'MESSAGE_RECEIVING_ACK', messageId: MID, applicationId: 65535 }, from: DEV });
  });
});

describeRoot('C10 over real frames (root): link on an ETH_P_ALL socket', () => {
  const { lab, a, b } = useLab();

  it('C10: padded request handled; 802.1Q-tagged request handled (tag ignored, answer untagged); frame to another MAC ignored; OUTGOING frames of the gateway host ignored', async () => {
    // ETH_P_ALL: the link sees the tags and what other sockets of its host send (OUTGOING).
    await a().ok('link', { interfaceName: lab().ifA, mac: GW, socketEtherType: 'all' });
    await a().ok('capture', { name: 'sim', interfaceName: lab().ifA, etherType: 0x88b5 }); // another socket on the gateway's host
    await b().ok('capture', { name: 'dev', interfaceName: lab().ifB, etherType: 0x88b5 });

    await b().ok('send', { name: 'dev', hex: regFrame(42) });
    await b().ok('send', { name: 'dev', hex: withTag(regFrame(43), '81000064') });
    await b().ok('send', { name: 'dev', hex: regFrame(44, OTHER) });
    // The gateway host itself sends what looks like a device request to the gateway MAC: it leaves
    // through va as OUTGOING and must not be taken for a request from the wire. (On the lo
    // fallback both agents share one host, so the device's own frames are OUTGOING there already.)
    if (lab().fallback === undefined) await a().ok('send', { name: 'sim', hex: regFrame(45) });

    const answers = toDevice(await b().framesUntil('dev', (f) => toDevice(f).length >= 2));
    await new Promise((r) => setTimeout(r, 100)); // room for anything that should not come
    answers.push(...toDevice((await b().ok('frames', { name: 'dev' })).frames as CapturedFrame[]));
    expect(answers.map((f) => f.hex)).toEqual([
      `${DEV}${GW}88b5000f1100a0002a21080011223344556677${Z(29)}`,
      `${DEV}${GW}88b5000f1100a0002b21080011223344556677${Z(29)}`,
    ]);
    const state = await a().ok('linkState');
    expect((state['requests'] as Array<{ request: unknown }>).map((r) => r.request)).toEqual([
      { kind: 'REGISTRATION_REQUEST', applicationId: 42 },
      { kind: 'REGISTRATION_REQUEST', applicationId: 43 },
    ]);
    expect(state['errors']).toEqual([]);
    const counters = state['counters'] as Record<string, number>;
    if (lab().fallback === undefined) {
      expect(counters).toMatchObject({ requests: 2, malformed: 0, ignoredOtherDestination: 1, ignoredOutgoing: 1 });
    } else {
      // lo: each device frame is seen OUTGOING, then incoming; the answers come back from GW.
      expect(counters).toMatchObject({ requests: 2, malformed: 0 });
      expect(counters['ignoredOutgoing']).toBeGreaterThanOrEqual(3); // lo is shared with other tests
      expect(counters['ignoredOwnSource']).toBeGreaterThanOrEqual(2);
    }
  });
});

describeRoot('close() lets the process exit (root)', () => {
  const { lab, a } = useLab();

  it('an agent with an open, started socket and link exits by itself after closing them', async () => {
    await a().ok('capture', { name: 'c1', interfaceName: lab().ifA, etherType: 'all' });
    await a().ok('link', { interfaceName: lab().ifA, mac: GW });
    const t0 = Date.now();
    expect(await a().quit(3000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
