/**
 * Hex text of inputs, for failure reports and `--replay`. Uses `Buffer` (this is a Node tool);
 * rejected alternative: the protocol package's hex helpers, which are internal to it.
 */

/** Lower-case hex of `bytes` (no separators). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/**
 * Octets of a hex string; spaces, colons and a leading `0x` are ignored, either case.
 * @throws TypeError on an odd number of digits or a non-hex character (a bad `--replay` argument).
 */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new TypeError(`not a hex string: ${JSON.stringify(text.slice(0, 40))}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}
