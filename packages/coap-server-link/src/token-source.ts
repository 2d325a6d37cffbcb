import { randomFillSync } from 'node:crypto';

/** CoAP token length used upstream, octets (RFC 7252 §5.3.1: at most 8). */
export const TOKEN_OCTETS = 8;
const POOL_OCTETS = 4096;

/**
 * Random 8-octet CoAP tokens (RFC 7252 §5.3.1: unpredictable tokens make spoofed answers hard to
 * match) cut from a 4 KiB CSPRNG pool. npm `coap` draws `randomBytes(4)` per request itself, one
 * system call each (~4% of gateway CPU under load); the link passes its own tokens instead.
 */
export class TokenSource {
  private readonly pool = Buffer.alloc(POOL_OCTETS);
  private offset = POOL_OCTETS;

  /** A fresh token (its own Buffer: the driver keeps it for the exchange's life). */
  next(): Buffer {
    if (this.offset + TOKEN_OCTETS > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const token = Buffer.from(this.pool.subarray(this.offset, this.offset + TOKEN_OCTETS));
    this.offset += TOKEN_OCTETS;
    return token;
  }
}
