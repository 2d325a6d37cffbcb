/**
 * The `DeviceLink` contract suite (`@msgin5g/core/testing`) over the real serial link, on a socat
 * pty pair: the test device writes SLIP frames into the other end. Without socat every test is
 * skipped, saying why.
 *
 * One test of the suite cannot apply: "tells two devices apart" needs two devices behind one link
 * instance, and a serial link serves one device per port (docs/wire-formats.md §3.4). The suite's
 * `singleDeviceReason` option skips that one test visibly, with the reason in its name;
 * serial-device-link.test.ts checks the same property across two link instances instead.
 */
import type { Layer2Id } from '@msgin5g/core';
import { deviceLinkContract, type DeviceLinkHarness } from '@msgin5g/core/testing';
import { SerialDeviceLink } from '@msgin5g/serial-device-link';
import { PtyPair, socatUnavailable } from './pty-pair';
import { RawSerialDevice } from './raw-serial-device';

const ONE_DEVICE = 'a serial link serves one device per port (docs/wire-formats.md §3.4); two link instances are tested in serial-device-link.test.ts';

async function serialHarness(): Promise<DeviceLinkHarness> {
  const pty = await PtyPair.open();
  const link = new SerialDeviceLink({ path: pty.gwPath });
  let devices = 0;
  return {
    link,
    unreachableLayer2Id: '192.0.2.7:40000' as Layer2Id,
    device: async () => {
      if (devices++ > 0) throw new Error(ONE_DEVICE);
      return RawSerialDevice.open(pty.devPath, pty.gwPath);
    },
    teardown: () => pty.close(),
  };
}

const noSocat = socatUnavailable();
if (noSocat === undefined) {
  deviceLinkContract('SerialDeviceLink (socat pty pair)', serialHarness, { singleDeviceReason: ONE_DEVICE });
} else {
  process.stderr.write(`SerialDeviceLink contract skipped: ${noSocat}\n`);
  describe('DeviceLink contract: SerialDeviceLink (socat pty pair)', () => {
    it.skip(`every contract test (skipped: ${noSocat})`, () => {});
  });
}
