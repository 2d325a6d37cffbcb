/**
 * Lower-case hex for Registration IDs, without `Buffer` (the package is pure) and without per-call
 * regular expressions: two lookup tables built once.
 */

const BYTE_TO_HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => (b < 16 ? '0' : '') + b.toString(16));

// Index = char code (0..127); value = nibble, or -1 for a non-hex character.
const NIBBLE: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x61 + i] = 10 + i;
    t[0x41 + i] = 10 + i;
  }
  return t;
})();

/** Lower-case hex of `bytes[start..end)`. */
export function hexOf(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += BYTE_TO_HEX[bytes[i] as number];
  return s;
}

/**
 * Writes the octets of a hex string (even length, either case) into `out` at `offset`.
 * Returns false, leaving `out` partly written, if the string has a non-hex character or an odd length.
 */
export function writeHex(hex: string, out: Uint8Array, offset: number): boolean {
  if ((hex.length & 1) !== 0) return false;
  for (let i = 0; i < hex.length; i += 2) {
    const c1 = hex.charCodeAt(i);
    const c2 = hex.charCodeAt(i + 1);
    const hi = c1 < 128 ? (NIBBLE[c1] as number) : -1;
    const lo = c2 < 128 ? (NIBBLE[c2] as number) : -1;
    if (hi < 0 || lo < 0) return false;
    out[offset + (i >> 1)] = (hi << 4) | lo;
  }
  return true;
}

/** Whether `hex` is non-empty, of even length and hex characters only. */
export function isHex(hex: string): boolean {
  if (hex.length === 0 || (hex.length & 1) !== 0) return false;
  for (let i = 0; i < hex.length; i++) {
    const c = hex.charCodeAt(i);
    if (c >= 128 || (NIBBLE[c] as number) < 0) return false;
  }
  return true;
}

/** Two lower-case hex characters of one octet (`0x7e` → `7e`), for messages. */
export function hexOctet(octet: number): string {
  return BYTE_TO_HEX[octet & 0xff] as string;
}
