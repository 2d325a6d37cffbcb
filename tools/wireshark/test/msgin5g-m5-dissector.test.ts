/**
 * The Lua dissector `tools/wireshark/msgin5g-m5.lua` under tshark, on a pcap the test writes itself:
 * every M5 test vector (packages/protocol/test/fixtures/m5-vectors.json, the canonical copy the
 * codec is tested against) as a UDP datagram to or from port 5690 and as an EtherType 0x88B5 frame
 * built by `encodeM5Frame` of `@msgin5g/protocol`, the layout the L2 link uses (2-octet length, message, zero padding to 60
 * octets; also behind 802.1Q and 802.1ad tags), plus a deterministic corpus of
 * mutated messages checked against the project's own decoder (`decodeM5`): the dissector must
 * show the same fields and flag exactly what the gateway rejects.
 *
 * Skipped, with the reason printed, when tshark is missing (CI installs the Debian package tshark).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FAILURE_REASON_CODE, M5_MESSAGE_TYPE, decodeM5, encodeM5Frame, type M5Message } from '@msgin5g/protocol';
import { runChecked } from '@msgin5g/test-support';
import { ethernetFrame, mac, pcapFile, udpFrame } from './pcap-writer';

const ROOT = resolve(__dirname, '..', '..', '..');
const SCRIPT = join(ROOT, 'tools', 'wireshark', 'msgin5g-m5.lua');
const VECTORS = join(ROOT, 'packages', 'protocol', 'test', 'fixtures', 'm5-vectors.json');

const missing = spawnSync('sh', ['-c', 'command -v tshark']).status === 0 ? undefined : 'tshark is not installed (Debian package tshark)';
const describeTshark = missing === undefined ? describe : describe.skip;
// process.stderr, not console: Jest drops the console output of a fully skipped suite when several suites run.
if (missing !== undefined) process.stderr.write(`Wireshark dissector tests skipped: ${missing}\n`);

/** A vector's message: section 2 vectors name results and reasons, v2 (§5) vectors give their codes. */
interface VectorMessage {
  type: keyof typeof M5_MESSAGE_TYPE;
  result?: 'SUCCESS' | 'FAILURE' | number;
  applicationId?: number;
  registrationId?: string;
  failureReason?: keyof typeof FAILURE_REASON_CODE | number;
  offendingMessageType?: number;
  targetAddress?: string;
  originatorAddress?: string;
  messageId?: string;
  payloadHex?: string;
  deliveryStatusRequired?: boolean;
  targetType?: 'UE' | 'AS' | 'GROUP';
  deliveryStatus?: number;
  lifetimeS?: number;
}

const ADDRESS_TYPE_CODE = { UE: 0, AS: 1, GROUP: 2 } as const;
const DELIVERY_STATUS_CODE = { DELIVERED: 0, FAILED: 1, STORED: 2 } as const;
const DELIVERY_TYPES = new Set(['MESSAGE_SENDING_REQUEST', 'DELIVERY_REPORT_SENDING_REQUEST', 'MESSAGE_SENDING_RESPONSE', 'MESSAGE_RECEIVING', 'MESSAGE_RECEIVING_ACK', 'DELIVERY_REPORT_RECEIVING']);
interface Vectors {
  decode: Array<{ name: string; hex: string; message: VectorMessage }>;
  reject: Array<{ name: string; hex: string; answer: string | null }>;
}

/** The fields tshark prints for one frame (`-T fields`), by name. */
type Row = Record<(typeof FIELDS)[number], string>;
const FIELDS = [
  'frame.number',
  'msgin5g.type',
  'msgin5g.result',
  'msgin5g.app_id',
  'msgin5g.reg_id',
  'msgin5g.failure_reason',
  'msgin5g.offending_type',
  'msgin5g.address',
  'msgin5g.msg_id',
  'msgin5g.payload',
  'msgin5g.delivery_status',
  'msgin5g.message_result',
  'msgin5g.dsr',
  'msgin5g.target_type',
  'msgin5g.lifetime',
  'msgin5g.malformed',
  'msgin5g.unknown_type',
  'msgin5g.wrong_direction',
  'msgin5g_l2.length',
  'msgin5g_l2.padding',
  'msgin5g_l2.malformed',
  '_ws.expert.message',
  '_ws.col.Info',
] as const;

