/// <reference types="jest" />
/**
 * Contract suite of the `DeviceLink` port. Every device link and every double runs it with a harness
 * that plays constrained devices on the other side of the link.
 */
import type { ApplicationId, Layer2Id, LinkKind, RegistrationId } from '../ids';
import type { DeviceRequest, DeviceResponse } from '../messages';
import { DeviceLinkError, type DeviceLink, type DeviceLinkHandler, type DeviceProtocolError } from '../ports/device-link';

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

/** Options of {@link deviceLinkContract}. */
export interface DeviceLinkContractOptions {
  /** Why this link's test devices cannot send malformed input; the malformed-input test is then skipped, printing it. */
  readonly malformedSkipReason?: string;
  /**
   * Why one link instance serves only one device (a serial port, a point-to-point line); the
   * "two devices" test is then skipped, printing it. Test the same property across two instances.
   */
  readonly singleDeviceReason?: string;
}

/**
 * Registers the suite. Every link that carries bytes gives its test devices `sendMalformed`; a link
 * whose devices cannot send malformed input passes `malformedSkipReason`, and the malformed-input
 * test is skipped visibly, printing it.
 */
export function deviceLinkContract(name: string, createHarness: () => Promise<DeviceLinkHarness>, options: DeviceLinkContractOptions = {}): void {
  const malformedSkip = options.malformedSkipReason;
  const singleDevice = options.singleDeviceReason;
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
