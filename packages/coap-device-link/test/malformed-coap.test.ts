/**
 * Malformed and odd CoAP datagrams to the CoAP device link (issue 4's malformed-CoAP set, RFC 7252
 * §3/§4): none crashes the link or reaches onRequest; each gets the answer RFC 7252 asks for (RST
 * for a CON it cannot process, 4.02 for an unknown critical option in a CON, 4.13 for a body too
 * large, nothing for a NON or a non-CoAP datagram), byte for byte; and a valid request still works
 * afterwards. What npm coap 1.5.0's server does with each (measured with a client on 127.0.0.2) is
 * noted beside it.
 */
import type { ApplicationId, RegistrationId } from '@msgin5g/core';
import { CoapDeviceLink } from '@msgin5g/coap-device-link';
import { RawCoapClient, request, reset } from './raw-coap-client';
import { Recorder, endpointPort, sleep } from './recorder';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const PATH_CF = 'b7 6d7367696e3567 11 32'; // Uri-Path "msgin5g", Content-Format 50
const REG = Buffer.from('{"messageType":"REG","appId":"42"}').toString('hex');

/** xorshift32 octets, so a failure can be replayed. */
function pseudoRandom(n: number, seed: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(n);
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

interface Case {
  readonly name: string;
  readonly input: Buffer;
  /** The exact answer (hex), a code check for answers with a payload, or null for none. */
  readonly answer: string | { type: 'ACK' | 'NON'; code: string; messageId?: number; size1?: number } | null;
  /** Reported through onProtocolError (a CoAP ping is normal traffic, not reported). */
  readonly reported: boolean;
}

const huge = Buffer.concat([hex(`40 02 00 20 ${PATH_CF} ff`), Buffer.alloc(60_000, 0x7b)]);
const hugeNon = Buffer.concat([hex(`50 02 00 21 ${PATH_CF} ff`), Buffer.alloc(60_000, 0x7b)]);
const bigBody = Buffer.concat([hex(`40 02 00 22 ${PATH_CF} ff`), Buffer.alloc(5_000, 0x20)]);

const CASES: readonly Case[] = [
  // coap 1.5.0 (measured): a NON 5.00 "Unsupported version" sent to 127.0.0.1, not to the client.
  { name: 'bad version (2)', input: hex(`80 02 00 01 ${PATH_CF} ff ${REG}`), answer: null, reported: true },
  { name: 'bad version (0), NON', input: hex('10 02 00 02'), answer: null, reported: true },
  { name: 'shorter than a header', input: hex('40 02 00'), answer: null, reported: true },
  { name: 'empty datagram', input: Buffer.alloc(0), answer: null, reported: true },
  // coap 1.5.0: delivers the request, and its ACK echoes the 9-octet token (itself a format error).
  { name: 'TKL 9, CON', input: hex(`49 02 00 03 010203040506070809 ${PATH_CF} ff ${REG}`), answer: '70000003', reported: true },
  { name: 'TKL 15, NON', input: hex('5f 02 00 04 01'), answer: null, reported: true },
  // coap 1.5.0: the truncated option → delivered; nibble 15 → 5.00 to 127.0.0.1.
  { name: 'truncated option value, CON', input: hex('40 02 00 05 b7 6d7367'), answer: '70000005', reported: true },
  { name: 'option delta nibble 15, CON', input: hex('40 02 00 06 f1 00'), answer: '70000006', reported: true },
  { name: 'truncated option length extension, CON', input: hex('40 02 00 07 bd'), answer: '70000007', reported: true },
  // coap 1.5.0: delivers a request with an empty payload; the Empty message with a token → 5.00 to 127.0.0.1.
  { name: 'payload marker without payload, CON', input: hex(`40 02 00 08 ${PATH_CF} ff`), answer: '70000008', reported: true },
  { name: 'payload marker without payload, NON', input: hex(`50 02 00 09 ${PATH_CF} ff`), answer: null, reported: true },
  { name: 'Empty message with a token, CON', input: hex('41 00 00 0a aa'), answer: '7000000a', reported: true },
  // coap 1.5.0: ignores unknown critical options (no 4.02) and delivers the request.
  { name: 'unknown critical option 25, CON', input: hex(`40 02 00 0b ${PATH_CF} d1 00 01 ff ${REG}`), answer: { type: 'ACK', code: '4.02', messageId: 0x0b }, reported: true },
  { name: 'unknown critical option 25, NON', input: hex(`50 02 00 0c ${PATH_CF} d1 00 01 ff ${REG}`), answer: null, reported: true },
  { name: 'Block1 (not supported), CON', input: hex(`40 02 00 0d ${PATH_CF} d1 02 06 ff ${REG}`), answer: { type: 'ACK', code: '4.02', messageId: 0x0d }, reported: true },
  { name: 'Proxy-Uri, CON', input: hex(`40 02 00 0e ${PATH_CF} d3 0a 63 6f 61 ff ${REG}`), answer: { type: 'ACK', code: '5.05', messageId: 0x0e }, reported: true },
  // coap 1.5.0: delivers a CON or NON 0.00 to the request handler as a request without a method.
  { name: 'CON with code 0.00 (CoAP ping)', input: hex('40 00 00 0f'), answer: '7000000f', reported: false },
  { name: 'NON with code 0.00', input: hex('50 00 00 10'), answer: null, reported: true },
  // coap 1.5.0: ignores responses and reserved classes sent to a server (no RST); delivers method 0.08 without a method.
  { name: 'a response code (2.05) in a CON', input: hex('40 45 00 11 ff 6869'), answer: '70000011', reported: true },
  { name: 'a response code (4.04) in a NON', input: hex('50 84 00 12'), answer: null, reported: true },
  // The link sends requests of its own (MSG, IMDN): an ACK 2.04 matching none is a late or duplicated answer, ignored silently (RFC 7252 §4.2).
  { name: 'a piggybacked response (ACK 2.04) matching no request of the link', input: hex('60 44 00 13 ff 6869'), answer: null, reported: false },
  { name: 'reserved code class 1, CON', input: hex('40 20 00 14'), answer: '70000014', reported: true },
  { name: 'unknown method 0.08, CON', input: hex(`40 08 00 15 ${PATH_CF} ff ${REG}`), answer: { type: 'ACK', code: '4.05', messageId: 0x15 }, reported: true },
  // coap 1.5.0: delivers the 60 kB request.
  { name: 'huge payload (~60 kB), CON', input: huge, answer: { type: 'ACK', code: '4.13', messageId: 0x20, size1: 4096 }, reported: true },
  { name: 'huge payload (~60 kB), NON', input: hugeNon, answer: null, reported: true },
  { name: '5000-octet body, CON', input: bigBody, answer: { type: 'ACK', code: '4.13', messageId: 0x22, size1: 4096 }, reported: true },
  { name: 'body that is not JSON, NON', input: hex(`50 02 00 23 ${PATH_CF} ff 7b7b`), answer: { type: 'NON', code: '4.00' }, reported: true },
  { name: 'unmatched empty ACK', input: hex('60 00 00 24'), answer: null, reported: false },
  { name: 'unmatched RST', input: hex('70 00 00 25'), answer: null, reported: false },
  { name: 'RST with a code', input: hex('70 44 00 26'), answer: null, reported: true },
];

describe('CoapDeviceLink: malformed CoAP datagrams', () => {
  let link: CoapDeviceLink;
  let client: RawCoapClient;
  let handler: Recorder;

  beforeEach(async () => {
    link = new CoapDeviceLink({ host: '127.0.0.1', port: 0 });
    handler = new Recorder();
    await link.start(handler);
    client = await RawCoapClient.open('127.0.0.1', { host: '127.0.0.1', port: endpointPort(link.endpoint) });
  });
  afterEach(async () => {
    await client.close();
    await link.stop();
  });

  it('answers each per RFC 7252 (or not at all), reports it, never delivers it; a valid request then works', async () => {
    let received = 0;
    let reported = 0;
    for (const c of CASES) {
      await client.sendRaw(c.input);
      if (c.answer === null) {
        await sleep(30);
        expect({ name: c.name, extra: client.received.length - received }).toEqual({ name: c.name, extra: 0 });
      } else {
        const got = await client.datagram(received);
        received += 1;
        if (typeof c.answer === 'string') {
          expect({ name: c.name, hex: got.toString('hex') }).toEqual({ name: c.name, hex: c.answer });
        } else {
          const m = await client.message(received - 1);
          const size1 = m.options.find((o) => o.name === 'Size1')?.value.readUIntBE(0, 2);
          expect({ name: c.name, type: m.ack ? 'ACK' : m.confirmable ? 'CON' : 'NON', code: m.code, ...(c.answer.messageId === undefined ? {} : { messageId: m.messageId }), ...(c.answer.size1 === undefined ? {} : { size1 }) }).toEqual({ name: c.name, ...c.answer });
          // No amplification: an error answer is at most 40 octets larger than its request.
          expect(got.length).toBeLessThanOrEqual(c.input.length + 40);
        }
      }
      if (c.reported) reported += 1;
      await handler.until(() => handler.errors.length === reported);
    }
    expect(handler.requests).toHaveLength(0);
    expect(handler.errors.every((e) => e.link === 'coap' && e.from === client.layer2Id && e.detail.length > 0)).toBe(true);
    expect(handler.errors.map((e) => e.octets)).toEqual(CASES.filter((c) => c.reported).map((c) => c.input.length));

    await client.sendRaw(request({ messageId: 0x7777, payload: '{"messageType":"REG","appId":"42"}' }));
    await handler.until(() => handler.requests.length === 1);
    await link.send(client.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0a' as RegistrationId, applicationId: 42 as ApplicationId });
    const ok = await client.message(received);
    expect({ code: ok.code, messageId: ok.messageId }).toEqual({ code: '2.04', messageId: 0x7777 });
  });

  it('random datagrams (1..1200 octets, 2000 seeds, half with CoAP version 1) never reach onRequest and never stop the link', async () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const d = pseudoRandom(1 + ((seed * 7919) % 1200), seed);
      if (seed % 2 === 0) d[0] = 0x40 | ((d[0] as number) & 0x3f);
      await client.sendRaw(d);
      if (seed % 50 === 0) await sleep(5); // let the link drain its receive buffer (loopback drops nothing else)
    }
    // All but the odd empty ACK/RST or repeated Message ID are reported.
    await handler.until(() => handler.errors.length >= 1950, 10_000);
    await sleep(100);
    expect(handler.requests).toHaveLength(0);
    // Every answer is an RST or an error response (never a 2.xx), so the link amplifies nothing.
    for (const r of client.received) expect(r.bytes.length).toBeLessThanOrEqual(128);
    await client.sendRaw(request({ messageId: 0x7778, payload: '{"messageType":"DEREG","registrationId":"0a"}' }));
    await handler.until(() => handler.requests.length === 1);
    expect(handler.requests[0]?.request).toEqual({ kind: 'DEREGISTRATION_REQUEST', registrationId: '0a' });
  });

  it('an RST for a Message ID the link never used is ignored', async () => {
    await client.sendRaw(reset(0x1111));
    await sleep(50);
    expect(handler.errors).toHaveLength(0);
    expect(client.received).toHaveLength(0);
  });
});
