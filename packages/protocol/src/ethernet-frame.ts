/**
 * The Ethernet frame of the L2 device link (docs/wire-formats.md §3.1): an Ethernet II frame of
 * EtherType 0x88B5 (provisional, `DEFAULT_L2_ETHERTYPE`; configurable) whose payload is a 2-octet
 * length N, then the N-octet M5 binary message, then any padding.
 *
 * ```
 * dst MAC (6) | src MAC (6) | [TPID 0x8100/0x88a8 + TCI (4)]{0..2} | EtherType (2) | N (2) | M5 (N) | padding
 * ```
 *
 * Frames shorter than 60 octets (without FCS) are padded with zeros by the sender; the length field
 * is what makes padding harmless. VLAN tags are skipped on reading (at most two: 802.1ad S-tag then
 * 802.1Q C-tag) and never written by the link: responses are untagged (use a VLAN sub-interface such
 * as `eth0.100` for a tagged deployment; the kernel then adds and removes the tag).
 * {@link withVlanTag} inserts a tag, for devices and test traffic that need one on the wire.
 *
 * Rejected alternative: reading the M5 message up to the end of the frame, as on UDP. Ethernet
 * pads short frames, so the receiver could not tell padding from content.
 *
 * Pure: no I/O. Here, in `@msgin5g/protocol`, rather than in the L2 device link, so the gateway's
 * link, the device simulator and the Wireshark dissector tests share one layout without any of them
 * depending on the gateway's adapter.
 * @see docs/wire-formats.md §3.1; IEEE 802.3 §3.2.8 (padding), IEEE 802.1Q §9.5 (tag format)
 */
import { macAt, macOctets } from './mac-address';

/** Destination MAC (6) + source MAC (6) + EtherType (2). */
export const ETHERNET_HEADER_OCTETS = 14;
/** One 802.1Q/802.1ad tag: TPID (2) + TCI (2). */
export const VLAN_TAG_OCTETS = 4;
/** Tag protocol identifiers skipped on reading: 802.1Q C-tag, 802.1ad S-tag. */
export const VLAN_TPIDS: readonly number[] = [0x8100, 0x88a8];
/** Most tags skipped before the EtherType (QinQ). */
export const MAX_VLAN_TAGS = 2;
/** Smallest Ethernet frame without FCS; shorter frames are zero-padded to it. */
export const MIN_FRAME_OCTETS = 60;
/** The length field before the M5 message. */
export const LENGTH_FIELD_OCTETS = 2;

/** What {@link encodeM5Frame} needs. MACs canonical (12 hex characters). */
export interface M5FrameFields {
  readonly destination: string;
  readonly source: string;
  /** 0x0600..0xFFFF (an Ethernet II type, not a length). */
  readonly etherType: number;
  /** The M5 binary message, at most 65,535 octets (the length field is 2 octets). */
  readonly unit: Uint8Array;
}

/**
 * Builds an untagged M5 frame, zero-padded to {@link MIN_FRAME_OCTETS}. Throws `RangeError` when
 * the unit does not fit the 2-octet length field (a bug: M5 messages are a few dozen octets).
 */
export function encodeM5Frame(fields: M5FrameFields): Uint8Array {
  const n = fields.unit.length;
  if (n > 0xffff) throw new RangeError(`M5 unit of ${n} octets does not fit the 2-octet length field`);
  const used = ETHERNET_HEADER_OCTETS + LENGTH_FIELD_OCTETS + n;
  const frame = new Uint8Array(Math.max(MIN_FRAME_OCTETS, used)); // zero-filled: the padding
  frame.set(macOctets(fields.destination), 0);
  frame.set(macOctets(fields.source), 6);
  frame[12] = (fields.etherType >> 8) & 0xff;
  frame[13] = fields.etherType & 0xff;
  frame[14] = (n >> 8) & 0xff;
  frame[15] = n & 0xff;
  frame.set(fields.unit, ETHERNET_HEADER_OCTETS + LENGTH_FIELD_OCTETS);
  return frame;
}

