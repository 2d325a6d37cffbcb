/**
 * zod pieces link settings share, so every link reports a bad port or address the same way.
 * Values from flags and environment variables arrive as strings; these coerce them.
 */
import { z } from 'zod';

/** A value that must be given (`undefined`, `null` and `''` read as missing: "is required"). */
const given = z.unknown().refine((v) => v !== undefined && v !== null && v !== '', 'is required');

/** A UDP/TCP port 0..65535 (0: ephemeral), from a number or a decimal string; missing: "is required". */
export const portSetting = given.pipe(
  z.coerce.number({ error: 'must be a port number 0..65535' }).int('must be an integer').min(0, 'must be 0..65535').max(65535, 'must be 0..65535'),
);

/** An IP address literal or host name to bind (`0.0.0.0`, `::`, `127.0.0.1`). */
export const hostSetting = z.string().min(1, 'must not be empty');

/** A whole positive number (baud rate, sizes), from a number or a decimal string. */
export const positiveIntegerSetting = z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').positive('must be > 0');