const GATEWAY = { ip: '192.0.2.1', port: 5690 };
const DEVICE = { ip: '192.0.2.7', port: 40000 };
const GATEWAY_MAC = mac('02:00:00:00:00:01');
const DEVICE_MAC = mac('02:00:00:00:aa:01');
const TO_GATEWAY_TYPES = new Set(['REGISTRATION_REQUEST', 'DEREGISTRATION_REQUEST', 'MESSAGE_SENDING_REQUEST', 'DELIVERY_REPORT_SENDING_REQUEST', 'MESSAGE_RECEIVING_ACK']);

/** An M5 frame as the L2 device link writes it (docs/wire-formats.md §3.1), optionally with a VLAN tag (TPID 0x8100 or 0x88a8) inserted. */
function l2Frame(m5: Buffer, toGateway: boolean, tag?: { tpid: number; vid: number }): Buffer {
  const [destination, source] = toGateway ? ['020000000001', '02000000aa01'] : ['02000000aa01', '020000000001'];
  const frame = Buffer.from(encodeM5Frame({ destination, source, etherType: 0x88b5, unit: m5 }));
  if (tag === undefined) return frame;
  return Buffer.concat([frame.subarray(0, 12), Buffer.from([tag.tpid >> 8, tag.tpid & 0xff, (tag.vid >> 8) & 0x0f, tag.vid & 0xff]), frame.subarray(12)]);
}

function udpFor(m5: Buffer, toGateway: boolean, id: number): Buffer {
  return toGateway
    ? udpFrame({ srcIp: DEVICE.ip, dstIp: GATEWAY.ip, srcPort: DEVICE.port, dstPort: GATEWAY.port, payload: m5, id })
    : udpFrame({ srcIp: GATEWAY.ip, dstIp: DEVICE.ip, srcPort: GATEWAY.port, dstPort: DEVICE.port, payload: m5, id });
}

/** xorshift32, so the mutated corpus is the same on every run. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** 400 inputs near the valid ones: vectors with one octet changed, cut short, or with an IE appended. */
function mutatedCorpus(vectors: Vectors): Buffer[] {
  const next = random(0x5eed);
  const bases = [...vectors.decode, ...vectors.reject].map((v) => Buffer.from(v.hex, 'hex')).filter((b) => b.length > 0);
  const out: Buffer[] = [];
  for (let i = 0; i < 400; i++) {
    const base = Buffer.from(bases[next() % bases.length]!);
    switch (next() % 4) {
      case 0:
        base[next() % base.length] = next() & 0xff;
        out.push(base);
        break;
      case 1:
        out.push(base.subarray(0, next() % base.length));
        break;
      case 2:
        out.push(Buffer.concat([base, Buffer.from([[0xa0, 0x21, 0x22, 0x24, 0x30, 0xc1][next() % 6]!, next() & 0x0f, next() & 0xff, next() & 0xff])]));
        break;
      default:
        base[0] = [0x10, 0x11, 0x12, 0x13, 0x1f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06][next() % 11]!;
        out.push(base);
        break;
    }
  }
  return out;
}

/** Runs tshark to a clean exit (rejects otherwise, with its stderr); resolves its stdout. */
async function tshark(args: string[]): Promise<string> {
  return (await runChecked('tshark', args, { timeoutMs: 60_000 })).stdout;
}

async function dissect(pcap: string): Promise<Row[]> {
  const out = await tshark(['-n', '-X', `lua_script:${SCRIPT}`, '-r', pcap, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=;', ...FIELDS.flatMap((f) => ['-e', f])]);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const cells = line.split('\t');
      return Object.fromEntries(FIELDS.map((f, i) => [f, cells[i] ?? ''])) as Row;
    });
}

