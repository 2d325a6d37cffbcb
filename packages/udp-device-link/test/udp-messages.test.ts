/**
 * UdpDeviceLink and message delivery (docs/wire-formats.md §5) beyond the contract: exact octets of
 * the reject-table and no-handler answers, and `maxPayloadOctets` tested against the largest
 * datagram IPv4 carries.
 */
import type { ApplicationId, DeviceLinkHandler, DeviceProtocolError, MessageId, MessageReceiving } from '@msgin5g/core';
import { RecordingDeviceLinkHandler } from '@msgin5g/core/testing';
import { decodeM5, encodeM5 } from '@msgin5g/protocol';
import { UdpDeviceLink } from '@msgin5g/udp-device-link';
import { ipv6LoopbackUnavailable, itUnless } from '@msgin5g/test-support';
import { endpointPort, RawUdpDevice } from './raw-udp-device';

const mid = '000102030405060708090a0b0c0d0e0f' as MessageId;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
/** docs/wire-formats.md §5.2's example request. */
const EXAMPLE = '01 05 75652d3737 000102030405060708090a0b0c0d0e0f 0003 010203 a0002a b1';

function worstCase(payloadOctets: number): MessageReceiving {
  return {
    kind: 'MESSAGE_RECEIVING',
    originatorAddress: 'o'.repeat(255),
    messageId: mid,
    payload: new Uint8Array(payloadOctets).fill(7),
    applicationId: 65535 as ApplicationId,
    deliveryStatusRequired: true,
    originatorType: 'GROUP',
  };
}

describe('UdpDeviceLink: message delivery', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const setUp = async (handler: DeviceLinkHandler, host: '127.0.0.1' | '::1' = '127.0.0.1') => {
    const link = new UdpDeviceLink({ host, port: 0 });
    await link.start(handler);
    cleanup.push(() => link.stop());
    const device = await RawUdpDevice.open(host, { host, port: endpointPort(link.endpoint) });
    cleanup.push(() => device.close());
    return { link, device };
  };

  it('the §5.2 example reaches onDeliveryMessage', async () => {
    const handler = new RecordingDeviceLinkHandler();
    const { device } = await setUp(handler);
    await device.sendRaw(bytes(EXAMPLE));
    await handler.until(() => handler.deliveries.length === 1);
    expect(handler.deliveries[0]?.message).toEqual({ kind: 'MESSAGE_SENDING_REQUEST', targetAddress: 'ue-77', messageId: mid, payload: Uint8Array.of(1, 2, 3), applicationId: 42, deliveryStatusRequired: true, targetType: 'UE' });
  });

  it.each([
    ['a 0x01 whose payload runs past the end', '01 05 75652d3737 000102030405060708090a0b0c0d0e0f 0009 01', '03 000102030405060708090a0b0c0d0e0f 01 220105'],
    ['a 0x05 with a duplicate Application ID', '05 000102030405060708090a0b0c0d0e0f a0002a a0002a', '03 000102030405060708090a0b0c0d0e0f 01 220105'],
    ['a 0x02 cut inside its Message ID', '02 05 75652d3737 0001', '1f 05 02'],
    ['a 0x04 (sent only by the gateway)', '04 00', '1f 09 04'],
  ])('answers %s with the reject-table octets', async (_what, input, answer) => {
    const handler = new RecordingDeviceLinkHandler();
    const { device } = await setUp(handler);
    await device.sendRaw(bytes(input));
    expect(hex(await device.nextDatagram())).toBe(answer.replace(/\s+/g, ''));
    await handler.until(() => handler.errors.length === 1);
    expect(handler.errors[0]).toMatchObject({ answered: true, link: 'udp' });
    expect(handler.deliveries).toHaveLength(0);
  });

  it('a handler without onDeliveryMessage: 0x01 answered 03 <id> 01 A0 00 2A 22 01 09; 0x02 and 0x05 dropped unanswered; all reported', async () => {
    const errors: DeviceProtocolError[] = [];
    const { device } = await setUp({ onRequest: () => undefined, onProtocolError: (e) => errors.push(e) });
    await device.sendRaw(bytes(EXAMPLE));
    expect(hex(await device.nextDatagram())).toBe('03000102030405060708090a0b0c0d0e0f01a0002a220109');
    await device.sendRaw(encodeM5({ kind: 'MESSAGE_RECEIVING_ACK', messageId: mid }));
    await device.sendRaw(encodeM5({ kind: 'DELIVERY_REPORT_SENDING_REQUEST', targetAddress: 'ue-77', messageId: mid, deliveryStatus: 'DELIVERED' }));
    const end = Date.now() + 2000;
    while (errors.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(errors.map((e) => e.answered)).toEqual([true, false, false]);
    await expect(device.nextDatagram(300)).rejects.toThrow('no datagram');
  });

  it('maxPayloadOctets is 65,227 over IPv4: the worst-case MESSAGE RECEIVING of that payload arrives whole, one octet more is refused SEND', async () => {
    const { link, device } = await setUp(new RecordingDeviceLinkHandler());
    expect(link.maxPayloadOctets).toBe(65_227);
    await link.send(device.layer2Id, worstCase(link.maxPayloadOctets));
    const got = await device.nextDatagram();
    expect(got.length).toBe(65_507);
    expect(decodeM5(got)).toEqual({ ok: true, message: worstCase(65_227) });
    await expect(link.send(device.layer2Id, worstCase(link.maxPayloadOctets + 1))).rejects.toMatchObject({ name: 'DeviceLinkError', reason: 'SEND' });
  });

  itUnless(ipv6LoopbackUnavailable(), 'IPv6 maxPayloadOctets')('maxPayloadOctets is 65,247 on an IPv6-only link (::1), 65,227 on dual-stack ::', async () => {
    const { link, device } = await setUp(new RecordingDeviceLinkHandler(), '::1');
    expect(link.maxPayloadOctets).toBe(65_247);
    await link.send(device.layer2Id, worstCase(link.maxPayloadOctets));
    expect((await device.nextDatagram()).length).toBe(65_527);
    expect(new UdpDeviceLink({ host: '::', port: 0 }).maxPayloadOctets).toBe(65_227);
  });
});
