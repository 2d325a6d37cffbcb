/**
 * L2DeviceLink and message delivery (docs/wire-formats.md §3.1, §5) beyond the contract:
 * `maxPayloadOctets` from the MTU and the M5 length field, tested with real frame sizes on the
 * in-memory segment (which applies the kernel's EMSGSIZE check), and the no-handler answer.
 */
import type { ApplicationId, DeviceProtocolError, MessageId, MessageReceiving } from '@msgin5g/core';
import { RecordingDeviceLinkHandler } from '@msgin5g/core/testing';
import { L2DeviceLink } from '@msgin5g/l2-device-link';
import { FrameDevice, InMemoryEthernet } from '@msgin5g/l2-device-link/testing';
import { decodeM5, encodeM5 } from '@msgin5g/protocol';

const GW = '020000000001';
const mid = '000102030405060708090a0b0c0d0e0f' as MessageId;

function worstCase(payloadOctets: number): MessageReceiving {
  return {
    kind: 'MESSAGE_RECEIVING',
    originatorAddress: 'é'.repeat(127) + 'o', // 255 octets of UTF-8
    messageId: mid,
    payload: new Uint8Array(payloadOctets).fill(0x5a),
    applicationId: 65535 as ApplicationId,
    deliveryStatusRequired: true,
    originatorType: 'AS',
  };
}

describe('L2DeviceLink: message delivery', () => {
  it.each([
    [1500, 1218],
    [9000, 8718],
    [576, 294],
  ])('at MTU %d maxPayloadOctets is %d (MTU − 2 − 280): that worst case fills one frame, one octet more is refused SEND', async (mtu, max) => {
    const net = new InMemoryEthernet({ mtu });
    const link = new L2DeviceLink({ socket: net.attach({ mac: GW }) });
    expect(link.maxPayloadOctets).toBeUndefined();
    await link.start(new RecordingDeviceLinkHandler());
    const device = await FrameDevice.open(net.attach({ mac: '02000000aa01' }), { gatewayMac: GW });
    try {
      expect(link.maxPayloadOctets).toBe(max);
      await link.send(device.layer2Id, worstCase(max));
      const frame = await device.nextFrame();
      expect(frame.length).toBe(14 + mtu);
      expect(decodeM5(frame.subarray(16))).toEqual({ ok: true, message: worstCase(max) });
      await expect(link.send(device.layer2Id, worstCase(max + 1))).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'SEND' });
    } finally {
      await device.close();
      await link.stop();
    }
  });

  it('a handler without onDeliveryMessage: 0x01 answered MESSAGE_TYPE_NOT_SUPPORTED (Message ID echoed), 0x05 dropped, both reported', async () => {
    const net = new InMemoryEthernet();
    const link = new L2DeviceLink({ socket: net.attach({ mac: GW }) });
    const errors: DeviceProtocolError[] = [];
    await link.start({ onRequest: () => undefined, onProtocolError: (e) => errors.push(e) });
    const device = await FrameDevice.open(net.attach({ mac: '02000000aa02' }), { gatewayMac: GW });
    try {
      await device.sendDelivery({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: mid, payload: Uint8Array.of(1), deliveryStatusRequired: false, targetType: 'UE' });
      expect(Buffer.from(await device.nextUnit()).toString('hex')).toBe(`03${mid}01220109`);
      await device.sendUnit(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: mid }));
      const end = Date.now() + 2000;
      while (errors.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(errors.map((e) => [e.from, e.answered])).toEqual([
        [device.layer2Id, true],
        [device.layer2Id, false],
      ]);
      expect(link.counters.malformed).toBe(2);
    } finally {
      await device.close();
      await link.stop();
    }
  });
});
