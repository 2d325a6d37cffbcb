/**
 * C07 (docs/failure-cases.md): malformed datagrams to the UDP link. Each one is answered per the
 * docs/wire-formats.md §2 reject table (bytes checked) or dropped, reported through onProtocolError, and
 * none of them reaches onRequest; the valid request after them does.
 */
import type { DeviceLinkHandler, DeviceProtocolError, DeviceRequest, Layer2Id, LinkKind, RegistrationId } from '@msgin5g/core';
import { decodeDeviceRequest, encodeM5 } from '@msgin5g/protocol';
import { UdpDeviceLink } from '@msgin5g/udp-device-link';
import { endpointPort, RawUdpDevice } from './raw-udp-device';

const hex = (s: string): Uint8Array => Uint8Array.from((s.match(/../g) ?? []).map((h) => parseInt(h, 16)));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Deterministic "random" octets (xorshift32) so a failure can be replayed. */
function pseudoRandomOctets(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

class Recorder implements DeviceLinkHandler {
  readonly requests: Array<{ request: DeviceRequest; from: Layer2Id; link: LinkKind }> = [];
  readonly errors: DeviceProtocolError[] = [];
  onRequest(request: DeviceRequest, from: Layer2Id, link: LinkKind): void {
    this.requests.push({ request, from, link });
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

describe('UdpDeviceLink: C07 malformed datagrams', () => {
  let link: UdpDeviceLink;
  let device: RawUdpDevice;
  let handler: Recorder;

  beforeEach(async () => {
    link = new UdpDeviceLink({ host: '127.0.0.1', port: 0 });
    handler = new Recorder();
    await link.start(handler);
    device = await RawUdpDevice.open('127.0.0.1', { host: '127.0.0.1', port: endpointPort(link.endpoint) });
  });
  afterEach(async () => {
    await device.close();
    await link.stop();
  });

  it('C07: empty, 1-octet 12, 12 08 00 11, 7E 00 and 65,000 random octets are answered or dropped, reported, and the valid request then works', async () => {
    const random = pseudoRandomOctets(65_000, 0xc07);
    const random12 = pseudoRandomOctets(65_000, 0x5eed);
    random12[0] = 0x12; // a big DE-REGISTRATION REQUEST that does not decode
    // Test preconditions: the random inputs are not valid requests by chance.
    expect(decodeDeviceRequest(random).kind).toBe('REJECT');
    expect(decodeDeviceRequest(random12).kind).toBe('REJECT');

    const cases: Array<{ name: string; input: Uint8Array; answer: string | null }> = [
      { name: 'empty datagram', input: new Uint8Array(0), answer: null },
      { name: '1 octet 12', input: hex('12'), answer: '1301220105' },
      { name: '12 08 00 11 (length past end)', input: hex('12080011'), answer: '1301220105' },
      { name: '7E 00 (unknown type)', input: hex('7e00'), answer: '1f097e' },
      { name: '65,000 random octets', input: random, answer: toHex(rejectAnswer(random)) },
      { name: '65,000 random octets after 0x12', input: random12, answer: '1301220105' },
    ];
    // The random input's answer is STATUS or a MALFORMED_REQUEST response, depending on its first octet.
    expect(['1f09', '1101220105', '1301220105'].some((a) => (cases[4]?.answer ?? '').startsWith(a))).toBe(true);

    for (const c of cases) {
      await device.sendRaw(c.input);
    }
    await handler.until(() => handler.errors.length === cases.length);

    const valid = encodeM5({ kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' as RegistrationId });
    await device.sendRaw(valid);
    await handler.until(() => handler.requests.length === 1);

    // Each bad datagram was reported once, in order, from the device, with its size.
    expect(handler.errors.map((e) => ({ link: e.link, from: e.from, octets: e.octets, answered: e.answered }))).toEqual(
      cases.map((c) => ({ link: 'udp', from: device.layer2Id, octets: c.input.length, answered: c.answer !== null })),
    );
    for (const e of handler.errors) expect(e.detail.length).toBeGreaterThan(0);
    // Only the valid request reached the core.
    expect(handler.requests).toEqual([
      { request: { kind: 'DEREGISTRATION_REQUEST', registrationId: '0011223344556677' }, from: device.layer2Id, link: 'udp' },
    ]);

    // The device received exactly the expected answers, in order (the empty datagram got none),
    // then the response to the valid request.
    await link.send(device.layer2Id, { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0011223344556677' as RegistrationId });
    const expected = cases.filter((c) => c.answer !== null);
    for (const c of expected) {
      const got = await device.nextDatagram();
      expect({ name: c.name, hex: toHex(got) }).toEqual({ name: c.name, hex: c.answer });
      // No amplification: an answer is never more than a few octets longer than its request.
      expect(got.length - c.input.length).toBeLessThanOrEqual(4);
    }
    expect(toHex(await device.nextDatagram())).toBe('130021080011223344556677');
  });

  it('C07: a datagram over maxDatagramOctets is dropped unanswered and reported, without decoding', async () => {
    const small = new UdpDeviceLink({ host: '127.0.0.1', port: 0, maxDatagramOctets: 64 });
    const h = new Recorder();
    await small.start(h);
    const d = await RawUdpDevice.open('127.0.0.1', { host: '127.0.0.1', port: endpointPort(small.endpoint) });
    try {
      const big = new Uint8Array(65);
      big[0] = 0x12;
      await d.sendRaw(big);
      await d.sendRaw(hex('10002a'));
      await h.until(() => h.requests.length === 1 && h.errors.length === 1);
      expect(h.errors[0]).toMatchObject({ link: 'udp', from: d.layer2Id, octets: 65, answered: false });
      expect(h.errors[0]?.detail).toMatch(/exceeds the limit of 64/);
      await small.send(d.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' });
      // The first datagram the device sees is the response: the oversize one was not answered.
      expect(toHex(await d.nextDatagram())).toBe('1101220107');
    } finally {
      await d.close();
      await small.stop();
    }
  });

  it('C07: a handler that throws does not stop the link (the error is logged)', async () => {
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (_f: Record<string, unknown>, m: string) => void errors.push(m) };
    const throwing = new UdpDeviceLink({ host: '127.0.0.1', port: 0, logger });
    const seen: DeviceRequest[] = [];
    await throwing.start({
      onRequest: (r) => {
        seen.push(r);
        throw new Error('handler bug');
      },
      onProtocolError: () => {
        throw new Error('handler bug');
      },
    });
    const d = await RawUdpDevice.open('127.0.0.1', { host: '127.0.0.1', port: endpointPort(throwing.endpoint) });
    try {
      await d.sendRaw(hex('7e00'));
      await d.sendRaw(hex('10002a'));
      await d.sendRaw(hex('10002b'));
      const until = Date.now() + 3000;
      while (seen.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      expect(seen).toEqual([
        { kind: 'REGISTRATION_REQUEST', applicationId: 42 },
        { kind: 'REGISTRATION_REQUEST', applicationId: 43 },
      ]);
      expect(errors.filter((m) => /handler threw/.test(m))).toHaveLength(3);
      expect(toHex(await d.nextDatagram())).toBe('1f097e');
    } finally {
      await d.close();
      await throwing.stop();
    }
  });
});

function rejectAnswer(input: Uint8Array): Uint8Array {
  const inbound = decodeDeviceRequest(input);
  if (inbound.kind !== 'REJECT' || inbound.answer === null) throw new Error('expected an answered reject');
  return inbound.answer;
}
