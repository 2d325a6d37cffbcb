/**
 * `device send` / `device listen --link l2` in process over an in-memory Ethernet segment
 * (docs/wire-formats.md §3.1, §5), the gateway a raw frame socket on the segment: it answers 0x01
 * with 0x03, sends 0x04 and checks the 0x05 in frames from the device's MAC. (Raw sockets in a
 * network namespace are exercised by l2-cli.root.test.ts for register/deregister; the frame path
 * is the same.)
 */
import type { ApplicationId, MessageId } from '@msgin5g/core';
import { InMemoryEthernet, type InMemoryFrameSocket } from '@msgin5g/l2-device-link/testing';
import { decodeM5Frame, encodeM5, encodeM5Frame } from '@msgin5g/protocol';
import { runCli, toHex } from '@msgin5g/device-sim';

const GW = '020000000001';
const DEV = '02000000aa01';
const ET = 0x88b5;
const MID = '000102030405060708090a0b0c0d0e0f';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The gateway's socket on the segment: every M5 unit it receives, with the frame's source MAC. */
async function gateway(net: InMemoryEthernet, answer: (unit: Uint8Array) => Uint8Array[] = () => []) {
  const socket: InMemoryFrameSocket = net.attach({ mac: GW, interfaceName: 'gw0' });
  const units: Array<{ unit: Uint8Array; from: string }> = [];
  const send = (unit: Uint8Array) => socket.send(encodeM5Frame({ destination: DEV, source: GW, etherType: ET, unit }));
  await socket.start((frame) => {
    if (toHex(frame.subarray(0, 6)) !== GW) return;
    const r = decodeM5Frame(frame, ET);
    if (r.kind !== 'M5') return;
    units.push({ unit: Uint8Array.from(r.unit), from: toHex(frame.subarray(6, 12)) });
    for (const a of answer(Uint8Array.from(r.unit))) void send(a);
  });
  return { socket, units, send };
}

function cli(net: InMemoryEthernet, argv: string[]) {
  const out: string[] = [];
  let err = '';
  const code = runCli(argv, { out: (l) => out.push(l), err: (t) => (err += t), frameSocket: (interfaceName) => net.attach({ mac: DEV, interfaceName }) });
  return { code, out, err: () => err };
}

const L2 = ['--link', 'l2', '--interface', 'veth1', '--gateway-mac', GW];

describe('device send / listen --link l2 (in-memory Ethernet)', () => {
  it('send: the MESSAGE SENDING REQUEST in a frame from the device MAC; the response printed; exit 0', async () => {
    const net = new InMemoryEthernet();
    const gw = await gateway(net, (u) => (u[0] === 0x01 ? [Uint8Array.from([0x03, ...u.subarray(7, 23), 0x00, 0xa0, 0x00, 0x2a])] : []));
    const run = cli(net, ['send', ...L2, '--to', 'ue-77', '--payload', 'hex:010203', '--app-id', '42', '--message-id', MID, '--timeout-ms', '500', '--retries', '1']);
    expect(await run.code).toBe(0);
    expect(gw.units.map((u) => [toHex(u.unit), u.from])).toEqual([[`0105${'75652d3737'}${MID}0003010203a0002a`, DEV]]);
    expect(JSON.parse(run.out[0]!)).toEqual({ type: 'MESSAGE_SENDING_RESPONSE', messageId: MID, result: 'ACCEPTED', applicationId: 42, layer2Id: DEV, hex: `03${MID}00a0002a` });
    await gw.socket.close();
  });

  it('listen --report: prints the message once, sends 0x02 then 0x05 for each copy, from the device MAC', async () => {
    const net = new InMemoryEthernet();
    const gw = await gateway(net);
    const run = cli(net, ['listen', ...L2, '--count', '1', '--timeout-s', '5', '--report']);
    const unit = encodeM5({ kind: 'MESSAGE_RECEIVING', originatorAddress: 'ue-1001', messageId: MID as MessageId, payload: new TextEncoder().encode('hi'), applicationId: 42 as ApplicationId, deliveryStatusRequired: true, originatorType: 'UE' });
    for (let i = 0; i < 30 && !gw.units.some((u) => u.unit[0] === 0x05); i++) {
      await gw.send(unit);
      await sleep(50);
    }
    await gw.send(unit); // a copy the device may or may not see before it exits after --count 1
    expect(await run.code).toBe(0);
    expect(run.out.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([expect.objectContaining({ type: 'MESSAGE_RECEIVING', messageId: MID, payloadText: 'hi', layer2Id: DEV })]);
    const kinds = gw.units.map((u) => toHex(u.unit));
    expect(kinds[0]).toBe(`0207${'75652d31303031'}${MID}00a0002a`);
    expect(kinds[1]).toBe(`05${MID}a0002a`);
    expect(gw.units.every((u) => u.from === DEV)).toBe(true);
    await gw.socket.close();
  });

  it('listen: no message: exit 1 after --timeout-s', async () => {
    const net = new InMemoryEthernet();
    const gw = await gateway(net);
    const run = cli(net, ['listen', ...L2, '--timeout-s', '1']);
    expect(await run.code).toBe(1);
    expect(run.err()).toMatch(/0 of 1 message/);
    await gw.socket.close();
  });
});
