/**
 * The diagnostic payload of the CoAP device link's 4.00 Bad Request (docs/wire-formats.md §3.3):
 * `{"error":"<text>"}`, Content-Format 50, where `<text>` says why `decodeCoapDeviceRequest`
 * refused the body, e.g. `{"error":"member \"appId\" is missing"}`.
 *
 * Two bounds: the text is at most {@link MAX_DIAGNOSTIC_CHARS} characters, and the payload at most
 * the octets the caller allows — the CoAP device link allows what keeps its answer at most 40
 * octets larger than the request (README "Bad input"; no amplification of spoofed traffic,
 * RFC 7252 §11.3). A text over either bound is cut at a word boundary — at the end of a clause
 * (`,` `;` `:`, or before `(`) when that keeps more than half of what a cut after the last whole
 * word would, else after the last whole word that fits — and the cut is marked with `…`: the device
 * reads whole words, never half of one. The full text goes to the gateway's logs through
 * `onProtocolError`.
 *
 * Rejected alternatives: cutting at exactly the limit (a cut inside a quoted member name or a
 * number reads as another name or number); bounding the text by the body's length (what the link
 * did: a 32-octet body such as `{"messageType":"REG","appId":-1}` then got `member "appId" must
 * be a…`, although the whole 61-character text keeps the answer within 40 octets of the request).
 *
 * Pure: no I/O.
 * @see RFC 7252 §5.5.2 (diagnostic payload), §11.3 (amplification); docs/wire-formats.md §3.3
 */

/** Longest diagnostic text in a 4.00 answer, characters (UTF-16 code units). */
export const MAX_DIAGNOSTIC_CHARS = 80;
/** What a diagnostic says when not even its first word fits (no message of the decoder starts so; a guard). */
export const FALLBACK_DIAGNOSTIC = 'bad request body';

const PREFIX = 'CoAP device request: ';
const utf8 = new TextEncoder();

/** The 4.00 payload: UTF-8 JSON `{"error":"<text>"}` (12 octets around the JSON-escaped text). */
export function encodeCoapDeviceDiagnostic(text: string): Uint8Array {
  return utf8.encode(JSON.stringify({ error: text }));
}

/**
 * The diagnostic text for a refused request body: `error` (the decoder's error; its
 * `CoAP device request: ` prefix dropped), whole if it fits, else cut between words with `…`, so
 * that the text has at most {@link MAX_DIAGNOSTIC_CHARS} characters and
 * `encodeCoapDeviceDiagnostic(text)` at most `maxPayloadOctets` octets. When no whole word fits,
 * {@link FALLBACK_DIAGNOSTIC}, or `…`, or `''` (whatever fits first: `''` needs 12 octets).
 */
export function coapDeviceDiagnostic(error: string, maxPayloadOctets: number = Number.POSITIVE_INFINITY): string {
  const text = error.startsWith(PREFIX) ? error.slice(PREFIX.length) : error;
  const fits = (s: string): boolean => s.length <= MAX_DIAGNOSTIC_CHARS && encodeCoapDeviceDiagnostic(s).length <= maxPayloadOctets;
  return clipDiagnostic(text, fits);
}

/**
 * `text` itself when `fits(text)`; otherwise whole words of it, without trailing spaces or clause
 * punctuation, then `…`: the longest such cut that fits, or a shorter one at the end of a clause
 * when that keeps more than half of it. A word is a run of characters other than the space U+0020.
 * When no cut fits: {@link FALLBACK_DIAGNOSTIC}, `…` or `''`, the first that fits (`''` otherwise).
 * `fits` must be monotone: a prefix of something that fits also fits. Time O(text length × log).
 */
export function clipDiagnostic(text: string, fits: (candidate: string) => boolean): string {
  if (fits(text)) return text;
  // Cut points: c such that text[0, c) is whole words (text[c] is a space, or clause punctuation before one).
  const words: number[] = [];
  const clauses = new Set<number>();
  for (let i = 1; i < text.length; i++) {
    if (text[i] !== ' ' || text[i - 1] === ' ') continue;
    const clauseMark = ',;:'.includes(text[i - 1] as string);
    const end = clauseMark ? i - 1 : i;
    if (end > 0 && text[end - 1] !== ' ') {
      words.push(end);
      if (clauseMark || text[i + 1] === '(') clauses.add(end);
    }
  }
  const candidate = (end: number): string => `${text.slice(0, end).replace(/[ ,;:]+$/, '')}…`;
  // The longest fitting cut, by binary search over the increasing cut points (fits is monotone).
  let lo = 0;
  let hi = words.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (fits(candidate(words[mid] as number))) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (best < 0) return [FALLBACK_DIAGNOSTIC, '…', ''].find(fits) ?? '';
  const longest = words[best] as number;
  for (let k = best; k >= 0; k--) {
    const end = words[k] as number;
    if (end <= longest / 2) break;
    if (clauses.has(end)) return candidate(end);
  }
  return candidate(longest);
}
