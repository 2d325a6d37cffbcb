/**
 * Test double: a `DeviceLink` over `node:dgram` that decodes like the real UDP link but misbehaves
 * on invalid input in a chosen way, so the udp-link target's checks can be shown to fail.
 * - `amplify`: answers every answerable invalid datagram of at most 1,000 octets with the right answer
 *   plus as many zero octets as the datagram has, and 16 more (beyond the version-2 bound of 5
 *   octets or 4 more than the datagram);
 * - `drop-large`: neither reports nor answers invalid datagrams longer than 100 octets.
 */
import * as dgram from 'node:dgram';
import { must, parseTransportLayer2Id, transportLayer2Id, type DeviceLink, type DeviceLinkHandler, type GatewayUnit, type Layer2Id } from '@msgin5g/core';
import { decodeDeviceUnit, encodeM5 } from '@msgin5g/protocol';

export type Misbehaviour = 'amplify' | 'drop-large';

export class MisbehavingUdpLink implements DeviceLink {
  readonly kind = 'udp' as const;
  private socket: dgram.Socket | undefined;
  private port = 0;

  constructor(private readonly misbehaviour: Misbehaviour) {}

  get endpoint(): string {
    return `udp://127.0.0.1:${this.port}`;
  }

  async start(handler: DeviceLinkHandler): Promise<void> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    socket.setRecvBufferSize(1 << 20);
    this.port = socket.address().port;
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      const from = must(transportLayer2Id(rinfo.address, rinfo.port));
      const inbound = decodeDeviceUnit(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
      if (inbound.kind === 'REQUEST') {
        handler.onRequest(inbound.request, from, 'udp');
        return;
      }
      if (inbound.kind === 'DELIVERY') {
        handler.onDeliveryMessage?.(inbound.message, from, 'udp');
        return;
      }
      if (this.misbehaviour === 'drop-large' && msg.length > 100) return;
      const answer = this.misbehaviour === 'amplify' && inbound.answer !== null && msg.length <= 1000 ? Buffer.concat([inbound.answer, Buffer.alloc(msg.length + 16)]) : inbound.answer;
      if (answer !== null) socket.send(answer, rinfo.port, rinfo.address);
      handler.onProtocolError({ link: 'udp', from, detail: inbound.detail, answered: answer !== null, octets: msg.length });
    });
  }

  async send(to: Layer2Id, response: GatewayUnit): Promise<void> {
    const { address, port } = must(parseTransportLayer2Id(to));
    const socket = this.socket;
    if (socket === undefined) throw new Error('not started');
    await new Promise<void>((resolve, reject) => socket.send(encodeM5(response), port, address, (err) => (err ? reject(err) : resolve())));
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