/** What the dissector should show for a decoded message, in tshark's `-T fields` notation. */
function expectedFields(m: VectorMessage): Partial<Row> {
  const hex8 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
  const row: Partial<Row> = { 'msgin5g.type': hex8(M5_MESSAGE_TYPE[m.type]) };
  const delivery = DELIVERY_TYPES.has(m.type);
  if (m.result !== undefined) {
    const code = typeof m.result === 'number' ? m.result : m.result === 'SUCCESS' ? 0 : 1;
    row[delivery ? 'msgin5g.message_result' : 'msgin5g.result'] = hex8(code);
  }
  row['msgin5g.app_id'] = m.applicationId === undefined ? '' : String(m.applicationId);
  row['msgin5g.reg_id'] = m.registrationId ?? '';
  row['msgin5g.failure_reason'] = m.failureReason === undefined ? '' : hex8(typeof m.failureReason === 'number' ? m.failureReason : FAILURE_REASON_CODE[m.failureReason]);
  row['msgin5g.offending_type'] = m.offendingMessageType === undefined ? '' : hex8(m.offendingMessageType);
  const address = m.targetAddress ?? m.originatorAddress ?? '';
  // tshark escapes or drops control characters in string fields, differently across versions: such an address is not compared.
  const plain = Array.from(address).every((ch) => ch.charCodeAt(0) >= 0x20 && ch !== '\u007f' && ch !== '\\');
  if (plain) row['msgin5g.address'] = address;
  row['msgin5g.msg_id'] = m.messageId ?? '';
  row['msgin5g.payload'] = m.payloadHex ?? '';
  row['msgin5g.delivery_status'] = m.deliveryStatus === undefined ? '' : hex8(m.deliveryStatus);
  if (m.type === 'MESSAGE_SENDING_REQUEST' || m.type === 'MESSAGE_RECEIVING') {
    // Shown only when the IE is there; absent means "not required" / UE (normalised by `normalise`).
    row['msgin5g.dsr'] = hex8(m.deliveryStatusRequired === true ? 1 : 0);
    row['msgin5g.target_type'] = hex8(ADDRESS_TYPE_CODE[m.targetType ?? 'UE']);
  }
  row['msgin5g.lifetime'] = m.lifetimeS === undefined ? '' : String(m.lifetimeS);
  row['msgin5g.malformed'] = '';
  row['msgin5g.unknown_type'] = '';
  return row;
}

/** A row with the optional type-1 IEs of 0x01/0x04 read as their defaults when absent. */
function normalise(row: Row): Row {
  const t = row['msgin5g.type'];
  if (t !== '0x01' && t !== '0x04') return row;
  return { ...row, 'msgin5g.dsr': row['msgin5g.dsr'] || '0x00', 'msgin5g.target_type': row['msgin5g.target_type'] || '0x00' };
}

/** Same, from the project's decoder's domain shape. */
function vectorShape(m: M5Message): VectorMessage {
  switch (m.kind) {
    case 'REGISTRATION_REQUEST':
      return m.lifetimeS === undefined ? { type: m.kind, applicationId: m.applicationId } : { type: m.kind, applicationId: m.applicationId, lifetimeS: m.lifetimeS };
    case 'DEREGISTRATION_REQUEST':
      return { type: m.kind, registrationId: m.registrationId };
    case 'STATUS':
      return { type: m.kind, failureReason: m.failureReason, offendingMessageType: m.offendingMessageType };
    case 'MESSAGE_SENDING_REQUEST':
    case 'MESSAGE_RECEIVING':
      return {
        type: m.kind,
        ...(m.kind === 'MESSAGE_SENDING_REQUEST' ? { targetAddress: m.targetAddress, targetType: m.targetType } : { originatorAddress: m.originatorAddress, targetType: m.originatorType }),
        messageId: m.messageId,
        payloadHex: Buffer.from(m.payload).toString('hex'),
        deliveryStatusRequired: m.deliveryStatusRequired,
        ...(m.applicationId === undefined ? {} : { applicationId: m.applicationId }),
      };
    case 'DELIVERY_REPORT_SENDING_REQUEST':
    case 'DELIVERY_REPORT_RECEIVING':
      return {
        type: m.kind,
        ...(m.kind === 'DELIVERY_REPORT_SENDING_REQUEST' ? { targetAddress: m.targetAddress } : { originatorAddress: m.originatorAddress }),
        messageId: m.messageId,
        deliveryStatus: DELIVERY_STATUS_CODE[m.deliveryStatus],
        ...(m.applicationId === undefined ? {} : { applicationId: m.applicationId }),
        ...(m.failureReason === undefined ? {} : { failureReason: m.failureReason }),
      };
    case 'MESSAGE_RECEIVING_ACK':
      return { type: m.kind, messageId: m.messageId, ...(m.applicationId === undefined ? {} : { applicationId: m.applicationId }) };
    case 'MESSAGE_SENDING_RESPONSE':
      return m.result === 'ACCEPTED'
        ? { type: m.kind, messageId: m.messageId, result: 0, ...(m.applicationId === undefined ? {} : { applicationId: m.applicationId }), ...(m.deliveryStatus === undefined ? {} : { deliveryStatus: DELIVERY_STATUS_CODE[m.deliveryStatus] }) }
        : { type: m.kind, messageId: m.messageId, result: 1, failureReason: m.failureReason, ...(m.applicationId === undefined ? {} : { applicationId: m.applicationId }) };
    default: {
      const base: VectorMessage = { type: m.kind, result: m.result };
      if (m.applicationId !== undefined) base.applicationId = m.applicationId;
      if (m.result === 'SUCCESS') base.registrationId = m.registrationId;
      else base.failureReason = m.failureReason;
      if (m.kind === 'REGISTRATION_RESPONSE' && m.result === 'SUCCESS' && m.lifetimeS !== undefined) base.lifetimeS = m.lifetimeS;
      return base;
    }
  }
}

