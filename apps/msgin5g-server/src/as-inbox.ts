/**
 * The pretend Application Server's inbox: what the reference server received for an AS Service ID
 * (messages and delivery status reports, for `--as-service-id` or for the sender the `server send`
 * CLI named), kept in a bounded ring (the newest `capacity` entries), each with a sequence number
 * from 1 that never repeats while the server runs. `GET /messages` reads it in pages.
 *
 * Pages fit one CoAP response without Block2: the coap library splits any payload of 1,024 octets
 * or more into Block2 blocks, so a page body is at most {@link MESSAGES_PAGE_MAX_OCTETS}. Payloads
 * are shown as a preview of at most {@link PAYLOAD_PREVIEW_OCTETS} octets (`payloadOctets` gives the
 * full size, `payloadTruncated` says when it was cut). Rejected alternative: Block2 pages (the
 * dispatcher would see every block as a new request and rebuild the page, which may have changed
 * between blocks).
 */
import { DELIVERY_STATUS_WIRE, type Msgin5g1Imdn, type Msgin5g1Msg } from '@msgin5g/protocol';

/** One entry of `GET /messages` (JSON member names as on the wire, §5.4). */
export interface InboxEntry {
  readonly seq: number;
  /** ISO 8601, when the server took it. */
  readonly time: string;
  readonly messageType: 'MSG' | 'IMDN';
  readonly oriAddr: string;
  readonly destAddr: string;
  readonly msgId: string;
  /** MSG: the payload as UTF-8 text, `null` when it is not UTF-8 (preview). */
  readonly payloadText?: string | null;
  /** MSG: the payload in lower-case hex (preview). */
  readonly payloadHex?: string;
  /** MSG: the payload's full size, octets. */
  readonly payloadOctets?: number;
  /** MSG: present (true) when the preview is shorter than the payload. */
  readonly payloadTruncated?: true;
  /** MSG: whether the sender asked for a delivery status report. */
  readonly delivStReqInd?: boolean;
  /** IMDN: `REPT_DELY_SUCCESS`, `REPT_DELY_FAILED` or `REPT_DELY_STORED`. */
  readonly delivSt?: string;
  /** IMDN: the Failure reason, when the report gives one. */
  readonly failureCause?: string;
}

/** The body of `GET /messages`: `lastSeq` the newest entry's number (0: none yet); `more` when entries were left out. */
export interface InboxPage {
  readonly lastSeq: number;
  readonly more: boolean;
  readonly messages: readonly InboxEntry[];
}

/** Largest page body, octets (under the coap library's 1,024-octet Block2 threshold). */
export const MESSAGES_PAGE_MAX_OCTETS = 1000;
/** Octets of a payload shown in an entry. */
export const PAYLOAD_PREVIEW_OCTETS = 64;
/** Default ring size. */
export const DEFAULT_INBOX_SIZE = 1000;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class AsInbox {
  private readonly ring: InboxEntry[] = [];
  private lastSeq = 0;

  constructor(private readonly capacity: number = DEFAULT_INBOX_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('inbox size must be a whole number ≥ 1');
  }

  /** Entries held, oldest first (a copy). */
  entries(): InboxEntry[] {
    return [...this.ring];
  }

  addMessage(msg: Msgin5g1Msg, at: number): InboxEntry {
    const preview = msg.payload.subarray(0, PAYLOAD_PREVIEW_OCTETS);
    let text: string | null;
    try {
      text = strictUtf8.decode(preview);
    } catch {
      text = null;
    }
    const entry: InboxEntry = {
      seq: ++this.lastSeq,
      time: new Date(at).toISOString(),
      messageType: 'MSG',
      oriAddr: msg.originatorAddress,
      destAddr: msg.targetAddress,
      msgId: msg.messageId,
      payloadText: text,
      payloadHex: Buffer.from(preview).toString('hex'),
      payloadOctets: msg.payload.length,
      ...(preview.length < msg.payload.length ? { payloadTruncated: true as const } : {}),
      delivStReqInd: msg.deliveryStatusRequired,
    };
    return this.push(entry);
  }

  addReport(imdn: Msgin5g1Imdn, at: number): InboxEntry {
    const entry: InboxEntry = {
      seq: ++this.lastSeq,
      time: new Date(at).toISOString(),
      messageType: 'IMDN',
      oriAddr: imdn.originatorAddress,
      destAddr: imdn.targetAddress,
      msgId: imdn.messageId,
      delivSt: DELIVERY_STATUS_WIRE[imdn.deliveryStatus],
      ...(imdn.failureReason === undefined ? {} : { failureCause: imdn.failureReason }),
    };
    return this.push(entry);
  }

  /**
   * A page of at most {@link MESSAGES_PAGE_MAX_OCTETS} octets of JSON. With `since`: the oldest
   * entries numbered above it that fit (a follower catches up page by page); without: the newest
   * that fit. Entries are oldest first either way. An entry too large alone is sent without its
   * payload preview.
   */
  page(since?: number): InboxPage {
    const candidates = since === undefined ? [...this.ring].reverse() : this.ring.filter((e) => e.seq > since);
    const chosen: InboxEntry[] = [];
    let size = Buffer.byteLength(JSON.stringify({ lastSeq: this.lastSeq, more: false, messages: [] }), 'utf8');
    for (const entry of candidates) {
      let e = entry;
      let octets = Buffer.byteLength(JSON.stringify(e), 'utf8') + (chosen.length === 0 ? 0 : 1);
      if (chosen.length === 0 && size + octets > MESSAGES_PAGE_MAX_OCTETS && e.payloadHex !== undefined) {
        const { payloadText: _t, payloadHex: _h, ...rest } = e;
        e = { ...rest, payloadTruncated: true };
        octets = Buffer.byteLength(JSON.stringify(e), 'utf8');
      }
      if (chosen.length > 0 && size + octets > MESSAGES_PAGE_MAX_OCTETS) break;
      chosen.push(e);
      size += octets;
    }
    const more = chosen.length < candidates.length;
    return { lastSeq: this.lastSeq, more, messages: since === undefined ? chosen.reverse() : chosen };
  }

  private push(entry: InboxEntry): InboxEntry {
    this.ring.push(entry);
    if (this.ring.length > this.capacity) this.ring.shift();
    return entry;
  }
}
