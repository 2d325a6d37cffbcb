/**
 * The simulator against the real `UdpDeviceLink` (no gateway core: the test answers as the core
 * would). Proves the two ends of docs/wire-formats.md §3.2 agree: Layer-2 IDs, bytes, reject answers.
 */
import {
  successResponse,
  type ApplicationId,
  type DeviceLinkHandler,
  type DeviceProtocolError,
  type DeviceRequest,
  type Layer2Id,
  type RegistrationId,
} from '@msgin5g/core';
import { UdpDevice } from '@msgin5g/device-sim';
import { UdpDeviceLink } from '@msgin5g/udp-device-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { hex, toHex } from './scripted-gateway';

const RID = '0011223344556677' as RegistrationId;

/** Answers every request with success, as the core would after the server said yes. */
class EchoCore implements DeviceLinkHandler {
  readonly seen: Array<{ request: DeviceRequest; from: Layer2Id }> = [];
  readonly errors: DeviceProtocolError[] = [];
  constructor(private readonly link: () => UdpDeviceLink) {}
  onRequest(request: DeviceRequest, from: Layer2Id): void {
    this.seen.push({ request, from });
    const applicationId = request.kind === 'REGISTRATION_REQUEST' ? request.applicationId : (42 as ApplicationId);
    void this.link().send(from, successResponse(request.kind, RID, applicationId));
  }
  onProtocolError(error: DeviceProtocolError): void {
    this.errors.push(error);
  }
}

const itIpv6 = itUnless(ipv6LoopbackUnavailable(), 'IPv6 e2e tests of UdpDevice ↔ UdpDeviceLink');

describe('UdpDevice ↔ UdpDeviceLink', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const startLink = async (host: string) => {
    const link: UdpDeviceLink = new UdpDeviceLink({ host, port: 0 });
    const core = new EchoCore(() => link);
    await link.start(core);
    cleanup.push(() => link.stop());
    const port = Number(/:(\d+)$/.exec(link.endpoint)![1]);
    return { link, core, port };
  };
  const openDevice = async (gateway: string) => {
    const d = await UdpDevice.open({ gateway, localPort: 0 });
    cleanup.push(() => d.close());
    return d;
  };

  it('registers and de-registers; the link sees the Layer-2 ID the device reports', async () => {
    const { core, port } = await startLink('127.0.0.1');
    const d = await openDevice(`127.0.0.1:${port}`);
    await expect(d.request({ kind: 'REGISTRATION_REQUEST', applicationId: 42 as ApplicationId }, { timeoutMs: 1000, retries: 0 })).resolves.toEqual({
      kind: 'REGISTRATION_RESPONSE',
      result: 'SUCCESS',
      registrationId: RID,
      applicationId: 42,
    });
    const x = await d.exchange({ kind: 'DEREGISTRATION_REQUEST', registrationId: RID }, { timeoutMs: 1000, retries: 0 });
    expect(toHex(x.bytes)).toBe('1300a0002a21080011223344556677');
    expect(core.seen.map((s) => s.from)).toEqual([d.layer2Id, d.layer2Id]);
  });

  it('malformed bytes from the device get the reject-table answer (C07 through the simulator)', async () => {
    const { core, port } = await startLink('127.0.0.1');
    const d = await openDevice(`127.0.0.1:${port}`);
    await d.sendRaw(hex('12080011'));
    expect(toHex((await d.nextMessage(1000)).bytes)).toBe('1301220105');
    await d.sendRaw(hex('7e00'));
    expect((await d.nextMessage(1000)).decoded).toEqual({ ok: true, message: { kind: 'STATUS', failureReason: 'MESSAGE_TYPE_NOT_SUPPORTED', offendingMessageType: 0x7e } });
    expect(core.errors.map((e) => e.from)).toEqual([d.layer2Id, d.layer2Id]);
    expect(core.seen).toEqual([]);
  });

  itIpv6('a dual-stack (::) link serves an IPv4 and an IPv6 device with stable Layer-2 IDs', async () => {
    const { core, port } = await startLink('::');
    const d4 = await openDevice(`127.0.0.1:${port}`);
    const d6 = await openDevice(`[::1]:${port}`);
    await expect(d4.request({ kind: 'REGISTRATION_REQUEST', applicationId: 1 as ApplicationId }, { timeoutMs: 1000, retries: 0 })).resolves.toMatchObject({ result: 'SUCCESS' });
    await expect(d6.request({ kind: 'REGISTRATION_REQUEST', applicationId: 2 as ApplicationId }, { timeoutMs: 1000, retries: 0 })).resolves.toMatchObject({ result: 'SUCCESS' });
    expect(d4.layer2Id).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(d6.layer2Id).toMatch(/^\[::1\]:\d+$/);
    expect(core.seen.map((s) => s.from)).toEqual([d4.layer2Id, d6.layer2Id]);
  });
});
