/**
 * Writes classic libpcap files (magic 0xa1b2c3d4, version 2.4, LINKTYPE_ETHERNET = 1) with
 * Ethernet II frames carrying IPv4/UDP datagrams or raw EtherType payloads — enough to feed tshark
 * exactly the frames a test wants, without capturing anything.
 */

/** A 6-octet MAC from `02:00:00:00:aa:01`. */
export function mac(text: string): Buffer {
  const b = Buffer.from(text.replace(/:/g, ''), 'hex');
  if (b.length !== 6) throw new Error(`bad MAC ${text}`);
  return b;
}

/** Ethernet II frame: destination, source, EtherType (optionally behind an 802.1Q tag), payload. */
export function ethernetFrame(dst: Buffer, src: Buffer, etherType: number, payload: Uint8Array, vlanId?: number): Buffer {
  const type = Buffer.alloc(2);
  type.writeUInt16BE(etherType);
  const tag = vlanId === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, (vlanId >> 8) & 0x0f, vlanId & 0xff]);
  return Buffer.concat([dst, src, tag, type, Buffer.from(payload)]);
}

function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) | (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet frame with an IPv4/UDP datagram (header and UDP checksums filled in). */
export function udpFrame(opts: { srcIp: string; dstIp: string; srcPort: number; dstPort: number; payload: Uint8Array; id?: number }): Buffer {
  const src = Buffer.from(opts.srcIp.split('.').map(Number));
  const dst = Buffer.from(opts.dstIp.split('.').map(Number));
  const udpLength = 8 + opts.payload.length;
  const udp = Buffer.alloc(udpLength);
  udp.writeUInt16BE(opts.srcPort, 0);
  udp.writeUInt16BE(opts.dstPort, 2);
  udp.writeUInt16BE(udpLength, 4);
  Buffer.from(opts.payload).copy(udp, 8);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, 17, udpLength >> 8, udpLength & 0xff]), udp]);
  udp.writeUInt16BE(checksum(pseudo) || 0xffff, 6);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udpLength, 2);
  ip.writeUInt16BE(opts.id ?? 1, 4);
  ip[8] = 64;
  ip[9] = 17;
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return ethernetFrame(mac('02:00:00:00:00:01'), mac('02:00:00:00:00:02'), 0x0800, Buffer.concat([ip, udp]));
}

/** A classic pcap file holding `frames`, one millisecond apart. */
export function pcapFile(frames: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8);
  header.writeUInt32LE(0, 12);
  header.writeUInt32LE(65_535, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const records = frames.map((frame, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + Math.floor(i / 1000), 0);
    r.writeUInt32LE((i % 1000) * 1000, 4);
    r.writeUInt32LE(frame.length, 8);
    r.writeUInt32LE(frame.length, 12);
    return Buffer.concat([r, frame]);
  });
  return Buffer.concat([header, ...records]);
}
