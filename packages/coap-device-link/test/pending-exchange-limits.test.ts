/**
 * The RFC 7252 plugtest finding, on the wire: an exchange that has had its empty ACK was dropped,
 * unanswered, when a ninth request of the same device arrived (the cap of 8 pending per device
 * evicted the oldest). Rule now: every CON is acknowledged or rejected, and every request that has
 * been empty-ACKed gets its final answer; over the cap the NEW request is refused at once with 5.03
 * and Max-Age, and a retransmission of it gets the same 5.03 again.
 *
 * Requests are written octet by octet from RFC 7252 §3 (`handBuiltPost`) and answers read the same
 * way (`headerOf`), so no CoAP library stands between the test and the bytes. Timings are scaled
 * down (the plugtest's upstream answered after 15 s; here the core answers after `SLOW_CORE_MS`).
 */
import type { ApplicationId, DeviceRequest, DeviceResponse, Layer2Id, RegistrationId } from '@msgin5g/core';
import { CoapDeviceLink } from '@msgin5g/coap-device-link';
import { RawCoapClient, emptyAck, handBuiltPost, headerOf } from './raw-coap-client';
import { Recorder, endpointPort, sleep, until } from './recorder';

const SLOW_CORE_MS = 600;
const CHANGED = 0x44; // 2.04
const SERVICE_UNAVAILABLE = 0xa3; // 5.03
/** Max-Age (option 14: delta nibble 13 + extension 1), length 1, value 5 s; then the payload marker. */
const MAX_AGE_5_THEN_PAYLOAD = 'd10105ff';
/** Content-Format (option 12), length 1, value 50; then the payload marker. */
const JSON_THEN_PAYLOAD = 'c132ff';

const reg = (app: number): string => `{"messageType":"REG","appId":${app}}`; // appId as a JSON number: accepted too
const regOk = (app: number): DeviceResponse => ({ kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: app.toString(16).padStart(2, '0') as RegistrationId, applicationId: app as ApplicationId });
const hexOf = (s: string): string => Buffer.from(s).toString('hex');

/** A core that answers every registration `SLOW_CORE_MS` after it arrives, like a slow upstream server. */
function slowCore(link: () => CoapDeviceLink): Recorder {
  const core = new Recorder();
  core.onEach = (request: DeviceRequest, from: Layer2Id) => {
    if (request.kind !== 'REGISTRATION_REQUEST') return;
    void sleep(SLOW_CORE_MS)
      .then(() => link().send(from, regOk(request.applicationId)))
      .catch(() => undefined); // the link may be stopped by then (test teardown)
  };
  return core;
}

