/**
 * The CoAP message format (RFC 7252 §3): 4-octet header (version 1, type, token length, code,
 * Message ID), token of 0..8 octets, options as delta/length nibbles with 1- or 2-octet extensions
 * (§3.1), payload marker 0xFF and payload. A strict parser that tells a message format error (which
 * RFC 7252 wants rejected, §4.2/§4.3) from a well-formed message, and an encoder. Used by the CoAP
 * device link's own message layer; here, with the other byte layouts, so tests and tools read and
 * build CoAP bytes without depending on the adapter.
 *
 * Strict where `coap-packet` 1.1.1 (the parser of npm `coap`) is lenient: it accepts a token length
 * of 9..12, a payload marker with no payload after it, and an option that runs past the end of the
 * datagram (it slices what is there), all of which RFC 7252 §3 calls format errors. The parser
 * never throws and allocates no `Error`: every datagram a device sends, garbage included, runs
 * through it. Rejected alternative: `coap-packet`'s `parse` plus checks after it — it throws on some
 * errors (so the Message ID needed for an RST is lost) and hides the others.
 *
 * Pure: no I/O.
 * @see RFC 7252 §3 (message format), §3.1 (option format), §3.2 (uint option values), §4.1 (Empty message)
 */

/** Message types (RFC 7252 §3, field T). */
export type CoapType = 'CON' | 'NON' | 'ACK' | 'RST';

const TYPES: readonly CoapType[] = ['CON', 'NON', 'ACK', 'RST'];

/** One option: its number (RFC 7252 §5.10) and raw value. */
export interface CoapOption {
  readonly number: number;
  readonly value: Uint8Array;
}

/** A well-formed CoAP message. `code` is the raw code octet (class << 5 | detail). */
export interface CoapMessage {
  readonly type: CoapType;
  readonly code: number;
  readonly messageId: number;
  readonly token: Uint8Array;
  /** In the order received, i.e. by increasing option number. */
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
}

/**
 * What a datagram is:
 * - `MESSAGE`: a well-formed message;
 * - `FORMAT_ERROR`: the 4-octet header is readable (so a CON can be rejected with an RST carrying its
 *   Message ID) but the rest breaks RFC 7252 §3;
 * - `NOT_COAP`: shorter than a header, or a version other than 1 (RFC 7252 §3: silently ignored).
 */
export type CoapParse =
  | { readonly kind: 'MESSAGE'; readonly message: CoapMessage }
  | { readonly kind: 'FORMAT_ERROR'; readonly type: CoapType; readonly code: number; readonly messageId: number; readonly detail: string }
  | { readonly kind: 'NOT_COAP'; readonly detail: string };

/** Option numbers the CoAP device link reads or writes (RFC 7252 §5.10, RFC 7959 §2.1, RFC 8613 §2). */
export const COAP_OPTION = {
  IF_MATCH: 1,
  URI_HOST: 3,
  ETAG: 4,
  IF_NONE_MATCH: 5,
  OBSERVE: 6,
  URI_PORT: 7,
  LOCATION_PATH: 8,
  OSCORE: 9,
  URI_PATH: 11,
  CONTENT_FORMAT: 12,
  MAX_AGE: 14,
  URI_QUERY: 15,
  ACCEPT: 17,
  LOCATION_QUERY: 20,
  BLOCK2: 23,
  BLOCK1: 27,
  SIZE2: 28,
  PROXY_URI: 35,
  PROXY_SCHEME: 39,
  SIZE1: 60,
} as const;

/** Value length range (octets) and repeatability of one option (RFC 7252 §5.10 table). */
export interface CoapOptionFormat {
  readonly min: number;
  readonly max: number;
  readonly repeatable: boolean;
}

/**
 * The format of each option defined by RFC 7252 §5.10 (and Block1/Block2, RFC 7959 §2.1): the
 * value length range and whether it may repeat. An endpoint picks the ones it recognises
 * ({@link coapOptionFormats}); a recognised option with a bad length, or a non-repeatable one
 * repeated, is then treated as unrecognised (RFC 7252 §5.4.3, §5.4.5).
 */
