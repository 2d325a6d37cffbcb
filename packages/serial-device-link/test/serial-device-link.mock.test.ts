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