describeTshark(`tshark with msgin5g-m5.lua${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as Vectors;
  const dir = mkdtempSync(join(tmpdir(), 'msgin5g-dissector-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('decodes every decode vector over UDP 5690 and EtherType 0x88B5, Failure reasons by name, nothing flagged', async () => {
    const frames: Buffer[] = [];
    for (const [i, v] of vectors.decode.entries()) {
      const m5 = Buffer.from(v.hex, 'hex');
      frames.push(udpFor(m5, TO_GATEWAY_TYPES.has(v.message.type), i + 1));
      frames.push(l2Frame(m5, TO_GATEWAY_TYPES.has(v.message.type)));
    }
    const pcap = join(dir, 'decode.pcap');
    writeFileSync(pcap, pcapFile(frames));
    const rows = await dissect(pcap);
    expect(rows).toHaveLength(frames.length);
    for (const [i, v] of vectors.decode.entries()) {
      for (const [j, row] of [rows[2 * i]!, rows[2 * i + 1]!].entries()) {
        const where = `${v.name} (${j === 0 ? 'UDP' : 'L2'})`;
        expect({ where, ...pick(normalise(row), expectedFields(v.message)), 'msgin5g.wrong_direction': row['msgin5g.wrong_direction'] }).toEqual({
          where,
          ...expectedFields(v.message),
          'msgin5g.wrong_direction': '',
        });
        if (typeof v.message.failureReason === 'string') expect({ where, info: row['_ws.col.Info'] }).toEqual({ where, info: expect.stringContaining(v.message.failureReason) });
        if (j === 1) {
          expect({ where, length: row['msgin5g_l2.length'], l2: row['msgin5g_l2.malformed'] }).toEqual({ where, length: String(v.hex.length / 2), l2: '' });
          expect({ where, padded: row['msgin5g_l2.padding'].length > 0 }).toEqual({ where, padded: v.hex.length / 2 + 2 < 46 });
        }
      }
    }
    // The names shown in the tree, for one frame (tshark -V).
    const tree = await tshark(['-n', '-X', `lua_script:${SCRIPT}`, '-r', pcap, '-O', 'msgin5g', '-V', '-Y', 'msgin5g.failure_reason == 0x04']);
    expect(tree).toMatch(/Message type: DE-REGISTRATION RESPONSE \(0x13\)/);
    expect(tree).toMatch(/Result: FAILURE \(0x01\)/);
    expect(tree).toMatch(/Application ID: 42/);
    expect(tree).toMatch(/Failure reason: SERVER_UNREACHABLE \(0x04\)/);
  });

  it('flags every reject vector sent to the gateway (malformed, unknown type, or a gateway-only type) and decodes nothing else', async () => {
    const frames: Buffer[] = [];
    for (const [i, v] of vectors.reject.entries()) {
      const m5 = Buffer.from(v.hex, 'hex');
      frames.push(udpFor(m5, true, i + 1));
      frames.push(l2Frame(m5, true));
    }
    // L2 framing errors, and frames behind an 802.1Q and an 802.1ad tag.
    frames.push(ethernetFrame(GATEWAY_MAC, DEVICE_MAC, 0x88b5, Buffer.from('0100100102', 'hex'))); // length 256 past the frame
    frames.push(ethernetFrame(GATEWAY_MAC, DEVICE_MAC, 0x88b5, Buffer.from('01', 'hex'))); // no room for the length
    frames.push(l2Frame(Buffer.from('12080011223344556677', 'hex'), true, { tpid: 0x8100, vid: 7 }));
    frames.push(l2Frame(Buffer.from('10002a', 'hex'), true, { tpid: 0x88a8, vid: 100 }));
    const pcap = join(dir, 'reject.pcap');
    writeFileSync(pcap, pcapFile(frames));
    const rows = await dissect(pcap);
    expect(rows).toHaveLength(frames.length);
    for (const [i, v] of vectors.reject.entries()) {
      const bytes = Buffer.from(v.hex, 'hex');
      const decoded = decodeM5(bytes);
      const udp = rows[2 * i]!;
      const l2 = rows[2 * i + 1]!;
      const flag = (r: Row) => ({ malformed: r['msgin5g.malformed'] !== '', unknown: r['msgin5g.unknown_type'] !== '', direction: r['msgin5g.wrong_direction'] !== '' });
      // Over UDP the direction is known (destination port 5690): every reject vector is flagged.
      const expectedUdp = decoded.ok
        ? { malformed: false, unknown: false, direction: true }
        : { malformed: decoded.error.reason !== 'UNKNOWN_MESSAGE_TYPE', unknown: decoded.error.reason === 'UNKNOWN_MESSAGE_TYPE', direction: false };
      expect({ name: v.name, ...flag(udp) }).toEqual({ name: v.name, ...expectedUdp });
      // On L2 the direction is unknown: a well-formed response type is shown, not flagged.
      expect({ name: v.name, ...flag(l2) }).toEqual({ name: v.name, ...expectedUdp, direction: false });
    }
    const n = 2 * vectors.reject.length;
    expect(rows[n]?.['msgin5g_l2.malformed']).not.toBe('');
    expect(rows[n]?.['_ws.expert.message']).toMatch(/length 256 runs past the frame/);
    expect(rows[n + 1]?.['msgin5g_l2.malformed']).not.toBe('');
    expect(rows[n + 1]?.['_ws.expert.message']).toMatch(/no room for the 2-octet length/);
    expect(pick(rows[n + 2]!, { 'msgin5g.type': '', 'msgin5g.reg_id': '' })).toEqual({ 'msgin5g.type': '0x12', 'msgin5g.reg_id': '0011223344556677' });
    expect(pick(rows[n + 3]!, { 'msgin5g.type': '', 'msgin5g.app_id': '' })).toEqual({ 'msgin5g.type': '0x10', 'msgin5g.app_id': '42' });
  });

  it('agrees with the project decoder (decodeM5) on 400 mutated messages: same fields, and flagged exactly when rejected', async () => {
    const corpus = mutatedCorpus(vectors);
    const pcap = join(dir, 'corpus.pcap');
    // Sent from the gateway's port, so the direction check stays out of the comparison.
    writeFileSync(pcap, pcapFile(corpus.map((m5, i) => udpFor(m5, false, i + 1))));
    const rows = await dissect(pcap);
    expect(rows).toHaveLength(corpus.length);
    let valid = 0;
    for (const [i, input] of corpus.entries()) {
      const decoded = decodeM5(input);
      const row = rows[i]!;
      const where = input.toString('hex');
      if (decoded.ok) {
        valid += 1;
        const expected = expectedFields(vectorShape(decoded.message));
        // The dissector shows the Failure reason code on the wire; the decoder reads a code it does not know as UNSPECIFIED.
        const shown = { ...pick(normalise(row), expected), 'msgin5g.failure_reason': reasonAsDecoded(row['msgin5g.failure_reason']) };
        expect({ where, ...shown }).toEqual({ where, ...expected });
      } else {
        const flagged = decoded.error.reason === 'UNKNOWN_MESSAGE_TYPE' ? row['msgin5g.unknown_type'] : row['msgin5g.malformed'];
        expect({ where, reason: decoded.error.reason, flagged: flagged !== '' }).toEqual({ where, reason: decoded.error.reason, flagged: true });
      }
    }
    // The corpus exercises both sides.
    expect(valid).toBeGreaterThan(50);
    expect(corpus.length - valid).toBeGreaterThan(50);
  });
});

/** A Failure reason code as tshark prints it (`0x76`), read the way `decodeM5` reads it. */
function reasonAsDecoded(code: string): string {
  if (code === '') return '';
  const n = Number(code);
  const known = Object.values(FAILURE_REASON_CODE).includes(n);
  return `0x${(known ? n : FAILURE_REASON_CODE.UNSPECIFIED).toString(16).padStart(2, '0')}`;
}

function pick(row: Row, like: Partial<Row>): Partial<Row> {
  return Object.fromEntries(Object.keys(like).map((k) => [k, row[k as keyof Row]])) as Partial<Row>;
}
