/**
 * Interop, the other way round: libcoap's `coap-server-notls` (Debian `libcoap3-bin`) plays a CoAP
 * device that the gateway POSTs to (docs/wire-formats.md §3.3 "Messages on the CoAP device link").
 * With `-d` the libcoap server creates a resource on a PUT, and answers a POST to it 2.04; without
 * it, a POST to `/msgin5g` gets libcoap's own 4.04. So a third-party stack parses the gateway's CON
 * (header, token, Uri-Path, Content-Format, payload) and its piggybacked answer is matched back.
 *
 * Skipped, with the reason printed, when the binaries are missing.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { ApplicationId, Layer2Id, MessageId, MessageReceiving } from '@msgin5g/core';
import { RecordingDeviceLinkHandler, RecordingLogger } from '@msgin5g/core/testing';
import { CoapDeviceLink } from '@msgin5g/coap-device-link';
import { LineProcess, runChecked } from '@msgin5g/test-support';
import { sleep, until } from './recorder';

const SERVER = 'coap-server-notls';
const CLIENT = 'coap-client-notls';
const missing = [SERVER, CLIENT].find((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
const why = missing === undefined ? undefined : `${missing} is not installed (Debian package libcoap3-bin)`;
const describeLibcoap = why === undefined ? describe : describe.skip;
if (why !== undefined) process.stderr.write(`libcoap device-server interop tests skipped: ${why}\n`);

const MID = '000102030405060708090a0b0c0d0e0f' as MessageId;
const receiving: MessageReceiving = { kind: 'MESSAGE_RECEIVING', originatorAddress: 'ue-77', messageId: MID, payload: Uint8Array.of(1, 2, 3), applicationId: 42 as ApplicationId, deliveryStatusRequired: true, originatorType: 'UE' };

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describeLibcoap(`libcoap coap-server-notls as a CoAP device the gateway POSTs to${why === undefined ? '' : ` (skipped: ${why})`}`, () => {
  let server: LineProcess | undefined;
  let link: CoapDeviceLink | undefined;
  afterEach(async () => {
    await link?.stop();
    await server?.stop('SIGTERM', 3000);
    link = undefined;
    server = undefined;
  });

  const setUp = async (dynamic: boolean) => {
    const port = await freePort();
    server = LineProcess.start(SERVER, ['-A', '127.0.0.1', '-p', String(port), ...(dynamic ? ['-d', '4'] : [])]);
    await sleep(300); // it prints nothing when bound; were it late, the CON retransmissions (client's and link's) cover it
    if (dynamic) await runChecked(CLIENT, ['-m', 'put', '-e', 'x', `coap://127.0.0.1:${port}/msgin5g`], { timeoutMs: 10_000 });
    const logger = new RecordingLogger();
    const handler = new RecordingDeviceLinkHandler();
    link = new CoapDeviceLink({ host: '127.0.0.1', port: 0, logger });
    await link.start(handler);
    return { device: `127.0.0.1:${port}` as Layer2Id, handler, logger, link };
  };

  it('a resource created on it: the MSG POST is answered 2.04 piggybacked, reported as the MESSAGE RECEIVING ACK', async () => {
    const { device, handler, link: l } = await setUp(true);
    await l.send(device, receiving);
    await handler.until(() => handler.deliveries.length === 1, 10_000);
    expect(handler.deliveries[0]).toEqual({ message: { kind: 'MESSAGE_RECEIVING_ACK', messageId: MID, applicationId: 42 }, from: device, link: 'coap' });
    expect(handler.errors).toEqual([]);
  });

  it('no such resource: libcoap answers 4.04, which is no acknowledgement (logged)', async () => {
    const { device, handler, logger, link: l } = await setUp(false);
    await l.send(device, receiving);
    await until(() => logger.lines.some((x) => x.message === 'the device refused a message POST: no acknowledgement' && x.fields['code'] === '4.04'), 10_000);
    expect(handler.deliveries).toEqual([]);
  });
});
