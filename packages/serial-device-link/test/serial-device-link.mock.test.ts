/**
 * SerialDeviceLink without any port: serialport's own in-memory `SerialPortMock` (MockBinding)
 * given through the `createPort` option. Runs everywhere, socat or not; the pty tests cover the
 * real driver.
 */
import type { ApplicationId, Layer2Id, RegistrationId } from '@msgin5g/core';
import { RecordingDeviceLinkHandler } from '@msgin5g/core/testing';
import { SerialDeviceLink } from '@msgin5g/serial-device-link';
import { SerialPortMock } from 'serialport';
import { waitFor } from './pty-pair';
import { bytes, hex } from './raw-serial-device';

describe('SerialDeviceLink over serialport\'s SerialPortMock (no port needed)', () => {
  const path = '/dev/ttyMOCK0';
  let mock: SerialPortMock | undefined;
  let link: SerialDeviceLink;
  const handler = new RecordingDeviceLinkHandler();

  beforeEach(async () => {
    SerialPortMock.binding.reset();
    SerialPortMock.binding.createPort(path, { echo: false, record: true });
    link = new SerialDeviceLink({
      path,
      baudRate: 9600,
      createPort: (o) => {
        mock = new SerialPortMock({ path: o.path, baudRate: o.baudRate, autoOpen: false });
        return mock;
      },
    });
    await link.start(handler);
  });
  afterEach(async () => {
    await link.stop();
  });

  it('opens the port at the configured speed, delivers a framed request and writes the framed response', async () => {
    expect(mock?.baudRate).toBe(9600);
    mock?.port?.emitData(Buffer.from(bytes('c0 10 00 2a c0')));
    await waitFor('the request', () => handler.requests.length === 1);
    expect(handler.requests[0]).toEqual({ request: { kind: 'REGISTRATION_REQUEST', applicationId: 42 }, from: 'serial:/dev/ttyMOCK0', link: 'serial' });
    await link.send('serial:/dev/ttyMOCK0' as Layer2Id, { kind: 'REGISTRATION_RESPONSE', result: 'SUCCESS', applicationId: 42 as ApplicationId, registrationId: '0011223344556677' as RegistrationId });
    expect(hex(mock?.port?.recording ?? Buffer.alloc(0))).toBe('c01100a0002a21080011223344556677c0');
  });

  it('start() on a path the mock does not know rejects BIND', async () => {
    const other = new SerialDeviceLink({ path: '/dev/ttyNONE', createPort: (o) => new SerialPortMock({ path: o.path, baudRate: o.baudRate, autoOpen: false }) });
    await expect(other.start(new RecordingDeviceLinkHandler())).rejects.toMatchObject({ reason: 'BIND' });
  });
});

describe('SerialDeviceLink presence check (a port whose path vanishes is lost, even if the driver says nothing)', () => {
  it('notices within presenceCheckMs that the path is gone, and reopens once it is back', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { RecordingLogger } = await import('@msgin5g/core/testing');
    const dir = mkdtempSync(join(tmpdir(), 'serial-presence-'));
    const path = join(dir, 'ttyGONE');
    writeFileSync(path, ''); // stands for the device node; the mock port is the driver
    SerialPortMock.binding.reset();
    SerialPortMock.binding.createPort(path, { echo: false, record: true });
    const logger = new RecordingLogger();
    const link = new SerialDeviceLink({ path, logger, presenceCheckMs: 50, reopenDelayMs: { initial: 20, max: 40 }, createPort: (o) => new SerialPortMock({ path: o.path, baudRate: o.baudRate, autoOpen: false }) });
    try {
      await link.start(new RecordingDeviceLinkHandler());
      rmSync(path);
      await waitFor('the link to notice', () => logger.has('serial port lost; reopening it with backoff (sends fail meanwhile)'), 2000);
      expect(logger.lines.find((l) => l.message === 'serial port lost; reopening it with backoff (sends fail meanwhile)')?.fields).toMatchObject({ err: `${path} no longer exists` });
      writeFileSync(path, '');
      await waitFor('the reopen', () => logger.has('serial port reopened'), 2000);
      expect(link.counters).toMatchObject({ portLost: 1, reopened: 1 });
    } finally {
      await link.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