export const COAP_OPTION_FORMAT: ReadonlyMap<number, CoapOptionFormat> = new Map([
  [COAP_OPTION.IF_MATCH, { min: 0, max: 8, repeatable: true }],
  [COAP_OPTION.URI_HOST, { min: 1, max: 255, repeatable: false }],
  [COAP_OPTION.ETAG, { min: 1, max: 8, repeatable: true }],
  [COAP_OPTION.IF_NONE_MATCH, { min: 0, max: 0, repeatable: false }],
  [COAP_OPTION.URI_PORT, { min: 0, max: 2, repeatable: false }],
  [COAP_OPTION.LOCATION_PATH, { min: 0, max: 255, repeatable: true }],
  [COAP_OPTION.URI_PATH, { min: 0, max: 255, repeatable: true }],
  [COAP_OPTION.CONTENT_FORMAT, { min: 0, max: 2, repeatable: false }],
  [COAP_OPTION.MAX_AGE, { min: 0, max: 4, repeatable: false }],
  [COAP_OPTION.URI_QUERY, { min: 0, max: 255, repeatable: true }],
  [COAP_OPTION.ACCEPT, { min: 0, max: 2, repeatable: false }],
  [COAP_OPTION.LOCATION_QUERY, { min: 0, max: 255, repeatable: true }],
  [COAP_OPTION.BLOCK2, { min: 0, max: 3, repeatable: false }],
  [COAP_OPTION.BLOCK1, { min: 0, max: 3, repeatable: false }],
  [COAP_OPTION.PROXY_URI, { min: 1, max: 1034, repeatable: false }],
  [COAP_OPTION.PROXY_SCHEME, { min: 1, max: 255, repeatable: false }],
  [COAP_OPTION.SIZE1, { min: 0, max: 4, repeatable: false }],
]);

/** The formats of the options an endpoint recognises, from {@link COAP_OPTION_FORMAT}. @throws TypeError for an option it does not define. */
export function coapOptionFormats(numbers: readonly number[]): ReadonlyMap<number, CoapOptionFormat> {
  return new Map(
    numbers.map((n) => {
      const f = COAP_OPTION_FORMAT.get(n);
      if (f === undefined) throw new TypeError(`option ${n} has no format in RFC 7252 §5.10`);
      return [n, f];
    }),
  );
}

/** Codes the CoAP device link reads or writes, as code octets `class << 5 | detail` (RFC 7252 §12.1). */
export const COAP_CODE = {
  EMPTY: 0x00,
  POST: 0x02,
  CHANGED: 0x44, // 2.04
  BAD_REQUEST: 0x80, // 4.00
  BAD_OPTION: 0x82, // 4.02
  NOT_FOUND: 0x84, // 4.04
  METHOD_NOT_ALLOWED: 0x85, // 4.05
  NOT_ACCEPTABLE: 0x86, // 4.06
  REQUEST_ENTITY_TOO_LARGE: 0x8d, // 4.13
  UNSUPPORTED_CONTENT_FORMAT: 0x8f, // 4.15
  SERVICE_UNAVAILABLE: 0xa3, // 5.03
  NOT_IMPLEMENTED: 0xa1, // 5.01
  PROXYING_NOT_SUPPORTED: 0xa5, // 5.05
} as const;

/** `c.dd` text of a code octet, e.g. `0x44` → `2.04`. */
export function coapCodeText(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}

/** An option's critical bit (RFC 7252 §5.4.6: odd numbers are critical). */
export function isCriticalOption(number: number): boolean {
  return (number & 1) === 1;
}

/** Parses one datagram; never throws. @see RFC 7252 §3 */
export function parseCoapMessage(bytes: Uint8Array): CoapParse {
  const n = bytes.length;
  if (n < 4) return { kind: 'NOT_COAP', detail: `${n} octets is shorter than a CoAP header` };
  const first = bytes[0] as number;
  const version = first >> 6;
  if (version !== 1) return { kind: 'NOT_COAP', detail: `CoAP version ${version} (only 1 is defined)` };
  const type = TYPES[(first >> 4) & 0x3] as CoapType;
  const tkl = first & 0x0f;
  const code = bytes[1] as number;
  const messageId = ((bytes[2] as number) << 8) | (bytes[3] as number);
  const formatError = (detail: string): CoapParse => ({ kind: 'FORMAT_ERROR', type, code, messageId, detail });

  if (code === COAP_CODE.EMPTY) {
    // RFC 7252 §4.1: an Empty message has a zero-length token and nothing after the header.
    if (tkl !== 0 || n !== 4) return formatError('an Empty message (code 0.00) must be exactly the 4-octet header');
    return { kind: 'MESSAGE', message: { type, code, messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) } };
  }
  if (tkl > 8) return formatError(`token length ${tkl} is reserved (0..8)`);
  if (4 + tkl > n) return formatError(`token of ${tkl} octets runs past the end`);
  const token = bytes.subarray(4, 4 + tkl);

  const options: CoapOption[] = [];
  let i = 4 + tkl;
  let number = 0;
  while (i < n) {
    const head = bytes[i] as number;
    if (head === 0xff) {
      if (i + 1 === n) return formatError('payload marker 0xFF with no payload after it');
      return { kind: 'MESSAGE', message: { type, code, messageId, token, options, payload: bytes.subarray(i + 1) } };
    }
    i += 1;
    const delta = readExtended(bytes, i, head >> 4);
    if (delta.error !== undefined) return formatError(`option after #${number}: delta ${delta.error}`);
    i = delta.next;
    const length = readExtended(bytes, i, head & 0x0f);
    if (length.error !== undefined) return formatError(`option after #${number}: length ${length.error}`);
    i = length.next;
    number += delta.value;
    if (i + length.value > n) return formatError(`option #${number} of ${length.value} octets runs past the end`);
    options.push({ number, value: bytes.subarray(i, i + length.value) });
    i += length.value;
  }
  return { kind: 'MESSAGE', message: { type, code, messageId, token, options, payload: new Uint8Array(0) } };
}