/** An Ethernet frame read as an M5 frame. */
export type M5FrameReading =
  /** `unit` is a view into the frame (no copy); it may be empty (length 0). */
  | { readonly kind: 'M5'; readonly destination: string; readonly source: string; readonly vlanTags: number; readonly unit: Uint8Array; readonly paddingOctets: number }
  /** Not for this link: another EtherType (after any tags). */
  | { readonly kind: 'OTHER_ETHERTYPE'; readonly destination: string; readonly source: string; readonly etherType: number }
  /** Has our EtherType but no usable M5 unit; `source` is set when the header was complete. */
  | { readonly kind: 'MALFORMED'; readonly destination?: string; readonly source?: string; readonly detail: string };

/**
 * Reads `frame` as an M5 frame of EtherType `etherType`. Never throws, whatever the input.
 * `MALFORMED` covers: fewer than 14 octets, a tag or EtherType cut short, no room for the length
 * field, a length running past the end of the frame.
 */
export function decodeM5Frame(frame: Uint8Array, etherType: number): M5FrameReading {
  if (!(frame instanceof Uint8Array) || frame.length < ETHERNET_HEADER_OCTETS) {
    const octets = frame instanceof Uint8Array ? frame.length : 0;
    return { kind: 'MALFORMED', detail: `runt frame of ${octets} octets: no complete Ethernet header (14 octets)` };
  }
  const destination = macAt(frame, 0);
  const source = macAt(frame, 6);
  let at = 12;
  let type = u16(frame, at);
  let vlanTags = 0;
  while (VLAN_TPIDS.includes(type) && vlanTags < MAX_VLAN_TAGS) {
    if (frame.length < at + VLAN_TAG_OCTETS + 2) {
      return { kind: 'MALFORMED', destination, source, detail: `VLAN-tagged frame of ${frame.length} octets ends inside its tag` };
    }
    vlanTags += 1;
    at += VLAN_TAG_OCTETS;
    type = u16(frame, at);
  }
  if (type !== etherType) return { kind: 'OTHER_ETHERTYPE', destination, source, etherType: type };
  const payload = at + 2;
  if (frame.length < payload + LENGTH_FIELD_OCTETS) {
    return { kind: 'MALFORMED', destination, source, detail: `frame of ${frame.length} octets has no room for the 2-octet length field` };
  }
  const n = u16(frame, payload);
  const start = payload + LENGTH_FIELD_OCTETS;
  if (start + n > frame.length) {
    return { kind: 'MALFORMED', destination, source, detail: `length field ${n} runs past the end of the frame (${frame.length - start} octets follow it)` };
  }
  return { kind: 'M5', destination, source, vlanTags, unit: frame.subarray(start, start + n), paddingOctets: frame.length - start - n };
}

/** Whether `etherType` may name the L2 link's frames: an Ethernet II type (≥ 0x0600) that is not a VLAN TPID. */
export function isUsableEtherType(etherType: number): boolean {
  return Number.isInteger(etherType) && etherType >= 0x0600 && etherType <= 0xffff && !VLAN_TPIDS.includes(etherType);
}

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

/**
 * `frame` with one VLAN tag inserted after the source MAC (IEEE 802.1Q §9.5): TPID `tpid` (default
 * 0x8100, an 802.1Q C-tag; 0x88A8 for an 802.1ad S-tag), PCP 0, DEI 0, VID `vlanId` (0..4095).
 * Returns a new array 4 octets longer. Throws `RangeError` on a VID outside 0..4095, a TPID other
 * than those two, or a frame shorter than 12 octets (no room after the MACs): bugs of the caller.
 */
export function withVlanTag(frame: Uint8Array, vlanId: number, tpid = 0x8100): Uint8Array {
  if (!Number.isInteger(vlanId) || vlanId < 0 || vlanId > 0xfff) throw new RangeError(`VLAN ID must be 0..4095, got ${String(vlanId)}`);
  if (!VLAN_TPIDS.includes(tpid)) throw new RangeError(`TPID must be 0x8100 or 0x88a8, got 0x${tpid.toString(16)}`);
  if (frame.length < 12) throw new RangeError(`frame of ${frame.length} octets has no room for a tag after its MACs`);
  const out = new Uint8Array(frame.length + VLAN_TAG_OCTETS);
  out.set(frame.subarray(0, 12), 0);
  out.set([tpid >> 8, tpid & 0xff, (vlanId >> 8) & 0x0f, vlanId & 0xff], 12);
  out.set(frame.subarray(12), 12 + VLAN_TAG_OCTETS);
  return out;
}
