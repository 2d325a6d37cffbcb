/**
 * SerialDeviceLink and message delivery (docs/wire-formats.md §3.4, §5) over a socat pty pair:
 * octets of a MESSAGE SENDING REQUEST in and the answer out, and `maxPayloadOctets` tested with the
 * largest frame the link's own SLIP decoder accepts. Skipped visibly without socat.
 */
import type { ApplicationId, MessageId, MessageReceiving } from '@msgin5g/core';
import { RecordingDeviceLinkHandler } from '@msgin5g/core/testing';
import { decodeM5, encodeM5 } from '@msgin5g/protocol';
import { SerialDeviceLink } from '@msgin5g/serial-device-link';
import { encodeSlipFrame, SlipDecoder } from '../src/slip';
import { PtyPair, socatUnavailable } from './pty-pair';
import { bytes, hex, RawSerialDevice } from './raw-serial-device';

const mid = '000102030405060708090a0b0c0d0e0f' as MessageId;
const noSocat = socatUnavailable();
const describePty = noSocat === undefined ? describe : describe.skip;
if (noSocat !== undefined) process.stderr.write(`SerialDeviceLink message tests skipped: ${noSocat}\n`);

function worstCase(payloadOctets: number, fill: number): MessageReceiving {
  return {
    kind: 'MESSAGE_RECEIVING',
    originatorAddress: 'o'.repeat(255),
    messageId: mid,
    payload: new Uint8Array(payloadOctets).fill(fill),
    applicationId: 65535 as ApplicationId,
    deliveryStatusRequired: true,
    originatorType: 'GROUP',
  };
}

describePty(`SerialDeviceLink: message delivery${noSocat === undefined ? '' : ` (skipped: ${noSocat})`}`, () => {
  let pty: PtyPair;
  let link: SerialDeviceLink;
  let handler: RecordingDeviceLinkHandler;
  let device: RawSerialDevice;

  beforeEach(async () => {
    pty = await PtyPair.open();
    link = new SerialDeviceLink({ path: pty.gwPath, writeTimeoutMs: 10_000 });
    handler = new RecordingDeviceLinkHandler();
    await link.start(handler);
    device = await RawSerialDevice.open(pty.devPath, pty.gwPath);
  });
  afterEach(async () => {
    await device.close();
    await link.stop();
    await pty.close();
  });

  it('the §5.2 example in a SLIP frame reaches onDeliveryMessage; its MESSAGE SENDING RESPONSE goes out as C0 03 … C0', async () => {
    await device.sendRaw(bytes('c0 01 05 75652d3737 000102030405060708090a0b0c0d0e0f 0003 010203 a0002a b1 c0'));
    await handler.until(() => handler.deliveries.length === 1);
    expect(handler.deliveries[0]).toEqual({
      message: { kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: mid, payload: Uint8Array.of(1, 2, 3), applicationId: 42, deliveryStatusRequired: true, targetType: 'UE' },
      from: link.layer2Id,
      link: 'serial',
    });
    await link.send(link.layer2Id, { kind: 'MESSAGE_SENDING_RESPONSE', messageId: mid, result: 'ACCEPTED', applicationId: 42 as ApplicationId });
    expect(await device.receivedHex(21 + 2)).toBe(`c003${mid}00a0002ac0`);
  });

  it('maxPayloadOctets is 65,256: the worst case fills the 64 KiB frame the SLIP decoder accepts, one octet more is discarded as OVERSIZE', async () => {
    expect(link.maxPayloadOctets).toBe(65_256);
    await link.send(link.layer2Id, worstCase(link.maxPayloadOctets, 0x5a));
    const frame = await device.nextFrame(10_000);
    expect(frame.length).toBe(64 * 1024);
    expect(decodeM5(frame)).toEqual({ ok: true, message: worstCase(65_256, 0x5a) });
    // the same limit read by a receiver with the link's own decoder: one octet more does not pass
    const decoder = new SlipDecoder();
    const events = decoder.push(encodeSlipFrame(encodeM5(worstCase(65_257, 0x5a))));
    expect(events.map((e) => e.kind)).toEqual(['DISCARDED']);
    expect(hex(frame.subarray(0, 2))).toBe('04ff');
    // so the link refuses it rather than send what the device would discard
    await expect(link.send(link.layer2Id, worstCase(65_257, 0x5a))).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'SEND' });
  });
});