/** Reads an option delta or length nibble and its extension octets (RFC 7252 §3.1). */
function readExtended(bytes: Uint8Array, at: number, nibble: number): { value: number; next: number; error?: string } {
  if (nibble < 13) return { value: nibble, next: at };
  if (nibble === 13) {
    if (at + 1 > bytes.length) return { value: 0, next: at, error: 'extension octet runs past the end' };
    return { value: (bytes[at] as number) + 13, next: at + 1 };
  }
  if (nibble === 14) {
    if (at + 2 > bytes.length) return { value: 0, next: at, error: 'extension octets run past the end' };
    return { value: (((bytes[at] as number) << 8) | (bytes[at + 1] as number)) + 269, next: at + 2 };
  }
  return { value: 0, next: at, error: 'nibble 15 is reserved' };
}

/** A message to encode; options in any order (they are sorted by number, stably). */
export interface CoapMessageToSend {
  readonly type: CoapType;
  readonly code: number;
  readonly messageId: number;
  readonly token?: Uint8Array;
  readonly options?: readonly CoapOption[];
  readonly payload?: Uint8Array;
}

/** Encodes a message (RFC 7252 §3). @throws RangeError on a token over 8 octets or a Message ID outside 0..65535 (bugs). */
export function encodeCoapMessage(m: CoapMessageToSend): Uint8Array {
  const token = m.token ?? new Uint8Array(0);
  if (token.length > 8) throw new RangeError(`token of ${token.length} octets (at most 8)`);
  if (!Number.isInteger(m.messageId) || m.messageId < 0 || m.messageId > 0xffff) throw new RangeError(`Message ID ${m.messageId}`);
  const parts: number[] = [0x40 | (TYPES.indexOf(m.type) << 4) | token.length, m.code & 0xff, m.messageId >> 8, m.messageId & 0xff, ...token];
  const options = [...(m.options ?? [])].sort((a, b) => a.number - b.number);
  let last = 0;
  for (const o of options) {
    const delta = o.number - last;
    last = o.number;
    const d = nibble(delta);
    const l = nibble(o.value.length);
    parts.push((d.nibble << 4) | l.nibble, ...d.extension, ...l.extension, ...o.value);
  }
  const payload = m.payload ?? new Uint8Array(0);
  const out = new Uint8Array(parts.length + (payload.length > 0 ? payload.length + 1 : 0));
  out.set(parts, 0);
  if (payload.length > 0) {
    out[parts.length] = 0xff;
    out.set(payload, parts.length + 1);
  }
  return out;
}

function nibble(v: number): { nibble: number; extension: number[] } {
  if (v < 13) return { nibble: v, extension: [] };
  if (v < 269) return { nibble: 13, extension: [v - 13] };
  return { nibble: 14, extension: [(v - 269) >> 8, (v - 269) & 0xff] };
}

/** Minimal big-endian unsigned option value (RFC 7252 §3.2: 0 is zero octets). */
export function uintOptionValue(n: number): Uint8Array {
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Uint8Array.from(out);
}

/** Reads an unsigned option value of at most 4 octets; `undefined` when longer. */
export function readUintOption(value: Uint8Array): number | undefined {
  if (value.length > 4) return undefined;
  let n = 0;
  for (const b of value) n = n * 256 + b;
  return n;
}
