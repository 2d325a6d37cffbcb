/**
 * The one error type of the M5 binary codec. The decoder returns it as a value (never throws);
 * the encoder throws it for values that have no encoding.
 */

/**
 * - `EMPTY`: a 0-octet unit (there is no Message Type to answer).
 * - `UNKNOWN_MESSAGE_TYPE`: a Message Type this version does not decode.
 * - `MALFORMED`: a known type whose body does not decode (missing mandatory IE, length past the
 *   end, duplicate or misplaced conditional IE, value out of range), or an unencodable value.
 */
export type M5ProtocolErrorReason = 'EMPTY' | 'UNKNOWN_MESSAGE_TYPE' | 'MALFORMED';

/** A unit that is not a valid M5 binary message (docs/wire-formats.md §2). */
export class M5ProtocolError extends Error {
  override readonly name = 'M5ProtocolError';
  constructor(
    readonly reason: M5ProtocolErrorReason,
    message: string,
    /** Message Type octet of the unit, when it had one. */
    readonly messageType?: number,
  ) {
    super(message);
  }
}
