/**
 * SerialDeviceLink over socat pty pairs (docs/wire-formats.md §3.4): the octets of registration and
 * de-registration, escapes, line noise and garbage between frames, the reject table of §2, a frame
 * over 64 KiB, the Layer-2 ID, two ports, the port going away and coming back. Skipped visibly
 * without socat.
 */
import type { ApplicationId, Layer2Id, RegistrationId } from '@msgin5g/core';
import { RecordingDeviceLinkHandler, RecordingLogger } from '@msgin5g/core/testing';
import { SerialDeviceLink } from '@msgin5g/serial-device-link';
import { PtyPair, socatUnavailable, waitFor } from './pty-pair';
import { bytes, RawSerialDevice } from './raw-serial-device';

const rid = '0011223344556677' as RegistrationId;
const app = 42 as ApplicationId;

const noSocat = socatUnavailable();
const describePty = noSocat === undefined ? describe : describe.skip;
// Printed to stderr: Jest drops console output of a suite whose tests are all skipped.
if (noSocat !== undefined) process.stderr.write(`SerialDeviceLink pty tests skipped: ${noSocat}\n`);

describePty(`SerialDeviceLink on a socat pty pair${noSocat === undefined ? '' : ` (skipped: ${noSocat})`}`, () => {
  let pty: PtyPair;
  let link: SerialDeviceLink;
  let handler: RecordingDeviceLinkHandler;
  let logger: RecordingLogger;
  let device: RawSerialDevice;

  beforeEach(async () => {
    pty = await PtyPair.open();
    logger = new RecordingLogger();
    link = new SerialDeviceLink({ path: pty.gwPath, logger, reopenDelayMs: { initial: 50, max: 400 } });
    handler = new RecordingDeviceLinkHandler();
    await link.start(handler);
    device = await RawSerialDevice.open(pty.devPath, pty.gwPath);
  });
  afterEach(async () => {
    await device.close();
    await link.stop();
    await pty.close();
  });

  it('knows its device as serial: + the port path, and says so in its endpoint', () => {
    expect(link.layer2Id).toBe(`serial:${pty.gwPath}`);
    expect(device.layer2Id).toBe(link.layer2Id);
    expect(link.endpoint).toBe(`serial:${pty.gwPath} 115200 8N1`);
    expect(link.kind).toBe('serial');
  });

  it('registration: REGISTRATION REQUEST C0 10 00 2A C0 in, REGISTRATION RESPONSE with the Registration ID out (hex)', async () => {
    await device.sendRaw(bytes('c0 10 00 2a c0'));
    await waitFor('the request', () => handler.requests.length === 1);
    expect(handler.requests[0]).toEqual({ request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 }, from: `serial:${pty.gwPath}`, link: 'serial' });
    await link.send(device.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: app, registrationId: rid });
    expect(await device.receivedHex(17)).toBe('c0' + '1100a0002a21080011223344556677' + 'c0');
  });

  it('de-registration: DE-REGISTRATION REQUEST in, DE-REGISTRATION RESPONSE success and failure out (hex)', async () => {
    await device.sendRaw(bytes('c0 12 08 00 11 22 33 44 55 66 77 c0'));
    await waitFor('the request', () => handler.requests.length === 1);
    expect(handler.requests[0]?.request).toEqual({ kind: 'DEREGISTRATION_REQUEST', registrationId: rid });
    await link.send(device.layer2Id, { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: app, registrationId: rid });
    await link.send(device.layer2Id, { kind: 'DEREGISTRATION_RESPONSE', result: 'FAILURE', applicationId: app, failureReason: 'SERVER_UNREACHABLE' });
    expect(await device.receivedHex(27)).toBe('c0' + '1300a0002a21080011223344556677' + 'c0' + 'c0' + '1301a0002a220104' + 'c0');
  });

  it('escapes C0 and DB both ways (ESC_END DB DC, ESC_ESC DB DD)', async () => {
    // Registration ID c0db00c0 db: on the wire as DB DC, DB DD.
    await device.sendRaw(bytes('c0 12 05 db dc db dd 00 db dc db dd c0'));
    await waitFor('the request', () => handler.requests.length === 1);
    expect(handler.requests[0]?.request).toEqual({ kind: 'DEREGISTRATION_REQUEST', registrationId: 'c0db00c0db' });
    await link.send(device.layer2Id, { kind: 'DEREGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 0xc0db as ApplicationId, registrationId: 'c0db00c0db' as RegistrationId });
    expect(await device.receivedHex(20)).toBe('c0' + '1300a0' + 'dbdcdbdd' + '2105' + 'dbdcdbdd00dbdcdbdd' + 'c0');
  });

  it('line noise before a frame: the noise ends at the frame\'s leading END and is answered as an M5 unit (STATUS 1F 09 <type>); the frame is delivered', async () => {
    await device.sendRaw(bytes('41 42 43 c0 10 00 2a c0'));
    await waitFor('the request', () => handler.requests.length === 1);
    expect(handler.requests[0]?.request).toEqual({ kind: 'REGISTRATION_REQUEST', applicationId: 42 });
    expect(await device.receivedHex(5)).toBe('c01f0941c0');
    expect(handler.errors).toEqual([{ link: 'serial', from: link.layer2Id, detail: 'unknown message type 0x41', answered: true, octets: 3 }]);
  });

  it('garbage between frames, empty frames and a frame without a leading END: each request delivered, the garbage answered per the reject table', async () => {
    await device.sendRaw(bytes('c0 c0 c0 10 00 01 c0 ff ff c0 c0 c0 12 01 aa c0 11 00 c0 10 00 02 c0'));
    await waitFor('three requests', () => handler.requests.length === 3);
    expect(handler.requests.map((r) => r.request)).toEqual([
      { kind: 'REGISTRATION_REQUEST', applicationId: 1 },
      { kind: 'DEREGISTRATION_REQUEST', registrationId: 'aa' },
      { kind: 'REGISTRATION_REQUEST', applicationId: 2 },
    ]);
    // STATUS for the unknown type 0xFF and for 0x11, a type only the gateway sends; empty frames: nothing.
    expect(await device.receivedHex(10)).toBe('c01f09ffc0' + 'c01f0911c0');
    expect(handler.errors.map((e) => e.answered)).toEqual([true, true]);
  });

  it('an undecodable REGISTRATION / DE-REGISTRATION REQUEST gets its RESPONSE with Failure reason 0x05 (11 01 22 01 05 / 13 01 22 01 05)', async () => {
    await device.sendRaw(bytes('c0 10 00 c0 c0 12 00 c0'));
    expect(await device.receivedHex(14)).toBe('c01101220105c0' + 'c01301220105c0');
    await waitFor('two protocol errors', () => handler.errors.length === 2);
    expect(handler.requests).toHaveLength(0);
  });

  it('a frame with a bad escape is discarded unanswered, reported, and the link goes on', async () => {
    await device.sendRaw(bytes('c0 10 db 41 2a c0 10 00 2a c0'));
    await waitFor('the request', () => handler.requests.length === 1);
    expect(handler.errors).toEqual([expect.objectContaining({ link: 'serial', from: link.layer2Id, answered: false, octets: 3 })]);
    expect(handler.errors[0]?.detail).toMatch(/ESC/);
    expect(link.counters?.badEscapeFrames).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(device.received.length).toBe(0);
  });

  it('a frame over 64 KiB is discarded up to its END, counted and reported once; the next frame is served', async () => {
    const huge = new Uint8Array(70_000).fill(0x55);
    huge[0] = 0x10;
    await device.sendRaw(Uint8Array.from([0xc0, ...huge, 0xc0, 0x10, 0x00, 0x2a, 0xc0]));
    await waitFor('the request after the huge frame', () => handler.requests.length === 1, 10_000);
    expect(handler.requests[0]?.request).toEqual({ kind: 'REGISTRATION_REQUEST', applicationId: 42 });
    expect(handler.errors).toHaveLength(1);
    expect(handler.errors[0]).toMatchObject({ link: 'serial', from: link.layer2Id, answered: false, octets: 65_537 });
    expect(handler.errors[0]?.detail).toMatch(/longer than 65536 octets/);
    expect(link.counters).toMatchObject({ oversizeFrames: 1, discardedOctets: 70_001, frames: 1 });
    await link.send(device.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: app, registrationId: rid });
    await expect(device.nextResponse()).resolves.toMatchObject({ result: 'SUCCESS', registrationId: rid });
  });

  it('refuses a send to another port\'s Layer-2 ID, or to a non-serial one, with BAD_ADDRESS', async () => {
    await expect(link.send('serial:/dev/ttyUSB9' as Layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' })).rejects.toMatchObject({ reason: 'BAD_ADDRESS', message: expect.stringContaining('serves') });
    await expect(link.send('0200000000aa' as Layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' })).rejects.toMatchObject({ reason: 'BAD_ADDRESS' });
  });

  it('the far end goes away (socat ended): logged, sends fail with SEND, the port is reopened with backoff when it comes back, and serves again', async () => {
    await device.send({ kind: 'REGISTRATION_REQUEST', applicationId: app });
    await waitFor('the first request', () => handler.requests.length === 1);
    await device.close();
    await pty.kill();
    await waitFor('the link to notice', () => logger.has('serial port lost; reopening it with backoff (sends fail meanwhile)'));
    await expect(link.send(link.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: app, registrationId: rid })).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'SEND' });
    // Let a few reopen attempts fail (ENOENT: the symlink is gone) before the line comes back.
    await new Promise((r) => setTimeout(r, 400));
    expect(logger.lines.filter((l) => l.message === 'serial port reopen failed').length).toBeGreaterThanOrEqual(2);
    await pty.restart();
    await waitFor('the reopen', () => logger.has('serial port reopened'), 5000);
    device = await RawSerialDevice.open(pty.devPath, pty.gwPath);
    await device.send({ kind: 'REGISTRATION_REQUEST', applicationId: 43 as ApplicationId });
    await waitFor('the request after the reopen', () => handler.requests.length === 2);
    expect(handler.requests[1]).toEqual({ request: { kind: 'REGISTRATION_REQUEST', applicationId: 43 }, from: link.layer2Id, link: 'serial' });
    await link.send(link.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 43 as ApplicationId, registrationId: rid });
    await expect(device.nextResponse()).resolves.toMatchObject({ applicationId: 43, registrationId: rid });
    expect(link.counters).toMatchObject({ portLost: 1, reopened: 1 });
  });

  it('stop() while the port is lost ends the reopening (no attempt after stop)', async () => {
    await device.close();
    await pty.kill();
    await waitFor('the link to notice', () => logger.has('serial port lost; reopening it with backoff (sends fail meanwhile)'));
    await link.stop();
    const before = logger.lines.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(logger.lines.slice(before).map((l) => l.message)).toEqual([]);
    await expect(link.send(link.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' })).rejects.toMatchObject({ reason: 'CLOSED' });
  });
});

describePty(`SerialDeviceLink: start, and two ports${noSocat === undefined ? '' : ` (skipped: ${noSocat})`}`, () => {
  it('start() on a path with no port rejects BIND, and the link can be started once the port exists', async () => {
    const pty = await PtyPair.open();
    const link = new SerialDeviceLink({ path: `${pty.dir}/missing` });
    try {
      await expect(link.start(new RecordingDeviceLinkHandler())).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'BIND', message: expect.stringContaining('no serial port') });
      const ok = new SerialDeviceLink({ path: pty.gwPath });
      await ok.start(new RecordingDeviceLinkHandler());
      await ok.stop();
    } finally {
      await link.stop();
      await pty.close();
    }
  });

  it('a second link on the same port is refused BIND (the port is locked)', async () => {
    const pty = await PtyPair.open();
    const a = new SerialDeviceLink({ path: pty.gwPath });
    const b = new SerialDeviceLink({ path: pty.gwPath });
    try {
      await a.start(new RecordingDeviceLinkHandler());
      await expect(b.start(new RecordingDeviceLinkHandler())).rejects.toMatchObject({ reason: 'BIND' });
    } finally {
      await a.stop();
      await b.stop();
      await pty.close();
    }
  });

  it('two links on two ports: each device has its own Layer-2 ID and is answered on its own port only', async () => {
    const [p1, p2] = [await PtyPair.open(), await PtyPair.open()];
    const [h1, h2] = [new RecordingDeviceLinkHandler(), new RecordingDeviceLinkHandler()];
    const l1 = new SerialDeviceLink({ path: p1.gwPath });
    const l2 = new SerialDeviceLink({ path: p2.gwPath });
    const d1 = await (async () => {
      await l1.start(h1);
      return RawSerialDevice.open(p1.devPath, p1.gwPath);
    })();
    await l2.start(h2);
    const d2 = await RawSerialDevice.open(p2.devPath, p2.gwPath);
    try {
      expect(d1.layer2Id).not.toBe(d2.layer2Id);
      await d1.send({ kind: 'REGISTRATION_REQUEST', applicationId: 1 as ApplicationId });
      await d2.send({ kind: 'REGISTRATION_REQUEST', applicationId: 2 as ApplicationId });
      await waitFor('both requests', () => h1.requests.length === 1 && h2.requests.length === 1);
      expect(h1.requests[0]).toEqual({ request: { kind: 'REGISTRATION_REQUEST', applicationId: 1 }, from: d1.layer2Id, link: 'serial' });
      expect(h2.requests[0]).toEqual({ request: { kind: 'REGISTRATION_REQUEST', applicationId: 2 }, from: d2.layer2Id, link: 'serial' });
      await expect(l1.send(d2.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'FAILURE', failureReason: 'CONGESTION' })).rejects.toMatchObject({ reason: 'BAD_ADDRESS' });
      await l2.send(d2.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 2 as ApplicationId, registrationId: '0b' as RegistrationId });
      await l1.send(d1.layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 1 as ApplicationId, registrationId: '0a' as RegistrationId });
      await expect(d1.nextResponse()).resolves.toMatchObject({ applicationId: 1, registrationId: '0a' });
      await expect(d2.nextResponse()).resolves.toMatchObject({ applicationId: 2, registrationId: '0b' });
    } finally {
      await d1.close();
      await d2.close();
      await l1.stop();
      await l2.stop();
      await p1.close();
      await p2.close();
    }
  });
});
