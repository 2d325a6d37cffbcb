/**
 * CoAP response codes in their `c.dd` text form (RFC 7252 §3: 3-bit class, 5-bit detail), as the
 * `coap` library reports them (`'2.04'`), with their registered names for log and cause text.
 */

/** A parsed `c.dd` code: `codeClass` 0..7, `detail` 0..31. */
export interface CoapCode {
  readonly codeClass: number;
  readonly detail: number;
}

// RFC 7252 §12.1.2, plus RFC 7959 (2.31, 4.08), RFC 8132 (4.09, 4.22), RFC 8516 (4.29), RFC 8768 (5.08).
const NAMES: ReadonlyMap<string, string> = new Map([
  ['2.01', 'Created'],
  ['2.02', 'Deleted'],
  ['2.03', 'Valid'],
  ['2.04', 'Changed'],
  ['2.05', 'Content'],
  ['2.31', 'Continue'],
  ['4.00', 'Bad Request'],
  ['4.01', 'Unauthorized'],
  ['4.02', 'Bad Option'],
  ['4.03', 'Forbidden'],
  ['4.04', 'Not Found'],
  ['4.05', 'Method Not Allowed'],
  ['4.06', 'Not Acceptable'],
  ['4.08', 'Request Entity Incomplete'],
  ['4.09', 'Conflict'],
  ['4.12', 'Precondition Failed'],
  ['4.13', 'Request Entity Too Large'],
  ['4.15', 'Unsupported Content-Format'],
  ['4.22', 'Unprocessable Entity'],
  ['4.29', 'Too Many Requests'],
  ['5.00', 'Internal Server Error'],
  ['5.01', 'Not Implemented'],
  ['5.02', 'Bad Gateway'],
  ['5.03', 'Service Unavailable'],
  ['5.04', 'Gateway Timeout'],
  ['5.05', 'Proxying Not Supported'],
  ['5.08', 'Hop Limit Reached'],
]);

/** Parses `c.dd` (exactly four characters, class 0..7, detail 00..31); `undefined` otherwise. @see RFC 7252 §3 */
export function parseCoapCode(code: string): CoapCode | undefined {
  if (typeof code !== 'string' || code.length !== 4 || code.charCodeAt(1) !== 0x2e) return undefined;
  const c = code.charCodeAt(0) - 0x30;
  const d1 = code.charCodeAt(2) - 0x30;
  const d2 = code.charCodeAt(3) - 0x30;
  if (c < 0 || c > 7 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return undefined;
  const detail = d1 * 10 + d2;
  return detail > 31 ? undefined : { codeClass: c, detail };
}

/** `'4.04'` → `'4.04 Not Found'`; a code without a registered name is returned as is. */
export function describeCoapCode(code: string): string {
  const name = NAMES.get(code);
  return name === undefined ? code : `${code} ${name}`;
}
