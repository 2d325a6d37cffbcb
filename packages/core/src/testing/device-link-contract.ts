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
   * and then pass `{ malformedInput: false }` to {@link deviceLinkContract}, which skips that test
   * visibly; a device without it otherwise fails the test.
   */
  sendMalformed?(): Promise<void>;
  /** Resolves the next response the device receives; rejects after `timeoutMs`. */
  nextResponse(timeoutMs?: number): Promise<DeviceResponse>;
  close(): Promise<void>;
}

export interface DeviceLinkHarness {
  readonly link: DeviceLink;
  /** A new device able to reach the link (call after `link.start`). */
  device(): Promise<TestDevice>;
  teardown(): Promise<void>;
}

class RecordingHandler implements DeviceLinkHandler {
  readonly requests: Array<{ request: DeviceRequest; from: Layer2Id; link: LinkKind }> = [];
  readonly errors: DeviceProtocolError[] = [];
  private waiters: Array<() => void> = [];
  onRequest(request: DeviceRequest, from: Layer2Id, link: LinkKind): void {
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
  /** Whether the harness's devices can send malformed input (`TestDevice.sendMalformed`). Default true; false skips that test, saying why. */
  readonly malformedInput?: boolean;
}

/**
 * Declares the contract tests of a `DeviceLink` (a Jest `describe` named `DeviceLink contract: <name>`).
 * `createHarness` is called before each test; the link is started with a recording handler.
 */
export function deviceLinkContract(name: string, createHarness: () => Promise<DeviceLinkHarness>, options: DeviceLinkContractOptions = {}): void {
  const malformedInput = options.malformedInput ?? true;
  describe(`DeviceLink contract: ${name}`, () => {
    let h: DeviceLinkHarness;
    let handler: RecordingHandler;
    const devices: TestDevice[] = [];
    const newDevice = async () => {
      const d = await h.device();
      devices.push(d);
      return d;
    };

    beforeEach(async () => {
      h = await createHarness();
      handler = new RecordingHandler();
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

    it('tells two devices apart and answers each at its own Layer-2 ID', async () => {
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

    const itMalformed = malformedInput ? it : (what: string, fn: jest.ProvidesCallback) => it.skip(`${what} (skipped: the harness says its devices cannot send malformed input)`, fn);
    itMalformed('reports a malformed input as a protocol error and delivers no request', async () => {
      const d = await newDevice();
      if (d.sendMalformed === undefined) throw new Error('this harness\'s devices have no sendMalformed(): implement it, or pass { malformedInput: false } to skip this test visibly');
      await d.sendMalformed();
      await handler.until(() => handler.errors.length === 1);
      expect(handler.requests).toHaveLength(0);
      expect(handler.errors[0]?.link).toBe(h.link.kind);
      // the link keeps working afterwards
      await d.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
      await handler.until(() => handler.requests.length === 1);
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