describe('pending-exchange limits: every acknowledged request gets its final answer (RFC 7252 §4.2, §5.2.2)', () => {
  const closers: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await ('close' in c ? c.close() : c.stop());
  });

  async function setUp(separateAfterMs: number): Promise<{ link: CoapDeviceLink; core: Recorder; device: RawCoapClient }> {
    const ref: { link?: CoapDeviceLink } = {};
    const core = slowCore(() => ref.link as CoapDeviceLink);
    const link = new CoapDeviceLink({ host: '127.0.0.1', port: 0, separateAfterMs }); // default caps: 8 per device, 10 000 in all
    ref.link = link;
    await link.start(core);
    closers.push(link);
    const device = await RawCoapClient.open('127.0.0.1', { host: '127.0.0.1', port: endpointPort(link.endpoint) });
    closers.push(device);
    return { link, core, device };
  }

  /** The ACKs and RSTs received so far for the device's Message ID `mid`, read per RFC 7252 §3 (the link's own CONs use its own Message IDs). */
  const repliesTo = (device: RawCoapClient, mid: number) => device.received.map((r) => headerOf(r.bytes)).filter((h) => (h.type === 'ACK' || h.type === 'RST') && h.messageId === mid);
  const tokenOf = (prefix: number, n: number): string => `${prefix.toString(16)}${(n & 0xff).toString(16).padStart(2, '0')}`;
  /** Separate responses (CON from the link) carrying `token` (hex). */
  const separateFor = (device: RawCoapClient, token: string) => device.received.map((r) => headerOf(r.bytes)).filter((h) => h.type === 'CON' && h.token === token);

  it("nine CON registrations, each sent after the previous one's empty ACK (NSTART = 1), slow core: the first eight get their 2.04, the ninth 5.03 with Max-Age", async () => {
    const { link, core, device } = await setUp(20);
    for (let i = 1; i <= 9; i++) {
      await device.sendRaw(handBuiltPost({ messageId: 0x100 + i, token: [0xa0, i], body: reg(i) }));
      await until(() => repliesTo(device, 0x100 + i).some((h) => h.type === 'ACK'), 3000);
    }
    // Requests 1..8: acknowledged empty (the core is slow), pending; request 9: refused at once, piggybacked.
    for (let i = 1; i <= 8; i++) expect(repliesTo(device, 0x100 + i)).toEqual([{ type: 'ACK', code: 0, messageId: 0x100 + i, token: '', rest: '' }]);
    expect(repliesTo(device, 0x109)).toEqual([{ type: 'ACK', code: SERVICE_UNAVAILABLE, messageId: 0x109, token: 'a009', rest: MAX_AGE_5_THEN_PAYLOAD + hexOf('8 requests of this device pending') }]);
    expect(core.requests.map((r) => r.request)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ kind: 'REGISTRATION_REQUEST', applicationId: i })));
    expect(link.counters).toEqual({ refusedDeviceLimit: 1, refusedLinkLimit: 0, expired: 0, duplicatesAbsorbed: 0 });

    // A retransmission of the refused request (same Message ID) gets the same 5.03 from the message layer.
    await device.sendRaw(handBuiltPost({ messageId: 0x109, token: [0xa0, 9], body: reg(9) }));
    await until(() => repliesTo(device, 0x109).length === 2);
    expect(repliesTo(device, 0x109)[1]).toEqual(repliesTo(device, 0x109)[0]);

    // Every acknowledged request gets its final answer: a separate CON 2.04, same token, its own result. The first one too.
    await until(() => [1, 2, 3, 4, 5, 6, 7, 8].every((i) => separateFor(device, tokenOf(0xa0, i)).length > 0), 5000);
    for (let i = 1; i <= 8; i++) {
      const [answer] = separateFor(device, tokenOf(0xa0, i));
      expect(answer?.code).toBe(CHANGED);
      expect(answer?.rest.startsWith(JSON_THEN_PAYLOAD)).toBe(true);
      expect(JSON.parse(Buffer.from(answer?.rest.slice(JSON_THEN_PAYLOAD.length) ?? '', 'hex').toString())).toMatchObject({ messageType: 'REG', result: 'SUCCESS', appId: String(i) });
      await device.sendRaw(emptyAck(answer?.messageId ?? -1)); // the device acknowledges the separate response
    }
    expect(link.pendingExchanges).toBe(0);

    // Once a slot is free (a device waits Max-Age; here the slots are already free) it asks again, with a new Message ID, and is served.
    await device.sendRaw(handBuiltPost({ messageId: 0x10a, token: [0xa0, 0x0a], body: reg(9) }));
    await until(() => separateFor(device, 'a00a').length > 0 || repliesTo(device, 0x10a).some((h) => h.code === CHANGED), 5000);
    expect(core.requests).toHaveLength(9);
  });

  it('a burst of twelve CONs from one device, each retransmitted twice: every Message ID gets an ACK or an answer; the four over the cap get the same 5.03 each time', async () => {
    const { link, core, device } = await setUp(200);
    const mids = Array.from({ length: 12 }, (_, k) => 0x200 + k + 1);
    const post = (mid: number) => handBuiltPost({ messageId: mid, token: [0xb0, mid & 0xff], body: reg(mid) });
    for (const mid of mids) await device.sendRaw(post(mid));
    await sleep(50); // before separateAfterMs: the first copies of 1..8 are still unacknowledged
    for (const mid of mids) await device.sendRaw(post(mid)); // retransmission 1 (the device's ACK_TIMEOUT, scaled down)
    await sleep(300); // after separateAfterMs: 1..8 acknowledged
    for (const mid of mids) await device.sendRaw(post(mid)); // retransmission 2
    await until(() => mids.every((mid) => repliesTo(device, mid).filter((h) => h.type === 'ACK').length >= (mid - 0x200 <= 8 ? 2 : 3)), 3000);

    for (const mid of mids) {
      const acks = repliesTo(device, mid).filter((h) => h.type === 'ACK');
      const token = tokenOf(0xb0, mid);
      if (mid - 0x200 <= 8) {
        // Admitted: acknowledged empty (at once on the first copy of a retransmission), never refused, never reset.
        expect(acks.every((h) => h.code === 0 && h.rest === '')).toBe(true);
        expect(acks.length).toBeGreaterThanOrEqual(2);
      } else {
        // Refused at once: three copies, three identical 5.03 piggybacked in the ACK.
        expect(acks).toEqual(Array(3).fill({ type: 'ACK', code: SERVICE_UNAVAILABLE, messageId: mid, token, rest: MAX_AGE_5_THEN_PAYLOAD + hexOf('8 requests of this device pending') }));
      }
    }
    expect(device.received.map((r) => headerOf(r.bytes)).filter((h) => h.type === 'RST')).toEqual([]);
    expect(core.requests).toHaveLength(8); // each admitted request reached the core once, copies never
    expect(link.counters.refusedDeviceLimit).toBe(4); // the copies were answered by the message layer, not refused again

    // And each acknowledged one gets its final 2.04.
    await until(() => mids.slice(0, 8).every((mid) => separateFor(device, tokenOf(0xb0, mid)).length > 0), 5000);
    for (const mid of mids.slice(0, 8)) {
      const [answer] = separateFor(device, tokenOf(0xb0, mid));
      expect(answer?.code).toBe(CHANGED);
      await device.sendRaw(emptyAck(answer?.messageId ?? -1));
    }
    expect(link.pendingExchanges).toBe(0);
  });
});
