/// <reference types="jest" />
/**
 * Contract suite of the `DeviceLink` port. Every device link and every double runs it with a harness
 * that plays constrained devices on the other side of the link.
 */
import type { ApplicationId, Layer2Id, LinkKind, RegistrationId } from '../ids';
import type { DeviceDeliveryMessage, GatewayDeliveryMessage, MessageId, MessageReceiving } from '../delivery-messages';
import type { DeviceRequest, DeviceResponse } from '../messages';
import { DeviceLinkError, type DeviceLink, type DeviceLinkHandler, type DeviceProtocolError } from '../ports/device-link';

/**
 * What a test device got back for a message-delivery unit it sent malformed on purpose
 * ({@link TestDevice.sendMalformedDelivery}): an M5 unit (binary links: the docs/wire-formats.md §2
 * reject-table answer, a MESSAGE SENDING RESPONSE failure MALFORMED_REQUEST echoing the Message ID),
 * or a CoAP error response (the CoAP link: 4.00 with a JSON diagnostic, §3.3).
 */
export type MalformedDeliveryAnswer = { readonly kind: 'UNIT'; readonly unit: GatewayDeliveryMessage } | { readonly kind: 'ERROR_RESPONSE'; readonly code: string };

/** One simulated device on the far side of the link under test. */
export interface TestDevice {
  readonly layer2Id: Layer2Id;
  send(request: DeviceRequest): Promise<void>;
  /**
   * Sends bytes that are not a valid request. Omit only when the link cannot carry arbitrary bytes,
   * and then pass `{ malformedSkipReason: 'why' }` to {@link deviceLinkContract}, which skips that test
   * visibly; a device without it otherwise fails the test.
   */
  sendMalformed?(): Promise<void>;
  /** Resolves the next response the device receives; rejects after `timeoutMs`. */
  nextResponse(timeoutMs?: number): Promise<DeviceResponse>;
  close(): Promise<void>;

  // Message delivery (docs/wire-formats.md §5). Every link gives its devices these four; a harness
  // whose devices lack them must pass `messagesSkipReason` to deviceLinkContract (tests then skip
  // visibly), else the message tests fail.

  /**
   * Sends a message-delivery message as a device of this link does: 0x01 / 0x02 / 0x05 on binary
   * links, the `MSG` / `IMDN` JSON on CoAP (a CoAP device sends no 0x05: see {@link acknowledge}).
   */
  sendDelivery?(message: DeviceDeliveryMessage): Promise<void>;
  /**
   * Sends a MESSAGE SENDING REQUEST that does not decode (binary: its Message ID still readable;
   * CoAP: a `MSG` body with a bad payload) and resolves with what the device got back.
   */
  sendMalformedDelivery?(messageId: MessageId): Promise<MalformedDeliveryAnswer>;
  /** Resolves the next message-delivery unit the gateway sends the device (0x03, 0x04, 0x06, or their JSON); rejects after `timeoutMs`. */
  nextDeliveryUnit?(timeoutMs?: number): Promise<GatewayDeliveryMessage>;
  /** Acknowledges a MESSAGE RECEIVING received, as its link does: a 0x05 on binary links, the 2.04 to the gateway's CON on CoAP. */
  acknowledge?(message: MessageReceiving): Promise<void>;
}

export interface DeviceLinkHarness {
  /** A link not started yet; the suite starts and stops it. */
  readonly link: DeviceLink;
  /** A Layer-2 ID this link cannot send to (wrong form): `send` must reject `BAD_ADDRESS`. */
  readonly unreachableLayer2Id: Layer2Id;

  /** A new device able to reach the link (call after `link.start`). */
  device(): Promise<TestDevice>;
  teardown(): Promise<void>;
}

/**
 * A `DeviceLinkHandler` that records what a link delivers, for link tests: `requests`, `errors`,
 * and `until(predicate, timeoutMs)` to wait for them (bounded). `throwNext` makes the next calls
 * throw, as a buggy handler would.
 */
