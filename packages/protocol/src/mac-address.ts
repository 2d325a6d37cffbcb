/**
 * MAC addresses as the L2 link, its devices and its frames handle them: the canonical form is the
 * MAC Layer-2 ID, 12 lower-case hex characters (`02000000aa01`, see `parseMacLayer2Id` in
 * `@msgin5g/core`); octets only at the wire (docs/wire-formats.md §3.1); the colon form
 * (`02:00:00:00:aa:01`) only for people (endpoints, logs). Pure: no I/O.
 *
 * @see IEEE 802-2014 §8.2 (I/G bit: the least significant bit of the first octet marks a group address).
 */

/** The broadcast address, canonical form. */
export const BROADCAST_MAC = 'ffffffffffff';

/** The 6 octets of a canonical MAC (12 hex characters). Throws `TypeError` on anything else (a bug: parse first). */
export function macOctets(mac: string): Uint8Array {
  if (!/^[0-9a-f]{12}$/.test(mac)) throw new TypeError(`not a canonical MAC (12 lower-case hex characters): ${JSON.stringify(mac)}`);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(mac.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The canonical MAC at `offset` of `bytes` (6 octets; the caller checks the length). */
export function macAt(bytes: Uint8Array, offset: number): string {
  let s = '';
  for (let i = offset; i < offset + 6; i++) s += (bytes[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

/** `02000000aa01` → `02:00:00:00:aa:01`. */
export function formatMac(mac: string): string {
  return (mac.match(/../g) ?? []).join(':');
}

/** Whether a canonical MAC is a group (multicast or broadcast) address: it can be no frame's source. */
export function isGroupMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 0x01) === 0x01;
}

/** Whether a string is a canonical unicast MAC (can be a frame's source). */
export function isUnicastMac(mac: string): boolean {
  return /^[0-9a-f]{12}$/.test(mac) && !isGroupMac(mac);
}
