/**
 * The opaque paging cursor of `GET /devices`: the last Registration ID of a page, versioned and
 * base64url-encoded so clients treat it as a token (the order may change without breaking them).
 */
import { parseRegistrationId, type RegistrationId } from '@msgin5g/core';

const PREFIX = 'v1:';

export function encodeDeviceCursor(after: RegistrationId): string {
  return Buffer.from(`${PREFIX}${after}`, 'utf8').toString('base64url');
}

/** The Registration ID a cursor stands for, or undefined when it is not one this API made. */
export function decodeDeviceCursor(cursor: string): RegistrationId | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return undefined;
  const id = parseRegistrationId(text.slice(PREFIX.length));
  return id.ok && id.value === text.slice(PREFIX.length) ? id.value : undefined;
}