export class RecordingDeviceLinkHandler implements DeviceLinkHandler {
  readonly requests: Array<{ request: DeviceRequest; from: Layer2Id; link: LinkKind }> = [];
  /** Message-delivery messages (`onDeliveryMessage`), in order. */
  readonly deliveries: Array<{ message: DeviceDeliveryMessage; from: Layer2Id; link: LinkKind }> = [];
  readonly errors: DeviceProtocolError[] = [];
  /** How many of the next requests to answer with a throw (a buggy handler). */
  throwNext = 0;
  thrown = 0;
  private waiters: Array<() => void> = [];
  onRequest(request: DeviceRequest, from: Layer2Id, link: LinkKind): void {
    if (this.throwNext > 0) {
      this.throwNext--;
      this.thrown++;
      this.wake();
      throw new Error('handler bug (thrown on purpose by the contract suite)');
    }
    this.requests.push({ request, from, link });
    this.wake();
  }
  onProtocolError(error: DeviceProtocolError): void {
    this.errors.push(error);
    this.wake();
  }
  onDeliveryMessage(message: DeviceDeliveryMessage, from: Layer2Id, link: LinkKind): void {
    this.deliveries.push({ message, from, link });
    this.wake();
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async until(pred: () => boolean, timeoutMs = 2000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      const left = end - Date.now();
      if (left <= 0) throw new Error('condition not met in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

const rid = '0011223344556677' as RegistrationId;
const app = 42 as ApplicationId;
const mid = '000102030405060708090a0b0c0d0e0f' as MessageId;
const mid2 = 'f0e0d0c0b0a090807060504030201000' as MessageId;
/** docs/wire-formats.md §5.2's example, payload octets chosen to need escaping on SLIP (C0, DB). */
const sendingRequest: DeviceDeliveryMessage = {
  kind: 'MESSAGE_SENDING_REQUEST',
  targetAddress: 'ue-77',
  messageId: mid,
  payload: Uint8Array.of(1, 2, 3, 0xc0, 0xdb),
  applicationId: app,
  deliveryStatusRequired: true,
  targetType: 'UE',
};

/** Options of {@link deviceLinkContract}. */
export interface DeviceLinkContractOptions {
  /** Why this link's test devices cannot send malformed input; the malformed-input test is then skipped, printing it. */
  readonly malformedSkipReason?: string;
  /**
   * Why one link instance serves only one device (a serial port, a point-to-point line); the
   * "two devices" test is then skipped, printing it. Test the same property across two instances.
   */
  readonly singleDeviceReason?: string;
  /** Why this harness's devices cannot exchange message-delivery units; the message tests are then skipped, printing it. */
  readonly messagesSkipReason?: string;
}

/**
 * Registers the suite. Every link that carries bytes gives its test devices `sendMalformed`; a link
 * whose devices cannot send malformed input passes `malformedSkipReason`, and the malformed-input
 * test is skipped visibly, printing it.
 */
export function deviceLinkContract(name: string, createHarness: () => Promise<DeviceLinkHarness>, options: DeviceLinkContractOptions = {}): void {
  const malformedSkip = options.malformedSkipReason;
  const singleDevice = options.singleDeviceReason;
  const messagesSkip = options.messagesSkipReason;
  if (messagesSkip !== undefined) console.warn(`DeviceLink contract ${name}: message-delivery tests skipped: ${messagesSkip}`);
  if (malformedSkip !== undefined) console.warn(`DeviceLink contract ${name}: malformed-input test skipped: ${malformedSkip}`);
  if (singleDevice !== undefined) console.warn(`DeviceLink contract ${name}: two-devices test skipped: ${singleDevice}`);
  describe(`DeviceLink contract: ${name}`, () => {
    describe('lifecycle before start', () => {
      it('stop() during start(): start settles, and afterwards the link is stopped (send rejects CLOSED, nothing is delivered)', async () => {
        const fresh = await createHarness();
        try {
          const recorder = new RecordingDeviceLinkHandler();
          const starting = fresh.link.start(recorder);
          await fresh.link.stop();
          const outcome = await starting.then(
            () => 'resolved',
            (err: unknown) => err,
          );
          if (outcome !== 'resolved') expect(outcome).toMatchObject({ name: 'DeviceLinkError', reason: 'CLOSED' });
          await expect(fresh.link.send(fresh.unreachableLayer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' })).rejects.toMatchObject({ reason: 'CLOSED' });
          expect(recorder.requests).toHaveLength(0);
        } finally {
          await fresh.link.stop();
          await fresh.teardown();
        }
      });

      it('rejects send() before start() with DeviceLinkError CLOSED', async () => {
        const fresh = await createHarness();
        try {
          await expect(fresh.link.send(fresh.unreachableLayer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' })).rejects.toMatchObject({ reason: 'CLOSED' });
        } finally {
          await fresh.link.stop();
          await fresh.teardown();
        }
      });
    });

    (messagesSkip === undefined ? it : it.skip)(
      `a handler without onDeliveryMessage: a MESSAGE SENDING REQUEST is answered MESSAGE_TYPE_NOT_SUPPORTED, a report is dropped, both reported${messagesSkip === undefined ? '' : ` (skipped: ${messagesSkip})`}`,
      async () => {
        const fresh = await createHarness();
        const errors: DeviceProtocolError[] = [];
        const requests: DeviceRequest[] = [];
        const old: DeviceLinkHandler = { onRequest: (r) => requests.push(r), onProtocolError: (e) => errors.push(e) };
        let d: TestDevice | undefined;
        try {
          await fresh.link.start(old);
          d = await fresh.device();
          if (d.sendDelivery === undefined || d.nextDeliveryUnit === undefined) throw new Error("this harness's devices lack sendDelivery / nextDeliveryUnit: give them these, or give the harness a messagesSkipReason");
          await d.sendDelivery(sendingRequest);
          await expect(d.nextDeliveryUnit()).resolves.toEqual({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'FAILURE', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', applicationId: app });
          await d.sendDelivery({ kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-originator-1', messageId: mid2, deliveryStatus: 'DELIVERED' });
          const end = Date.now() + 2000;
          while (errors.length < 2 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
          expect(errors).toHaveLength(2);
          expect(errors.every((e) => e.link === fresh.link.kind && e.from === d?.layer2Id)).toBe(true);
          expect(errors[0]?.answered).toBe(true);
          // the link keeps serving registrations
          await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
          while (requests.length < 1 && Date.now() < end + 2000) await new Promise((resolve) => setTimeout(resolve, 20));
          expect(requests).toEqual([{ kind: 'REGISTRATION_REQUEST', applicationId: app }]);
        } finally {
          await d?.close();
          await fresh.link.stop();
          await fresh.teardown();
        }
      },
    );

    let h: DeviceLinkHarness;
    let handler: RecordingDeviceLinkHandler;
    const devices: TestDevice[] = [];
    const newDevice = async () => {
      const d = await h.device();
      devices.push(d);
      return d;
    };

    beforeEach(async () => {
      h = await createHarness();
      handler = new RecordingDeviceLinkHandler();
      await h.link.start(handler);
    });
    afterEach(async () => {
      for (const d of devices.splice(0)) await d.close();
      await h.link.stop();
      await h.teardown();
    });

    it('delivers a REGISTRATION REQUEST with the source Layer-2 ID and link kind', async () => {
      const d = await newDevice();
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
      await handler.until(() => handler.requests.length === 1);
      expect(handler.requests[0]).toEqual({ request: { kind: 'REGISTRATION_REQUEST', applicationId: app }, from: d.layer2Id, link: h.link.kind });
    });

    it('delivers a DE-REGISTRATION REQUEST with its Registration ID', async () => {
      const d = await newDevice();
      await d.send({ kind: 'DEREGISTRATION_REQUEST', registrationId: rid });
      await handler.until(() => handler.requests.length === 1);
      expect(handler.requests[0]?.request).toEqual({ kind: 'DEREGISTRATION_REQUEST', registrationId: rid });
    });

    it('sends a success response to the Layer-2 ID it is given (seed CR step c)', async () => {
      const d = await newDevice();
      await d.send({ kind: 'DEREGISTRATION_REQUEST', registrationId: rid });
      await handler.until(() => handler.requests.length === 1);
      const response: DeviceResponse = { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: rid, applicationId: app };
      await h.link.send(d.layer2Id, response);
      await expect(d.nextResponse()).resolves.toEqual(response);
    });

    it('sends a failure response with the Failure reason (seed CR step b.2)', async () => {
      const d = await newDevice();
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
      await handler.until(() => handler.requests.length === 1);
      const response: DeviceResponse = { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'NOT_AUTHORISED', applicationId: app };
      await h.link.send(d.layer2Id, response);
      await expect(d.nextResponse()).resolves.toEqual(response);
    });

    (singleDevice === undefined ? it : it.skip)(`tells two devices apart and answers each at its own Layer-2 ID${singleDevice === undefined ? '' : ` (skipped: ${singleDevice})`}`, async () => {
      const a = await newDevice();
      const b = await newDevice();
      expect(a.layer2Id).not.toEqual(b.layer2Id);
      await a.send({ kind: 'REGISTRATION_REQUEST', applicationId: 1 as ApplicationId });
      await b.send({ kind: 'REGISTRATION_REQUEST', applicationId: 2 as ApplicationId });
      await handler.until(() => handler.requests.length === 2);
      const fromA = handler.requests.find((r) => r.from === a.layer2Id);
      const fromB = handler.requests.find((r) => r.from === b.layer2Id);
      expect(fromA?.request).toEqual({ kind: 'REGISTRATION_REQUEST', applicationId: 1 });
      expect(fromB?.request).toEqual({ kind: 'REGISTRATION_REQUEST', applicationId: 2 });
      const ra: DeviceResponse = { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0a' as RegistrationId, applicationId: 1 as ApplicationId };
      const rb: DeviceResponse = { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', registrationId: '0b' as RegistrationId, applicationId: 2 as ApplicationId };
      await h.link.send(b.layer2Id, rb);
      await h.link.send(a.layer2Id, ra);
      await expect(a.nextResponse()).resolves.toEqual(ra);
      await expect(b.nextResponse()).resolves.toEqual(rb);
    });

    it('rejects a send to a Layer-2 ID of the wrong form with DeviceLinkError BAD_ADDRESS', async () => {
      const p = h.link.send(h.unreachableLayer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' });
      await expect(p).rejects.toBeInstanceOf(DeviceLinkError);
      await expect(p).rejects.toMatchObject({ reason: 'BAD_ADDRESS' });
    });

    it('refuses a second start() while running with DeviceLinkError BIND, and keeps running', async () => {
      await expect(h.link.start(new RecordingDeviceLinkHandler())).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'BIND' });
      const d = await newDevice();
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
      await handler.until(() => handler.requests.length === 1);
    });

    it('keeps working when the handler throws', async () => {
      const d = await newDevice();
      handler.throwNext = 1;
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
      await handler.until(() => handler.thrown === 1);
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: 43 as ApplicationId });
      await handler.until(() => handler.requests.length === 1);
      expect(handler.requests[0]?.request).toEqual({ kind: 'REGISTRATION_REQUEST', applicationId: 43 });
    });

    it('delivers nothing after stop()', async () => {
      const d = await newDevice();
      await h.link.stop();
      // The device may or may not be able to send (its far end is gone); either way nothing arrives.
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(handler.requests).toHaveLength(0);
      expect(handler.errors).toHaveLength(0);
    });

    (malformedSkip === undefined ? it : it.skip)(`reports a malformed input as a protocol error and delivers no request${malformedSkip === undefined ? '' : ` (skipped: ${malformedSkip})`}`, async () => {
      const d = await newDevice();
      if (d.sendMalformed === undefined) throw new Error('this harness\'s devices have no sendMalformed: give them one, or give the harness a malformedSkipReason');
      await d.sendMalformed();
      await handler.until(() => handler.errors.length === 1);
      expect(handler.requests).toHaveLength(0);
      expect(handler.errors[0]?.link).toBe(h.link.kind);
      // the link keeps working afterwards
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
      await handler.until(() => handler.requests.length === 1);
    });

    it('stats(), an optional part of the port, counts every inbound unit, requests and malformed ones alike', async () => {
      const stats = h.link.stats?.bind(h.link);
      if (stats === undefined) {
        // Optional (ports/device-link.ts): a link without it has no inbound-units metric; nothing more to check.
        console.info(`DeviceLink contract ${name}: stats() not offered`);
        expect(h.link.stats).toBeUndefined();
        return;
      }
      const d = await newDevice();
      const before = stats().inboundUnits;
      expect(Number.isInteger(before)).toBe(true);
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
      await handler.until(() => handler.requests.length === 1);
      expect(stats().inboundUnits).toBe(before + 1);
      if (d.sendMalformed !== undefined && malformedSkip === undefined) {
        await d.sendMalformed();
        await handler.until(() => handler.errors.length === 1);
        expect(stats().inboundUnits).toBe(before + 2);
      }
    });

    describe('message delivery (docs/wire-formats.md §5)', () => {
      const mit = messagesSkip === undefined ? it : it.skip;
      const suffix = messagesSkip === undefined ? '' : ` (skipped: ${messagesSkip})`;
      const messaging = (d: TestDevice): Required<Pick<TestDevice, 'sendDelivery' | 'sendMalformedDelivery' | 'nextDeliveryUnit' | 'acknowledge'>> => {
        const { sendDelivery, sendMalformedDelivery, nextDeliveryUnit, acknowledge } = d;
        if (sendDelivery === undefined || sendMalformedDelivery === undefined || nextDeliveryUnit === undefined || acknowledge === undefined) {
          throw new Error("this harness's devices lack sendDelivery / sendMalformedDelivery / nextDeliveryUnit / acknowledge: give them these, or give the harness a messagesSkipReason");
        }
        return { sendDelivery: sendDelivery.bind(d), sendMalformedDelivery: sendMalformedDelivery.bind(d), nextDeliveryUnit: nextDeliveryUnit.bind(d), acknowledge: acknowledge.bind(d) };
      };

      mit(`delivers a MESSAGE SENDING REQUEST to onDeliveryMessage with the source Layer-2 ID, and answers it with the MESSAGE SENDING RESPONSE${suffix}`, async () => {
        const d = await newDevice();
        const m = messaging(d);
        await m.sendDelivery(sendingRequest);
        await handler.until(() => handler.deliveries.length === 1);
        expect(handler.deliveries[0]).toEqual({ message: sendingRequest, from: d.layer2Id, link: h.link.kind });
        expect(handler.requests).toHaveLength(0);
        const response: GatewayDeliveryMessage = { kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'ACCEPTED', applicationId: app, deliveryStatus: 'STORED' };
        await h.link.send(d.layer2Id, response);
        await expect(m.nextDeliveryUnit()).resolves.toEqual(response);
      });

      it('maxPayloadOctets, an optional part of the port, is an integer 0..65535 once started', () => {
        const max = h.link.maxPayloadOctets;
        if (max === undefined) {
          console.info(`DeviceLink contract ${name}: maxPayloadOctets not offered (the core assumes 65535)`);
          return;
        }
        expect(Number.isInteger(max) && max >= 0 && max <= 65535).toBe(true);
      });

      mit(`delivers a DELIVERY REPORT SENDING REQUEST to onDeliveryMessage${suffix}`, async () => {
        const d = await newDevice();
        const report: DeviceDeliveryMessage = { kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-originator-1', messageId: mid2, deliveryStatus: 'FAILED', applicationId: app, failureReason: 'NOT_DELIVERED' };
        await messaging(d).sendDelivery(report);
        await handler.until(() => handler.deliveries.length === 1);
        expect(handler.deliveries[0]).toEqual({ message: report, from: d.layer2Id, link: h.link.kind });
      });

      mit(`sends a MESSAGE RECEIVING to the device, and its acknowledgement comes back as a MESSAGE_RECEIVING_ACK${suffix}`, async () => {
        const d = await newDevice();
        const m = messaging(d);
        await m.sendDelivery(sendingRequest); // the device is known to the link (CoAP: its address)
        await handler.until(() => handler.deliveries.length === 1);
        const receiving: MessageReceiving = {
          kind: 'MESSAGE_RECEIVING',
          originatorAddress: 'as-service-1',
          messageId: mid2,
          payload: Uint8Array.of(0xc0, 0xdb, 0x00, 0xff),
          applicationId: app,
          deliveryStatusRequired: true,
          originatorType: 'AS',
        };
        await h.link.send(d.layer2Id, receiving);
        await expect(m.nextDeliveryUnit()).resolves.toEqual(receiving);
        await m.acknowledge(receiving);
        await handler.until(() => handler.deliveries.length === 2, 5000);
        expect(handler.deliveries[1]).toEqual({ message: { kind: 'MESSAGE_RECEIVING_ACK', messageId: mid2, applicationId: app }, from: d.layer2Id, link: h.link.kind });
      });

      mit(`sends a DELIVERY REPORT RECEIVING to the device${suffix}`, async () => {
        const d = await newDevice();
        const report: GatewayDeliveryMessage = { kind: 'DELIVERY_REPORT_RECEIVING', originatorAddress: 'ue-recipient-1', messageId: mid, deliveryStatus: 'DELIVERED', applicationId: app };
        await h.link.send(d.layer2Id, report);
        await expect(messaging(d).nextDeliveryUnit()).resolves.toEqual(report);
      });

      mit(`answers a malformed MESSAGE SENDING REQUEST as the reject table says, reports it, and delivers nothing${suffix}`, async () => {
        const d = await newDevice();
        const answer = await messaging(d).sendMalformedDelivery(mid);
        if (answer.kind === 'UNIT') expect(answer.unit).toEqual({ kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'FAILURE', failureReason: 'MALFORMED_REQUEST' });
        else expect(answer.code).toBe('4.00');
        await handler.until(() => handler.errors.length === 1);
        expect(handler.errors[0]).toMatchObject({ link: h.link.kind, from: d.layer2Id, answered: true });
        expect(handler.deliveries).toHaveLength(0);
        expect(handler.requests).toHaveLength(0);
      });
    });

    it('rejects send after stop() with DeviceLinkError CLOSED, and stop() is idempotent', async () => {
      const d = await newDevice();
      await h.link.stop();
      await h.link.stop();
      const p = h.link.send(d.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' });
      await expect(p).rejects.toBeInstanceOf(DeviceLinkError);
      await expect(p).rejects.toMatchObject({ reason: 'CLOSED' });
    });
  });
}
